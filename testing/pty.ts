/**
 * Runs `chat` inside a pseudo-terminal with util-linux `script`, so the
 * program sees a TTY on stdin and stdout (prompts, the chat screen) while the
 * test still writes keystrokes to a pipe and reads everything it draws.
 */
import { chatArgs, type ChildHandle, type Children } from "./cli.ts";

/** Quotes one word for `sh -c`. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Keys as a terminal sends them. */
export const KEY = {
  enter: "\r",
  up: "\x1b[A",
  down: "\x1b[B",
  ctrlC: "\x03",
  ctrlD: "\x04",
} as const;

/**
 * Replays what a program wrote to a terminal and returns the screen as
 * text, one line per row (scrollback included), so tests match what a
 * person would see rather than the drawing steps. Understands what
 * readline and the prompt library use: CR, LF, BS, cursor moves (CSI A B C D
 * G), erase in line (CSI K) and erase below (CSI J); other escape sequences
 * (colours, cursor visibility, OSC titles) are skipped.
 */
export function renderScreen(raw: string): string {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = () => (rows[row] ??= []);
  const token =
    // deno-lint-ignore no-control-regex
    /\x1b\[([0-?]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|[\s\S]/gu;
  for (const [text, params, final] of raw.matchAll(token)) {
    if (final !== undefined) {
      const n = Math.max(1, Number.parseInt(params ?? "", 10) || 1);
      const mode = Number.parseInt(params ?? "", 10) || 0;
      switch (final) {
        case "A":
          row = Math.max(0, row - n);
          break;
        case "B":
          row += n;
          break;
        case "C":
          col += n;
          break;
        case "D":
          col = Math.max(0, col - n);
          break;
        case "G":
          col = n - 1;
          break;
        case "K":
          if (mode === 0) line().length = Math.min(line().length, col);
          else if (mode === 1) line().fill(" ", 0, col + 1);
          else line().length = 0;
          break;
        case "J":
          // Only "erase below" (scrollback is kept, so whole-screen erases are ignored).
          if (mode === 0) {
            line().length = Math.min(line().length, col);
            rows.length = row + 1;
          }
          break;
      }
      continue;
    }
    if (text.startsWith("\x1b")) continue;
    if (text === "\r") col = 0;
    else if (text === "\n") {
      row++;
      col = 0;
    } else if (text === "\b") col = Math.max(0, col - 1);
    else if (text >= " " || text === "\t") {
      const cells = line();
      while (cells.length < col) cells.push(" ");
      cells[col++] = text;
    }
  }
  while (rows.length <= row) rows.push([]);
  return Array.from(rows, (cells) => (cells ?? []).join("").trimEnd()).join("\n");
}

/**
 * Spawns `chat ARGS...` on a pseudo-terminal: `script -qfec CMD /dev/null`
 * (quiet, flush at once, return the program's exit code, no typescript file)
 * with TERM=xterm. Its stdin is what the person types; its stdout is the
 * screen, ANSI escapes included (`.stdout.plain` strips them).
 */
export function spawnChatInPty(
  children: Children,
  args: string[],
  env: Record<string, string> = {},
): ChildHandle {
  const command = [Deno.execPath(), ...chatArgs(args)].map(shellQuote).join(" ");
  return children.spawn("script", ["-qfec", command, "/dev/null"], {
    env: { TERM: "xterm", ...env },
    label: `chat ${args.join(" ")} (on a pty)`,
    renderStdout: renderScreen,
  });
}
