import assert from "node:assert/strict";
import { VirtualTerminal } from "../../testing/virtual_terminal.ts";
import { gridSvg, paletteColor } from "./grid_svg.ts";

Deno.test("paletteColor: the 16 ANSI colours, the 6×6×6 cube and the grey ramp", () => {
  assert.equal(paletteColor(1), "#cd3131");
  assert.equal(paletteColor(16), "#000000");
  assert.equal(paletteColor(160), "#d70000");
  assert.equal(paletteColor(231), "#ffffff");
  assert.equal(paletteColor(232), "#080808");
});

Deno.test("gridSvg: each cell at its place, in its colour, reverse video swapped, text escaped", () => {
  const vt = new VirtualTerminal(10, 2);
  vt.write("\x1b[38;5;160ma<\x1b[0m\r\n\x1b[7mS\x1b[0m");
  const svg = gridSvg(vt.term);
  assert.match(svg, /^<svg [^>]*width="90" height="36"/);
  assert.match(svg, /<text x="0" y="14" fill="#d70000">a<\/text>/);
  assert.match(svg, /<text x="9" y="14" fill="#d70000">&lt;<\/text>/);
  assert.match(svg, /<rect x="0" y="18" width="9" height="18" fill="#d4d4d4"\/>/);
  assert.match(svg, /<text x="0" y="32" fill="#1e1e1e">S<\/text>/);
  vt.dispose();
});
