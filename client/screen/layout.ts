/**
 * Where things go on the chat screen: how the input wraps into 1–3 rows with
 * the cursor among them, and what the status line says. Pure: no I/O.
 */
import { cellWidth, displayWidth, graphemes, screenText } from "./text_width.ts";

/** The input never takes more rows than this; a longer text scrolls within them. */
export const MAX_INPUT_ROWS = 3;

/** The input area as drawn: its rows and where the cursor sits among them. */
export interface InputLayout {
  rows: string[];
  /** Row within `rows`, 0-based. */
  cursorRow: number;
  /** Column (cell), 0-based. */
  cursorCol: number;
}

/**
 * Wraps `prompt` + `text` into rows of `width` cells, with the cursor at
 * `cursor` (an index into `text`). When it needs more than `maxRows` rows,
 * shows the `maxRows` that hold the cursor. A cursor after a full row goes to
 * the start of the next one, which is why a text that fills its rows exactly
 * takes one more.
 */
export function layoutInput(
  prompt: string,
  text: string,
  cursor: number,
  width: number,
  maxRows = MAX_INPUT_ROWS,
): InputLayout {
  const rows: string[] = [""];
  let col = 0;
  let cursorRow = 0;
  let cursorCol = 0;
  // Drawn as screenText shows it: a member name Tab put in, or a pasted escape,
  // must not reach the terminal raw (or count as zero cells).
  const put = (raw: string) => {
    const g = screenText(raw);
    const w = displayWidth(g);
    if (col + w > width) {
      rows.push("");
      col = 0;
    }
    rows[rows.length - 1] += g;
    col += w;
  };
  for (const g of graphemes(prompt)) put(g);
  let index = 0;
  const placeCursor = () => {
    if (col >= width) {
      rows.push("");
      col = 0;
    }
    cursorRow = rows.length - 1;
    cursorCol = col;
  };
  for (const g of graphemes(text)) {
    if (index === cursor) placeCursor();
    put(g);
    index += g.length;
  }
  if (index <= cursor) placeCursor();
  const first = Math.max(0, Math.min(cursorRow - maxRows + 1, rows.length - maxRows));
  const shown = rows.slice(Math.max(0, first), Math.max(0, first) + maxRows);
  return { rows: shown, cursorRow: cursorRow - Math.max(0, first), cursorCol };
}

/** What the status line knows. */
export interface StatusInfo {
  room: string;
  host: string;
  members: number;
  state: "joining" | "connected" | "rejoining" | "leaving" | "lost" | "closed";
  /** Messages sent in the current batch and how many of them are settled; null when none waits. */
  sending: { done: number; total: number } | null;
}

/**
 * The status line, exactly `width` cells (padded with spaces; cut when the
 * room name is too long to fit).
 */
export function statusLine(info: StatusInfo, width: number): string {
  const parts = [
    ` ${info.room}`,
    `host ${info.host}`,
    `${info.members} ${info.members === 1 ? "member" : "members"}`,
    info.state,
  ];
  if (info.sending !== null) parts.push(`sending ${info.sending.done}/${info.sending.total}`);
  return fitCells(parts.join(" | "), width);
}

/** Cuts `text` to `width` cells (ending in "…" when cut) and pads it with spaces to exactly that. */
export function fitCells(text: string, width: number): string {
  if (displayWidth(text) <= width) return text + " ".repeat(width - displayWidth(text));
  let out = "";
  let used = 0;
  for (const g of graphemes(text)) {
    const w = cellWidth(g);
    if (used + w > width - 1) break;
    out += g;
    used += w;
  }
  return out + "…" + " ".repeat(Math.max(0, width - used - 1));
}
