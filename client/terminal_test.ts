import assert from "node:assert/strict";
import { screenFits } from "./terminal.ts";

Deno.test("the full screen needs a capable terminal and at least 20×6; else line mode", () => {
  assert.equal(screenFits("xterm-256color", { cols: 80, rows: 24 }), true);
  assert.equal(screenFits(undefined, { cols: 20, rows: 6 }), true);
  assert.equal(screenFits("dumb", { cols: 80, rows: 24 }), false);
  assert.equal(screenFits("xterm", { cols: 19, rows: 24 }), false);
  assert.equal(screenFits("xterm", { cols: 80, rows: 5 }), false);
  assert.equal(screenFits("xterm", null), false, "no size at all");
});
