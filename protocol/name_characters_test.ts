import assert from "node:assert/strict";
import { ProtocolError } from "./errors.ts";
import { validateRoomName, validateUsername } from "./names.ts";

/** Asserts `fn` throws a 400 whose message contains every one of `parts`. */
function refused(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
    assert.equal(error.status, 400, error.message);
    for (const part of parts) assert.ok(error.message.includes(part), `"${error.message}"`);
    return true;
  });
}

const TAGS_SCOTLAND = "\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";

// Names accepted as usernames and as room names, each with why it is fine.
const ACCEPTED: [string, string][] = [
  ["alice", "plain Latin"],
  ["Zoë Ünal", "Latin with diacritics, an inner space"],
  ["Zoe\u0308", "a combining mark after a letter"],
  ["Ольга", "plain Russian"],
  ["Νίκος", "plain Greek"],
  ["エリカ", "Japanese"],
  ["大輔", "Japanese kanji"],
  ["Erika エリカ", "Japanese with Latin is not a confusable mixture"],
  ["Ivan 2", "Latin with a digit"],
  ["Иван 2", "Cyrillic with a digit"],
  ["\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645", "Persian with ZWNJ between joining letters"],
  ["\u0628\u064E\u200C\u0628", "ZWNJ with a transparent mark between it and the letter"],
  ["\u0DC1\u0DCA\u200D\u0DBB\u0DD3", "Sinhala Sri: ZWJ after a virama"],
  ["\u0915\u094D\u200C\u0937", "Devanagari: ZWNJ after a virama"],
  ["👨\u200D👩\u200D👧", "an RGI ZWJ sequence"],
  ["🏴" + TAGS_SCOTLAND, "an RGI tag sequence (the flag of Scotland)"],
  ["❤\uFE0F", "VS16 in an RGI emoji"],
  ["1\uFE0F\u20E3", "a keycap"],
  ["🇯🇵", "a flag of regional indicators"],
  ["😀", "an emoji alone"],
  ["❤", "a pictograph without VS16"],
  ["ann 👨\u200D👩\u200D👧", "a name with an emoji sequence"],
  ["7", "a digit alone"],
  ["a\u00B7b", "U+00B7 is Latin and Greek, so it goes with either"],
];

Deno.test("names of one script, with emoji sequences and contextual joiners, are accepted", () => {
  for (const [name, why] of ACCEPTED) {
    assert.equal(validateUsername(name), name, why);
    assert.equal(validateRoomName(name), name, why);
  }
});

// [name, the code point the error names, words of the reason]
const REFUSED: [string, string, string][] = [
  ["alice\u200B", "U+200B", "invisible"],
  ["ali\u2060ce", "U+2060", "invisible"],
  ["ab\u202Ecd", "U+202E", "invisible"], // RIGHT-TO-LEFT OVERRIDE
  ["\u200B", "U+200B", "invisible"],
  ["\u200B\u200B\u200B", "U+200B", "invisible"],
  ["\u3164", "U+3164", "invisible"], // HANGUL FILLER, a letter by category
  ["\u3164\u3164", "U+3164", "invisible"],
  ["ann\u00AD", "U+00AD", "invisible"], // SOFT HYPHEN
  ["a\u{E0061}b", "U+E0061", "tag character"],
  ["ann" + TAGS_SCOTLAND, "U+E0067", "tag character"], // tags without the black flag
  ["🏴\u{E0061}\u{E0062}\u{E007F}", "U+E0061", "tag character"], // not an RGI flag
  ["❤\uFE0E", "U+FE0E", "variation selector"], // VS15: in no RGI sequence
  ["ann\uFE0F", "U+FE0F", "variation selector"], // VS16 after a letter
  ["a\u200Db", "U+200D", "zero width joiner"],
  ["😀\u200D😀", "U+200D", "zero width joiner"], // not an RGI ZWJ sequence
  ["an\u200Cn", "U+200C", "non-joiner"],
  ["\u0648\u200C\u0628", "U+200C", "non-joiner"], // U+0648 joins only to the right
  ["\u0628\u200C", "U+200C", "non-joiner"], // nothing after it
  ["\u2800", "U+2800", "BRAILLE PATTERN BLANK"],
  ["a\u2800b", "U+2800", "BRAILLE PATTERN BLANK"],
  ["a\u2028b", "U+2028", "line or paragraph separator"],
  ["a\u2029b", "U+2029", "line or paragraph separator"],
  ["a\uE000", "U+E000", "private-use"],
  ["a\u{F0000}", "U+F0000", "private-use"],
  ["a\u0378", "U+0378", "not an assigned character"],
  ["a\u{50000}", "U+50000", "not an assigned character"],
  ["\u0301ann", "U+0301", "combining mark"],
  ["\u20E3", "U+20E3", "combining mark"],
  ["...", "", "a letter, a digit or an emoji"],
  ["-_-", "", "a letter, a digit or an emoji"],
  ["\u00B7", "", "a letter, a digit or an emoji"],
  ["\u0430lice", "U+0430 is Cyrillic and U+006C is Latin", "mix scripts"],
  ["alic\u0435", "U+0061 is Latin and U+0435 is Cyrillic", "mix scripts"],
  ["\u03BFk", "U+03BF is Greek and U+006B is Latin", "mix scripts"],
  ["\u041E\u043B\u03B3\u03B1", "U+041E is Cyrillic and U+03B3 is Greek", "mix scripts"],
  ["e\u0342", "U+0065 is Latin and U+0342 is Greek", "mix scripts"],
];

Deno.test("invisible, blank, unassigned, mark-first, empty and mixed-script names are 400", () => {
  for (const [name, label, why] of REFUSED) {
    refused(() => validateUsername(name), "username", label, why);
    refused(() => validateRoomName(name), "room name", label, why);
  }
});

Deno.test("room names: today's lookalikes of lobby are refused; spaces still allowed", () => {
  refused(() => validateRoomName("lobby\u200B"), "U+200B");
  refused(() => validateRoomName("l\u043Ebby"), "U+043E is Cyrillic", "U+006C is Latin");
  assert.equal(validateRoomName(" general chat "), " general chat ");
  assert.equal(validateRoomName("lobby"), "lobby");
  refused(() => validateRoomName("   "), "white space");
});

Deno.test("control characters are named by code point", () => {
  refused(() => validateUsername("a\x1bb"), "U+001B", "control");
  refused(() => validateRoomName("a\u0085"), "U+0085", "control");
});
