import assert from "node:assert/strict";
import {
  displayMessageText,
  displayText,
  escapeJsonForDisplay,
  isDisplaySafe,
  REPLACEMENT,
} from "./display_text.ts";

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

Deno.test("displayMessageText keeps the joiners U+200C and U+200D, and replaces the rest", () => {
  const family = "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}";
  assert.equal(displayMessageText(family), family);
  assert.equal(displayMessageText("می\u200Cخواهم"), "می\u200Cخواهم");
  assert.equal(displayText(family), "\u{1F468}\uFFFD\u{1F469}\uFFFD\u{1F467}");
  for (const code of ALL.filter((c) => c !== 0x200c && c !== 0x200d)) {
    const c = String.fromCodePoint(code);
    assert.equal(displayMessageText(`a${c}b`), `a${REPLACEMENT}b`, `U+${code.toString(16)}`);
  }
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
