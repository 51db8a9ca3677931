/**
 * Text as a terminal shows it: grapheme clusters, their widths in cells
 * (East Asian wide characters and emoji take two), and styled text cut into
 * rows of a given width. Pure: no I/O.
 */
import stringWidth from "fast-string-width";
import { displayText } from "../../protocol/display_text.ts";

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** The grapheme clusters of `text`, in order. */
export function graphemes(text: string): string[] {
  return Array.from(segmenter.segment(text), (s) => s.segment);
}

/**
 * Cells one grapheme cluster takes. VS16 (U+FE0F) is ignored: `string-width`
 * counts "❤️" as two cells, but tmux and most terminals draw one.
 */
export function cellWidth(grapheme: string): number {
  const bare = grapheme.replaceAll("\uFE0F", "");
  if (bare.length === 0) return 0;
  return Math.min(2, stringWidth(bare));
}

/** Cells `text` takes on one row. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const g of graphemes(text)) width += cellWidth(g);
  return width;
}

/**
 * Text from others, made safe to draw: a tab becomes spaces; control
 * characters (escape sequences included), bidi controls, zero-width
 * characters (but joiners where they join) and line separators become
 * U+FFFD (protocol/display_text.ts); and VS16 goes (see {@linkcode cellWidth}).
 */
export function screenText(text: string): string {
  return displayText(text.replaceAll("\t", "    ")).replaceAll("\uFE0F", "");
}

/** A run of text in one style; `style` is SGR parameters ("" for none, "1;38;5;160" say). */
export interface Span {
  text: string;
  style: string;
}

/**
 * A styled row, ready to write: every span's style is set, then reset at its
 * end. Without colour (NO_COLOR, or not a terminal) only bold and reverse
 * video stay: they are not colours, and a mention must still stand out.
 */
export function renderSpans(spans: readonly Span[], color: boolean): string {
  let out = "";
  for (const { text, style } of spans) {
    const sgr = color ? style : style.split(";").filter((p) => p === "1" || p === "7").join(";");
    out += sgr !== "" ? `\x1b[${sgr}m${text}\x1b[0m` : text;
  }
  return out;
}

/** Plain text of spans. */
export function spansText(spans: readonly Span[]): string {
  return spans.map((s) => s.text).join("");
}

/**
 * Cuts styled text into rows of at most `width` cells, breaking between
 * grapheme clusters (and at spaces where a word would otherwise be cut,
 * unless the word is longer than a row). An empty line is one empty row.
 */
export function wrapSpans(spans: readonly Span[], width: number): Span[][] {
  const cells: { g: string; w: number; style: string }[] = [];
  for (const span of spans) {
    for (const g of graphemes(span.text)) cells.push({ g, w: cellWidth(g), style: span.style });
  }
  const rows: Span[][] = [];
  let start = 0;
  while (start < cells.length || rows.length === 0) {
    let used = 0;
    let end = start;
    while (end < cells.length && used + cells[end]!.w <= Math.max(1, width)) {
      used += cells[end]!.w;
      end++;
    }
    if (end === start && end < cells.length) end++; // a wide cell in a 1-cell row
    if (end < cells.length) {
      // Break after the last space in this row, if that keeps something on it.
      let space = end;
      while (space > start && cells[space - 1]!.g !== " ") space--;
      let word = 0;
      for (let i = space; i < cells.length && cells[i]!.g !== " "; i++) word += cells[i]!.w;
      if (space > start && cells[end]!.g !== " " && word <= width) end = space;
    }
    const row: Span[] = [];
    for (let i = start; i < end; i++) {
      const cell = cells[i]!;
      const last = row[row.length - 1];
      if (last !== undefined && last.style === cell.style) last.text += cell.g;
      else row.push({ text: cell.g, style: cell.style });
    }
    rows.push(row);
    start = end;
    // The space a row broke at is not carried to the start of the next.
    if (
      start > 0 && start < cells.length && cells[start]!.g === " " && cells[start - 1]!.g !== " "
    ) {
      start++;
    }
    if (start >= cells.length) break;
  }
  return rows;
}
