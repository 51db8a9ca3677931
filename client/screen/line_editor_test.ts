import assert from "node:assert/strict";
import { LineEditor } from "./line_editor.ts";

function editor(text: string, cursor = text.length): LineEditor {
  const e = new LineEditor();
  e.set(text);
  while (e.cursor > cursor) e.left();
  return e;
}

Deno.test("editor: insert, backspace and delete by grapheme cluster", () => {
  const e = editor("a👩‍👩‍👧b", 1);
  e.right();
  assert.equal(e.cursor, "a👩‍👩‍👧".length);
  e.backspace();
  assert.equal(e.text, "ab");
  e.insert("日本");
  assert.equal(e.text, "a日本b");
  e.home();
  e.deleteForward();
  assert.equal(e.text, "日本b");
});

Deno.test("editor: Ctrl+A/E, Ctrl+U/K/W", () => {
  const e = editor("say hello world", 9); // after "say hello"
  e.killWord();
  assert.equal(e.text, "say  world");
  assert.equal(e.cursor, 4);
  e.killToEnd();
  assert.equal(e.text, "say ");
  e.insert("bye");
  e.home();
  assert.equal(e.cursor, 0);
  e.end();
  e.left();
  e.killToStart();
  assert.equal(e.text, "e");
});

Deno.test("editor: history Up/Down keeps the line being typed", () => {
  const e = new LineEditor();
  e.set("first");
  assert.equal(e.take(), "first");
  e.set("second");
  e.take();
  e.insert("draft");
  e.historyUp();
  assert.equal(e.text, "second");
  e.historyUp();
  assert.equal(e.text, "first");
  e.historyUp();
  assert.equal(e.text, "first");
  e.historyDown();
  e.historyDown();
  assert.equal(e.text, "draft");
});

Deno.test("editor: Tab completes a name, `name: ` at the start of a line, and cycles", () => {
  const names = ["bob", "Bea", "carol"];
  const e = new LineEditor();
  e.insert("b");
  e.complete(names);
  assert.equal(e.text, "bob: ");
  e.complete(names);
  assert.equal(e.text, "Bea: ");
  e.complete(names);
  assert.equal(e.text, "bob: ");
  const mid = new LineEditor();
  mid.insert("thanks CA");
  mid.complete(names);
  assert.equal(mid.text, "thanks carol ");
  const none = new LineEditor();
  none.insert("zz");
  none.complete(names);
  assert.equal(none.text, "zz");
});
