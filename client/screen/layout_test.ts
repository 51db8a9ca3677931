import assert from "node:assert/strict";
import { fitCells, layoutInput, statusLine } from "./layout.ts";
import { displayWidth } from "./text_width.ts";

Deno.test("input layout: wraps by cells, cursor at the insertion point", () => {
  const text = "x".repeat(85);
  const layout = layoutInput("ann> ", text, text.length, 80);
  assert.deepEqual(layout.rows, ["ann> " + "x".repeat(75), "x".repeat(10)]);
  assert.deepEqual([layout.cursorRow, layout.cursorCol], [1, 10]);
  const mid = layoutInput("> ", "日本語", 2, 6); // before 語... cursor after 日本
  assert.deepEqual(mid.rows, ["> 日本", "語"]);
  assert.deepEqual([mid.cursorRow, mid.cursorCol], [1, 0]);
});

Deno.test("input layout: control and bidi characters in the input are drawn as U+FFFD, a tab as spaces", () => {
  // A member name from a hostile server, put in by Tab, or a pasted escape sequence.
  const text = "eve\x1b[2J\u202Ex\ty";
  const layout = layoutInput("> ", text, text.length, 80);
  assert.deepEqual(layout.rows, ["> eve\uFFFD[2J\uFFFDx    y"]);
  assert.equal(layout.cursorCol, displayWidth(layout.rows[0]!));
  assert.ok(!layout.rows.join("").includes("\x1b"));
});

Deno.test("input layout: a full last row puts the cursor on a new row; at most 3 rows, around the cursor", () => {
  const full = layoutInput("> ", "x".repeat(8), 8, 10);
  assert.deepEqual(full.rows, ["> " + "x".repeat(8), ""]);
  assert.deepEqual([full.cursorRow, full.cursorCol], [1, 0]);
  const long = "abcdefghij".repeat(10);
  const end = layoutInput("", long, long.length, 10);
  assert.equal(end.rows.length, 3);
  assert.equal(end.rows[2], "");
  assert.equal(end.cursorRow, 2);
  const start = layoutInput("", long, 0, 10);
  assert.equal(start.rows[0], "abcdefghij");
  assert.deepEqual([start.cursorRow, start.cursorCol], [0, 0]);
});

Deno.test("status line: room, host, members, state and sending, exactly the width", () => {
  const line = statusLine({
    room: "general",
    host: "ann",
    members: 3,
    state: "connected",
    sending: { done: 23, total: 60 },
  }, 80);
  assert.equal(line.trimEnd(), " general | host ann | 3 members | connected | sending 23/60");
  assert.equal(line.length, 80);
  const cut = statusLine({
    room: "日本".repeat(30),
    host: "a",
    members: 1,
    state: "lost",
    sending: null,
  }, 20);
  assert.equal(displayWidth(cut), 20);
  assert.ok(cut.includes("…"));
  assert.equal(fitCells("ab", 4), "ab  ");
});
