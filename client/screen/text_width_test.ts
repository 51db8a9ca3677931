import assert from "node:assert/strict";
import {
  cellWidth,
  displayWidth,
  graphemes,
  renderSpans,
  screenText,
  spansText,
  wrapSpans,
} from "./text_width.ts";

Deno.test("widths: East Asian wide and emoji take two cells, VS16 is ignored, combining marks none", () => {
  assert.equal(displayWidth("abc"), 3);
  assert.equal(displayWidth("日本語"), 6);
  assert.equal(displayWidth("🙂"), 2);
  assert.equal(cellWidth("❤\uFE0F"), 1, "VS16 does not widen (tmux draws one cell)");
  assert.equal(displayWidth("e\u0301"), 1);
  assert.deepEqual(graphemes("👩‍👩‍👧x"), ["👩‍👩‍👧", "x"]);
  assert.equal(displayWidth("👩‍👩‍👧"), 2);
});

Deno.test("screenText: tabs become spaces; controls and bidi controls become U+FFFD", () => {
  assert.equal(screenText("a\tb"), "a    b");
  assert.equal(screenText("x\x1b[2Jy"), "x\uFFFD[2Jy");
  for (
    const c of [
      "\u202A",
      "\u202B",
      "\u202C",
      "\u202D",
      "\u202E",
      "\u2066",
      "\u2067",
      "\u2068",
      "\u2069",
      "\u200E",
      "\u200F",
      "\u061C",
    ]
  ) {
    assert.equal(screenText(`a${c}b`), "a\uFFFDb", `U+${c.codePointAt(0)!.toString(16)}`);
  }
  assert.equal(screenText("👩‍👩‍👧"), "👩‍👩‍👧", "ZWJ sequences stay");
  assert.equal(screenText("❤\uFE0F"), "❤");
});

Deno.test("wrapSpans: rows of at most the width, broken at spaces, wide characters never split", () => {
  const rows = wrapSpans([{ text: "hello wide world", style: "" }], 10);
  assert.deepEqual(wrapSpans([{ text: "hello big world", style: "" }], 10).map(spansText), [
    "hello big ",
    "world",
  ]);
  assert.deepEqual(rows.map(spansText), ["hello wide", "world"]);
  const wide = wrapSpans([{ text: "日本語日本語", style: "" }], 5);
  assert.deepEqual(wide.map(spansText), ["日本", "語日", "本語"]);
  for (const row of wide) assert.ok(displayWidth(spansText(row)) <= 5);
  // A word longer than a row is cut where the row ends, not moved to a row of its own.
  assert.deepEqual(wrapSpans([{ text: "ab " + "y".repeat(12), style: "" }], 10).map(spansText), [
    "ab yyyyyyy",
    "yyyyy",
  ]);
  const long = wrapSpans([{ text: "x".repeat(25), style: "" }], 10);
  assert.deepEqual(long.map(spansText), ["x".repeat(10), "x".repeat(10), "x".repeat(5)]);
  assert.deepEqual(wrapSpans([], 10), [[]], "an empty line is one empty row");
});

Deno.test("wrapSpans keeps styles per span, and renderSpans resets after each", () => {
  const rows = wrapSpans([{ text: "ann", style: "31" }, { text: ": hi there", style: "" }], 8);
  assert.deepEqual(rows, [[{ text: "ann", style: "31" }, { text: ": hi ", style: "" }], [{
    text: "there",
    style: "",
  }]]);
  assert.equal(renderSpans(rows[0]!, true), "\x1b[31mann\x1b[0m: hi ");
  assert.equal(renderSpans(rows[0]!, false), "ann: hi ");
  // Without colour, bold and reverse video stay (a mention must stand out).
  assert.equal(
    renderSpans([{ text: "ann", style: "1;7" }, { text: "x", style: "2" }], false),
    "\x1b[1;7mann\x1b[0mx",
  );
});
