import assert from "node:assert/strict";
import { PASTE_CONFIRM_LINES as TERMINAL_CONFIRM_LINES } from "../screen/chat_view.ts";
import {
  countBytes,
  messageByteLimit,
  messagesOf,
  needsConfirm,
  normalizePaste,
  PASTE_CONFIRM_LINES,
  pasteInto,
  utf8Length,
} from "./compose_rules.ts";

Deno.test("compose: the page asks before the same number of pasted lines as the terminal", () => {
  assert.equal(PASTE_CONFIRM_LINES, TERMINAL_CONFIRM_LINES);
  assert.equal(needsConfirm(3), false);
  assert.equal(needsConfirm(4), true);
});

Deno.test("compose: a paste normalises line ends, tabs and control characters as the terminal does", () => {
  assert.equal(normalizePaste("a\r\nb\rc\td\u0007e\u001b[31m"), "a\nb\nc    de[31m");
});

Deno.test("compose: a paste without a line end is typed at the selection", () => {
  assert.deepEqual(pasteInto("hello world", 6, 11, "there"), {
    toSend: [],
    keep: "hello there",
    caret: 11,
  });
});

Deno.test("compose: a multi-line paste sends complete non-blank lines and keeps the last", () => {
  const outcome = pasteInto("say: X", 5, 6, "one  \n\n   \ntwo\nthree");
  assert.deepEqual(outcome.toSend, ["say: one", "two"]);
  assert.equal(outcome.keep, "three");
  assert.equal(outcome.caret, 5);
  const tail = pasteInto("ab", 1, 1, "x\ny");
  assert.deepEqual(tail, { toSend: ["ax"], keep: "yb", caret: 1 });
});

Deno.test("compose: Enter sends each non-blank line of the composer as a message", () => {
  assert.deepEqual(messagesOf("first\r\n\n  \nsecond  "), ["first", "second"]);
  assert.deepEqual(messagesOf("   "), []);
});

Deno.test("compose: the byte limit is the terminal's, and the counter counts UTF-8 bytes", () => {
  assert.equal(utf8Length("é😀"), 6);
  // MESSAGE: 4096 - 2 - 7 ("general") - 32 - 5; EVENT: 4096 - 15 - 3 ("ann").
  assert.equal(messageByteLimit("general", "ann"), 4050);
  assert.equal(messageByteLimit("r", "a".repeat(32)), 4049);
  assert.deepEqual(countBytes("ab\né", 3), { used: 2, limit: 3, over: false });
  assert.deepEqual(countBytes("😀", 3), { used: 4, limit: 3, over: true });
});
