import assert from "node:assert/strict";
import { type Key, KeyParser } from "./keys.ts";

const key = (name: string): Key => ({ kind: "key", name } as Key);

Deno.test("keys: text, control bytes as keys (Ctrl+C, Ctrl+D, Ctrl+Z, Ctrl+\\), Enter, Backspace", () => {
  const p = new KeyParser();
  assert.deepEqual(p.feed("hi\x03\x04\x1a\x1c\r\x7f\t"), [
    { kind: "text", text: "hi" },
    key("ctrl+c"),
    key("ctrl+d"),
    key("ctrl+z"),
    key("ctrl+\\"),
    key("enter"),
    key("backspace"),
    key("tab"),
  ]);
  assert.deepEqual(p.feed("日本🙂"), [{ kind: "text", text: "日本🙂" }]);
});

Deno.test("keys: arrows, Home/End, PageUp/PageDown, Delete, Alt+B/F, in CSI and SS3 forms", () => {
  const p = new KeyParser();
  assert.deepEqual(
    p.feed(
      "\x1b[A\x1b[B\x1b[C\x1b[D\x1bOH\x1b[F\x1b[1~\x1b[4~\x1b[5~\x1b[6~\x1b[3~\x1bb\x1bf\x1b[1;5D",
    ),
    [
      key("up"),
      key("down"),
      key("right"),
      key("left"),
      key("home"),
      key("end"),
      key("home"),
      key("end"),
      key("pageUp"),
      key("pageDown"),
      key("delete"),
      key("wordLeft"),
      key("wordRight"),
      key("wordLeft"),
    ],
  );
});

Deno.test("keys: an escape sequence cut between reads is kept until its end arrives", () => {
  const p = new KeyParser();
  assert.deepEqual(p.feed("a\x1b"), [{ kind: "text", text: "a" }]);
  assert.ok(p.hasPending);
  assert.deepEqual(p.feed("["), []);
  assert.deepEqual(p.feed("5"), []);
  assert.deepEqual(p.feed("~b"), [key("pageUp"), { kind: "text", text: "b" }]);
  assert.ok(!p.hasPending);
});

Deno.test("keys: a lone Esc counts only when flushed after a quiet moment", () => {
  const p = new KeyParser();
  assert.deepEqual(p.feed("\x1b"), []);
  assert.deepEqual(p.flush(), [key("escape")]);
  assert.deepEqual(p.flush(), []);
  assert.deepEqual(p.feed("\x1b\x1b[A"), [key("escape"), key("up")]);
});

Deno.test("keys: a bracketed paste is one key, newlines and escapes included, across reads", () => {
  const p = new KeyParser();
  const pasted = "line 1\rline 2\r\x1b[31mred\r";
  const whole = `x\x1b[200~${pasted}\x1b[201~y`;
  for (let cut = 0; cut <= whole.length; cut++) {
    const parser = new KeyParser();
    const keys = [...parser.feed(whole.slice(0, cut)), ...parser.feed(whole.slice(cut))];
    assert.deepEqual(keys, [
      { kind: "text", text: "x" },
      { kind: "paste", text: pasted },
      { kind: "text", text: "y" },
    ], `cut at ${cut}`);
  }
  assert.deepEqual(p.feed("\x1b[200~abc"), []);
  assert.deepEqual(p.flush(), [], "an open paste is not a lone Esc");
  assert.deepEqual(p.feed("\x1b[201"), []);
  assert.deepEqual(p.feed("~"), [{ kind: "paste", text: "abc" }]);
});
