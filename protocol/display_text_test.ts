import assert from "node:assert/strict";
import { displayText, escapeJsonForDisplay, isDisplaySafe, REPLACEMENT } from "./display_text.ts";

/** Every code point in [from, to]. */
function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const C0 = range(0x00, 0x1f);
const DEL = [0x7f];
const C1 = range(0x80, 0x9f);
const BIDI = [...range(0x202a, 0x202e), ...range(0x2066, 0x2069), 0x200e, 0x200f, 0x061c];
const ZERO_WIDTH = [...range(0x200b, 0x200f), ...range(0x2060, 0x2064), 0xfeff];
const SEPARATORS = [0x2028, 0x2029];
const ALL = [...C0, ...DEL, ...C1, ...BIDI, ...ZERO_WIDTH, ...SEPARATORS];

Deno.test("displayText replaces every C0, DEL, C1, bidi, zero-width and separator character", () => {
  for (const [name, codes] of Object.entries({ C0, DEL, C1, BIDI, ZERO_WIDTH, SEPARATORS })) {
    for (const code of codes) {
      const c = String.fromCodePoint(code);
      const what = `${name} U+${code.toString(16).padStart(4, "0")}`;
      assert.equal(displayText(`a${c}b`), `a${REPLACEMENT}b`, what);
      assert.equal(isDisplaySafe(`a${c}b`), false, what);
    }
  }
});

Deno.test("displayText keeps ordinary text of any script, emoji and marks as it is", () => {
  for (
    const text of [
      "plain text, with punctuation: !?#$%&*()[]{}<>~",
      "ünïcödé, 李, 日本語の部屋, Ελληνικά, русский, עברית, العربية",
      "🙂 ❤️ 👍🏽 🇫🇷",
      "e\u0301", // a combining accent
      "\u00A0non-breaking space",
    ]
  ) {
    assert.equal(displayText(text), text);
    assert.equal(isDisplaySafe(text), true, text);
  }
});

Deno.test("displayText neutralises a whole escape sequence and a bidi spoof, leaving the rest readable", () => {
  assert.equal(displayText("\x1b]0;owned\x07\x1b[2Jhi"), "\uFFFD]0;owned\uFFFD\uFFFD[2Jhi");
  assert.equal(displayText("\x9b31mred"), "\uFFFD31mred");
  assert.equal(displayText("invoice\u202Efdp.exe"), "invoice\uFFFDfdp.exe");
  assert.equal(
    displayText("wrong password\r\nchat: trust me"),
    "wrong password\uFFFD\uFFFDchat: trust me",
  );
});

Deno.test("displayText is idempotent: its output is safe and stays as it is", () => {
  const hostile = ALL.map((code) => String.fromCodePoint(code)).join("x");
  const once = displayText(hostile);
  assert.equal(isDisplaySafe(once), true);
  assert.equal(displayText(once), once);
});

Deno.test("joiners are kept where they join (an emoji sequence, CONTEXTJ) and replaced anywhere else", () => {
  const family = "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}";
  assert.equal(displayText(family), family);
  assert.equal(displayText(`room ${family} 2`), `room ${family} 2`);
  const persian = "می\u200Cخواهم"; // ZWNJ between joining letters
  assert.equal(displayText(persian), persian);
  const malayalam = "\u0D15\u0D4D\u200D"; // KA, VIRAMA, ZWJ (a chillu form)
  assert.equal(displayText(malayalam), malayalam);
  // Hidden in Latin text, or dangling, they are only invisible characters.
  assert.equal(displayText("a\u200Dnn"), "a\uFFFDnn");
  assert.equal(displayText("ann\u200C"), "ann\uFFFD");
  assert.equal(displayText("\u{1F468}\u200D"), "\u{1F468}\uFFFD");
  // A joined emoji does not excuse another unsafe character next to it.
  assert.equal(displayText(`${family}\u202E`), `${family}\uFFFD`);
});

Deno.test("escapeJsonForDisplay leaves the JSON value exact and no unsafe character raw", () => {
  const value = { text: ALL.map((code) => String.fromCodePoint(code)).join("") + "ok 🙂" };
  const json = escapeJsonForDisplay(JSON.stringify(value));
  assert.deepEqual(JSON.parse(json), value);
  assert.equal(isDisplaySafe(json), true, json);
  assert.match(json, /\\u202e/);
  assert.match(json, /\\u009b/);
  assert.match(json, /ok 🙂/);
});
