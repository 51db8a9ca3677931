import assert from "node:assert/strict";
import { areConfusable, confusableKeys, skeleton } from "./confusables.ts";
import { canonicalKey, validateUsername } from "./names.ts";

Deno.test("skeleton: NFD, default-ignorables dropped, prototypes, NFD", () => {
  assert.equal(skeleton("paypaI"), "paypal"); // capital I looks like l
  assert.equal(skeleton("\u0430\u0406\u0456\u0441\u0435"), "alice"); // all Cyrillic
  assert.equal(skeleton("ali\u200bce"), "alice");
  assert.equal(skeleton("b0b"), "bOb"); // digit zero looks like capital O
  assert.equal(skeleton("\u00e9"), "e\u0301"); // decomposed
  assert.equal(skeleton("\u0391\u0392"), "AB"); // Greek capitals
});

Deno.test("skeleton: m stays m, and what looks like m maps to m, not rn", () => {
  assert.equal(skeleton("Sam"), "Sam");
  assert.equal(skeleton("Sarn"), "Sarn");
  assert.equal(skeleton("\u217f"), "m"); // SMALL ROMAN NUMERAL ONE THOUSAND
  assert.equal(skeleton("\u{1d426}"), "m"); // MATHEMATICAL BOLD SMALL M
  assert.equal(skeleton("\u{118e3}"), "m"); // WARANG CITI DIGIT THREE
});

Deno.test("confusableKeys: the canonical key first, then the distinct skeleton keys", () => {
  assert.deepEqual(confusableKeys("alice"), ["alice"]);
  assert.deepEqual(confusableKeys("Alice"), ["alice"]);
  assert.deepEqual(confusableKeys("paypaI"), ["paypai", "paypal"]);
  const cyrillic = "\u0430\u0406\u0456\u0441\u0435";
  assert.equal(confusableKeys(cyrillic)[0], canonicalKey(cyrillic));
  assert.ok(confusableKeys(cyrillic).includes("alice"));
});

// [a, b, confusable?, why]
const PAIRS: [string, string, boolean, string][] = [
  ["alice", "Alice", true, "the same name: case"],
  ["\u00c9mile", "E\u0301MILE", true, "the same name: case and normalization"],
  ["alice", "\u0430\u0406\u0456\u0441\u0435", true, "all-Cyrillic lookalike of a Latin name"],
  ["alice", "\u0430lice", true, "one Cyrillic letter (refused anyway for mixed scripts)"],
  ["paypal", "paypaI", true, "capital I for l"],
  ["PAYPAL", "paypaI", true, "lower-casing first"],
  ["bob1", "bobl", true, "digit one for l"],
  ["b0b", "bob", true, "digit zero for o"],
  ["ABE", "\u0391\u0392\u0395", true, "Greek capitals"],
  ["Sam", "Sarn", false, "m is not rn here"],
  ["Sam", "Sam\u200b", true, "an invisible character (refused anyway)"],
  ["alice", "alicia", false, "different names"],
  ["emile", "\u00e9mile", false, "an accent is visible"],
  ["\u041e\u043b\u044c\u0433\u0430", "Olga", false, "the Cyrillic name has letters Latin lacks"],
  ["\u5927\u8f14", "\u5927\u8f14\u5927", false, "different Han names"],
];

Deno.test("areConfusable: looks-alike pairs, and pairs that only look related", () => {
  for (const [a, b, expected, why] of PAIRS) {
    assert.equal(areConfusable(a, b), expected, `${a} / ${b}: ${why}`);
    assert.equal(areConfusable(b, a), expected, `${b} / ${a}: ${why}`);
  }
});

Deno.test("an accepted all-Cyrillic lookalike is still confusable with the Latin name", () => {
  const lookalike = validateUsername("\u0430\u0406\u0456\u0441\u0435"); // one script: accepted
  assert.ok(areConfusable("alice", lookalike));
});

Deno.test("the package maps m and its lookalikes to rn; the wrapper maps none to rn", async () => {
  const { default: data } = await import("unhomoglyph/data.json", { with: { type: "json" } });
  const table = data as Record<string, string>;
  assert.equal(table["m"], "rn"); // what the wrapper works around is still there
  const lookalikes = Object.keys(table).filter((source) => table[source] === "rn");
  assert.ok(lookalikes.length > 10);
  for (const source of lookalikes) {
    assert.equal(skeleton(source), "m", source.codePointAt(0)!.toString(16));
  }
  for (const source of Object.keys(table)) assert.notEqual(skeleton(source), "rn");
});

Deno.test("a skeleton is its own skeleton, even where the package's target is precomposed", () => {
  assert.equal(skeleton("\u01c4"), skeleton("D\u017d")); // Ǆ and DŽ
  assert.ok(areConfusable("\u01c4ana", "D\u017eana"));
  for (let cp = 0; cp <= 0x2ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const once = skeleton(String.fromCodePoint(cp));
    assert.equal(skeleton(once), once, cp.toString(16));
  }
});
