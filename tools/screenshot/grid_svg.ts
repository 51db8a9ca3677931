/**
 * A terminal grid as SVG: each visible cell of a `@xterm/headless` buffer in
 * its colours (the 16 ANSI colours, the 256-colour cube, reverse video, bold
 * and dim), in a monospace font on a dark background.
 */
import type xterm from "@xterm/headless";

const ANSI_16 = [
  "#1e1e1e",
  "#cd3131",
  "#0dbc79",
  "#e5e510",
  "#2472c8",
  "#bc3fbc",
  "#11a8cd",
  "#e5e5e5",
  "#666666",
  "#f14c4c",
  "#23d18b",
  "#f5f543",
  "#3b8eea",
  "#d670d6",
  "#29b8db",
  "#ffffff",
];
const BACKGROUND = "#1e1e1e";
const FOREGROUND = "#d4d4d4";
const CELL_W = 9;
const CELL_H = 18;

/** The RGB of a 256-colour palette index. */
export function paletteColor(index: number): string {
  if (index < 16) return ANSI_16[index]!;
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  if (index >= 232) {
    const v = 8 + (index - 232) * 10;
    return `#${hex(v)}${hex(v)}${hex(v)}`;
  }
  const i = index - 16;
  const level = (n: number) => (n === 0 ? 0 : 55 + n * 40);
  return `#${hex(level(Math.floor(i / 36)))}${hex(level(Math.floor(i / 6) % 6))}${
    hex(level(i % 6))
  }`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The visible screen of `term` as an SVG document. */
export function gridSvg(term: xterm.Terminal): string {
  const buffer = term.buffer.active;
  const width = term.cols * CELL_W;
  const height = term.rows * CELL_H;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" ` +
    `font-size="14">`,
    `<rect width="100%" height="100%" fill="${BACKGROUND}"/>`,
  ];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.baseY + y);
    if (line === undefined) continue;
    for (let x = 0; x < term.cols; x++) {
      const cell = line.getCell(x);
      if (cell === undefined || cell.getWidth() === 0) continue;
      let fg = cell.isFgDefault()
        ? FOREGROUND
        : cell.isFgRGB()
        ? `#${cell.getFgColor().toString(16).padStart(6, "0")}`
        : paletteColor(cell.getFgColor());
      let bg = cell.isBgDefault() ? null : paletteColor(cell.getBgColor());
      if (cell.isInverse()) [fg, bg] = [bg ?? BACKGROUND, fg];
      const px = x * CELL_W;
      const py = y * CELL_H;
      if (bg !== null) {
        parts.push(
          `<rect x="${px}" y="${py}" width="${
            CELL_W * cell.getWidth()
          }" height="${CELL_H}" fill="${bg}"/>`,
        );
      }
      const chars = cell.getChars();
      if (chars === "" || chars === " ") continue;
      const style = `${cell.isBold() ? ' font-weight="bold"' : ""}${
        cell.isDim() ? ' opacity="0.6"' : ""
      }`;
      parts.push(
        `<text x="${px}" y="${py + 14}" fill="${fg}"${style}>${escapeXml(chars)}</text>`,
      );
    }
  }
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
