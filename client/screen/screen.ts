/**
 * Draws the chat screen: messages in a scroll region above a status line and
 * an input of 1–3 rows at the bottom. Each new message row is written at the
 * bottom of the region, so the terminal scrolls it up and, once it leaves the
 * top, keeps it in its own scrollback. Resizes, Ctrl+L, a change of input
 * height and paging repaint by absolute positioning. A frame is drawn at most
 * once per tick (the caller's `defer`), inside synchronized output (DEC mode
 * 2026), with autowrap off, and leaves the cursor at the insertion point.
 * Pure: it writes through the function it is given.
 */
import { type InputLayout, MAX_INPUT_ROWS } from "./layout.ts";
import { renderSpans, type Span, wrapSpans } from "./text_width.ts";

/** About this many message lines are kept for PageUp. */
export const SCROLLBACK_LINES = 2_000;

/** What the screen needs from its terminal. */
export interface ScreenOptions {
  /** Writes to the terminal (the adapter loops until all is written). */
  write: (text: string) => void;
  cols: number;
  rows: number;
  /** Colours in messages (the status line is in reverse video either way). */
  color: boolean;
  /** Runs `fn` soon, once per tick (setTimeout 0 in the adapter). */
  defer: (fn: () => void) => void;
}

const CSI = "\x1b[";
const at = (row: number, col = 1) => `${CSI}${row};${col}H`;

interface Line {
  spans: Span[];
  cache: { width: number; rows: string[] } | null;
}

/** The chat screen's drawing; see the module comment. */
export class ChatScreen {
  #o: ScreenOptions;
  #cols: number;
  #rows: number;
  #lines: Line[] = [];
  /** Lines before this index (into #lines) are on the terminal; later ones wait for a draw. */
  #emitted = 0;
  /** While paging: the row (into all rows of #lines) just after the last one shown; null: live. */
  #viewEnd: number | null = null;
  #status = "";
  #input: InputLayout = { rows: [""], cursorRow: 0, cursorCol: 0 };
  /** Input rows as last drawn; the region is rows 1..rows-1-inputRows. */
  #drawnInputRows = 1;
  #repaint = false;
  /** False when the scroll region must be set again (it changed, or was never set). */
  #regionSet = false;
  #bell = false;
  #scheduled = false;
  #started = false;
  #stopped = false;

  constructor(options: ScreenOptions) {
    this.#o = options;
    this.#cols = Math.max(1, options.cols);
    this.#rows = Math.max(3, options.rows);
  }

  /** Terminal width in cells. */
  get cols(): number {
    return this.#cols;
  }

  /** True while the view is scrolled back (PageUp). */
  get paging(): boolean {
    return this.#viewEnd !== null;
  }

  /** Takes over the terminal: bracketed paste on, room made for the status and input rows. */
  start(): void {
    this.#started = true;
    // What is on the screen (the answers to the questions) stays in the
    // region and scrolls up with the first messages.
    this.#o.write(`${CSI}?2004h${at(this.#rows)}${"\n".repeat(1 + this.#drawnInputRows)}`);
    this.#regionSet = false;
    this.#schedule();
  }

  /** Adds a message line (styled spans, already made safe to draw). */
  addLine(spans: Span[]): void {
    this.#lines.push({ spans, cache: null });
    const excess = this.#lines.length - SCROLLBACK_LINES;
    if (excess > 0) {
      if (this.#viewEnd !== null) {
        const dropped = this.#lines.slice(0, excess).reduce((n, l) => n + this.#wrap(l).length, 0);
        this.#viewEnd = Math.max(0, this.#viewEnd - dropped);
      }
      this.#lines.splice(0, excess);
      this.#emitted = Math.max(0, this.#emitted - excess);
    }
    this.#schedule();
  }

  /** Sets the status line's text (drawn in reverse video, cut or padded to the width). */
  setStatus(text: string): void {
    this.#status = text;
    this.#schedule();
  }

  /** Sets the input rows and cursor. */
  setInput(layout: InputLayout): void {
    this.#input = layout;
    this.#schedule();
  }

  /** Rings the terminal bell with the next frame. */
  bell(): void {
    this.#bell = true;
    this.#schedule();
  }

  /** The terminal changed size: everything is laid out again and repainted. */
  resize(cols: number, rows: number): void {
    this.#cols = Math.max(1, cols);
    this.#rows = Math.max(3, rows);
    this.#viewEnd = null;
    this.redraw();
  }

  /** Ctrl+L: repaints everything. */
  redraw(): void {
    this.#repaint = true;
    this.#schedule();
  }

  /** /clear: forgets the messages and blanks the region. */
  clear(): void {
    this.#lines = [];
    this.#emitted = 0;
    this.#viewEnd = null;
    this.redraw();
  }

  /** PageUp: about one region's height further back. */
  pageUp(): void {
    const emittedRows = this.#rowCount(this.#emitted);
    const view = this.#regionRows() - 1;
    const end = (this.#viewEnd ?? emittedRows) - this.#page();
    if (emittedRows <= this.#regionRows()) return; // nothing above the screen
    this.#viewEnd = Math.max(view, end);
    this.redraw();
  }

  /** PageDown: back towards the newest lines; past them, the live view again. */
  pageDown(): void {
    if (this.#viewEnd === null) return;
    const end = this.#viewEnd + this.#page();
    this.#viewEnd = end >= this.#rowCount(this.#emitted) ? null : end;
    this.redraw();
  }

  /** Draws now what changed since the last frame. Called through `defer`. */
  flush(): void {
    this.#scheduled = false;
    if (!this.#started || this.#stopped) return;
    let out = `${CSI}?2026h${CSI}?25l${CSI}?7l`;
    const inputRows = Math.min(MAX_INPUT_ROWS, Math.max(1, this.#input.rows.length));
    if (inputRows !== this.#drawnInputRows) {
      const oldRegion = this.#regionRows();
      const delta = inputRows - this.#drawnInputRows;
      this.#drawnInputRows = inputRows;
      const region = this.#regionRows();
      if (this.#viewEnd !== null || this.#repaint) {
        this.#repaint = true;
      } else if (delta > 0) {
        // The region shrinks: its top rows scroll into the scrollback, none is lost.
        out += at(oldRegion) + "\n".repeat(delta) + `${CSI}1;${region}r`;
      } else {
        // It grows: what is shown moves down, and the rows above come from the buffer.
        out += `${CSI}1;${region}r${CSI}${-delta}T`;
        const rows = this.#viewRows();
        for (let i = 0; i < -delta; i++) out += `${at(i + 1)}${CSI}2K${rows[i] ?? ""}`;
      }
      this.#regionSet = !this.#repaint;
    }
    const region = this.#regionRows();
    if (this.#repaint || !this.#regionSet) {
      out += `${CSI}1;${region}r`;
      this.#regionSet = true;
    }
    if (this.#repaint) {
      const rows = this.#viewRows();
      for (let i = 0; i < region; i++) out += `${at(i + 1)}${CSI}2K${rows[i] ?? ""}`;
      this.#repaint = false;
    }
    if (this.#viewEnd === null && this.#emitted < this.#lines.length) {
      out += at(region);
      for (const line of this.#lines.slice(this.#emitted)) {
        for (const row of this.#wrap(line)) out += `\r\n${row}`;
      }
      this.#emitted = this.#lines.length;
    } else if (this.#viewEnd !== null) {
      out += `${at(region)}${CSI}2K${CSI}7m-- more (${this.#linesBelow()}) --${CSI}0m`;
    }
    out += `${at(region + 1)}${CSI}2K${CSI}7m${this.#status}${CSI}0m`;
    for (let i = 0; i < inputRows; i++) {
      out += `${at(region + 2 + i)}${CSI}2K${this.#input.rows[i] ?? ""}`;
    }
    out += at(region + 2 + this.#input.cursorRow, this.#input.cursorCol + 1);
    out += `${CSI}?7h${CSI}?25h${CSI}?2026l`;
    if (this.#bell) out += "\x07";
    this.#bell = false;
    this.#o.write(out);
  }

  /**
   * Gives the terminal back: no scroll region, autowrap and cursor on,
   * bracketed paste off, the status and input rows erased, the cursor where
   * they began (so what is printed next follows the messages).
   */
  stop(): void {
    if (!this.#started || this.#stopped) return;
    this.#stopped = true;
    this.#o.write(this.restoreSequence());
  }

  /** What {@linkcode stop} writes; also for an exit path that cannot wait for a frame. */
  restoreSequence(): string {
    return `${CSI}?2026l${CSI}0m${CSI}r${CSI}?7h${CSI}?2004l${CSI}?25h` +
      `${at(this.#regionRows() + 1)}${CSI}J`;
  }

  #schedule(): void {
    if (this.#scheduled || !this.#started || this.#stopped) return;
    this.#scheduled = true;
    this.#o.defer(() => this.flush());
  }

  #regionRows(): number {
    return Math.max(1, this.#rows - 1 - this.#drawnInputRows);
  }

  #page(): number {
    return Math.max(1, this.#regionRows() - 2);
  }

  #wrap(line: Line): string[] {
    if (line.cache?.width !== this.#cols) {
      const rows = wrapSpans(line.spans, this.#cols).map((r) => renderSpans(r, this.#o.color));
      line.cache = { width: this.#cols, rows };
    }
    return line.cache.rows;
  }

  /** Rows of the first `lines` lines. */
  #rowCount(lines: number): number {
    let n = 0;
    for (let i = 0; i < lines; i++) n += this.#wrap(this.#lines[i]!).length;
    return n;
  }

  /** The region's rows, top to bottom: the emitted tail (live) or the paged view. */
  #viewRows(): string[] {
    const region = this.#regionRows();
    const shown = this.#viewEnd === null ? region : region - 1;
    const end = this.#viewEnd ?? this.#rowCount(this.#emitted);
    const rows: string[] = [];
    let index = 0;
    for (const line of this.#lines) {
      for (const row of this.#wrap(line)) {
        if (index >= end - shown && index < end) rows.push(row);
        index++;
      }
      if (index >= end) break;
    }
    return [...Array(Math.max(0, shown - rows.length)).fill(""), ...rows];
  }

  /** Lines with a row at or after the view's end. */
  #linesBelow(): number {
    let row = 0;
    let below = 0;
    for (const line of this.#lines) {
      row += this.#wrap(line).length;
      if (row > this.#viewEnd!) below++;
    }
    return below;
  }
}
