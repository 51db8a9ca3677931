/**
 * A terminal emulator for tests: `@xterm/headless` with the Unicode 11
 * widths, fed what a program writes, read back as the rows a person sees
 * (scrollback included), with the cursor. It understands scroll regions,
 * absolute cursor moves, wide characters and everything else a real
 * terminal does, so tests assert on the screen rather than on drawing steps.
 */
import xterm from "@xterm/headless";
import { Unicode11Addon } from "@xterm/addon-unicode11";

/** An emulated terminal of a given size. */
export class VirtualTerminal {
  readonly term: xterm.Terminal;

  constructor(cols = 80, rows = 24, scrollback = 5_000) {
    this.term = new xterm.Terminal({
      cols,
      rows,
      scrollback,
      allowProposedApi: true,
      logLevel: "off",
    });
    this.term.loadAddon(new Unicode11Addon());
    this.term.unicode.activeVersion = "11";
  }

  /**
   * Feeds output at once. xterm's own write() parses on a later tick; tests
   * want the screen as of now, so this uses its synchronous writer.
   */
  write(data: string): void {
    // deno-lint-ignore no-explicit-any
    (this.term as any)._core.writeSync(data);
  }

  /** Changes the size, as a window resize would (the emulator reflows). */
  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows);
  }

  /** Every row, scrollback first, trailing spaces trimmed. */
  allRows(): string[] {
    const buffer = this.term.buffer.active;
    const rows: string[] = [];
    for (let i = 0; i < buffer.length; i++) {
      rows.push((buffer.getLine(i)?.translateToString(true) ?? "").trimEnd());
    }
    return rows;
  }

  /** The rows on screen now (not the scrollback). */
  visibleRows(): string[] {
    const buffer = this.term.buffer.active;
    return this.allRows().slice(buffer.baseY, buffer.baseY + this.term.rows);
  }

  /** The rows scrolled off the top. */
  scrollbackRows(): string[] {
    return this.allRows().slice(0, this.term.buffer.active.baseY);
  }

  /** The cursor on the visible screen, 0-based. */
  get cursor(): { row: number; col: number } {
    const buffer = this.term.buffer.active;
    return { row: buffer.cursorY, col: buffer.cursorX };
  }

  /** Whether the cell at (row, col) of the visible screen is in reverse video. */
  isInverse(row: number, col: number): boolean {
    const buffer = this.term.buffer.active;
    return (buffer.getLine(buffer.baseY + row)?.getCell(col)?.isInverse() ?? 0) !== 0;
  }

  /** Whether the cell at (row, col) of the visible screen is bold. */
  isBold(row: number, col: number): boolean {
    const buffer = this.term.buffer.active;
    return (buffer.getLine(buffer.baseY + row)?.getCell(col)?.isBold() ?? 0) !== 0;
  }

  /** The text of all rows, joined by newlines, without trailing empty rows. */
  text(): string {
    return this.allRows().join("\n").replace(/\n+$/, "");
  }

  /** Frees the emulator. */
  dispose(): void {
    this.term.dispose();
  }
}
