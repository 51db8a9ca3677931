import assert from "node:assert/strict";
import { isVirama, joinerAllowed, joiningType, ZWJ, ZWNJ } from "./contextj.ts";

const points = (s: string) => [...s].map((c) => c.codePointAt(0)!);

Deno.test("isVirama: combining class 9 only, read from the engine's normalization", () => {
  // Devanagari, Bengali, Malayalam, Sinhala al-lakuna, Myanmar asat, Brahmi, Tai Tham
  for (const cp of [0x094d, 0x09cd, 0x0d4d, 0x0dca, 0x103a, 0x11046, 0x1a60]) {
    assert.ok(isVirama(cp), cp.toString(16));
  }
  // class 7 (nukta), 8 and 10 (the probes themselves), 230, 0, and a precomposed letter
  for (const cp of [0x093c, 0x3099, 0x05b0, 0x0301, 0x61, 0x0915, 0xe9]) {
    assert.ok(!isVirama(cp), cp.toString(16));
  }
});

Deno.test("joiningType: RFC 5892's four joining types, from the Unicode 17 table", () => {
  assert.equal(joiningType(0x0628), "D"); // ARABIC LETTER BEH
  assert.equal(joiningType(0x06cc), "D"); // ARABIC LETTER FARSI YEH
  assert.equal(joiningType(0x0648), "R"); // ARABIC LETTER WAW
  assert.equal(joiningType(0x0627), "R"); // ARABIC LETTER ALEF
  assert.equal(joiningType(0xa872), "L"); // PHAGS-PA SUPERFIXED LETTER RA
  assert.equal(joiningType(0x064e), "T"); // ARABIC FATHA
  assert.equal(joiningType(0x0301), "T"); // a mark of any script
  assert.equal(joiningType(0x0640), ""); // TATWEEL is join-causing, not one of the four
  assert.equal(joiningType(0x61), "");
});

Deno.test("joinerAllowed: after a virama, or ZWNJ between joining letters", () => {
  const at = (s: string) => {
    const p = points(s);
    return joinerAllowed(p, p.findIndex((cp) => cp === ZWJ || cp === ZWNJ));
  };
  assert.ok(at("\u0915\u094d\u200d\u0937")); // ZWJ after a virama
  assert.ok(at("\u0915\u094d\u200c\u0937")); // ZWNJ after a virama
  assert.ok(at("\u06cc\u200c\u062e")); // D ZWNJ D
  assert.ok(at("\u0628\u064e\u200c\u064e\u0627")); // D T ZWNJ T R
  assert.ok(at("\ua872\u200c\u0627")); // L ZWNJ R
  assert.ok(!at("\u0627\u200c\u0628")); // R ZWNJ D: alef does not join to its left
  assert.ok(!at("\u0628\u200c\ua872")); // D ZWNJ L
  assert.ok(!at("\u200c\u0628")); // nothing before
  assert.ok(!at("\u0628\u200c")); // nothing after
  assert.ok(!at("\u06cc\u200d\u062e")); // ZWJ between letters: only after a virama
  assert.ok(!at("a\u200cb"));
});
