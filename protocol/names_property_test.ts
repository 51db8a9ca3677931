import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeUtf8, encodeUtf8 } from "./bytes.ts";
import {
  canonicalKey,
  usernameKey,
  validateRoomName,
  validateRoomNameForm,
  validateUsername,
  validateUsernameForm,
} from "./names.ts";
import { areConfusable, confusableKeys, skeleton } from "./confusables.ts";
import { ProtocolError } from "./errors.ts";
import {
  anyBytes,
  codePoint,
  decodeOrRefuse,
  mutated,
  roomName,
  username,
} from "./arbitraries_test_util.ts";

// Besides ordinary code points: lone surrogates (a JSON escape such as "\ud800"
// makes one), and the white space and controls that sit on the edges of the rules.
const awkward = fc.oneof(
  { weight: 6, arbitrary: codePoint },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(" ", "\t", "\n", "\u00a0", "\u2028", "\u3000", "\ufeff", "\u200b"),
  },
);
const anyName = fc.oneof(
  fc.string({ unit: awkward, maxLength: 40 }),
  fc.string({ unit: awkward, maxLength: 300, size: "max" }),
);

// The form rules of docs/protocol.md section 2, written out apart from names.ts.
function codePoints(name: string): number[] | null {
  const points = [...name].map((c) => c.codePointAt(0)!);
  return points.some((cp) => cp >= 0xd800 && cp <= 0xdfff) ? null : points;
}
const isControl = (cp: number) => cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);
const utf8Size = (cp: number) => cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

function isRoomName(name: string): boolean {
  const points = codePoints(name);
  if (points === null || points.some(isControl)) return false;
  const size = points.reduce((sum, cp) => sum + utf8Size(cp), 0);
  return size >= 1 && size <= 255 && /\S/u.test(name);
}

function isUsername(name: string): boolean {
  const points = codePoints(name);
  if (points === null || points.some(isControl)) return false;
  return points.length >= 1 && points.length <= 32 && !/^\s|\s$/u.test(name);
}

const checks = [
  ["validateRoomNameForm", validateRoomNameForm, isRoomName],
  ["validateUsernameForm", validateUsernameForm, isUsername],
] as const;

for (const [label, validate, rule] of checks) {
  Deno.test(`${label}: accepts exactly the names the rules allow, unchanged; else 400`, () => {
    fc.assert(
      fc.property(anyName, (name) => {
        const accepted = decodeOrRefuse(() => validate(name));
        assert.equal(accepted !== null, rule(name));
        if (accepted !== null) {
          assert.equal(accepted, name);
          // A valid name crosses the wire as itself.
          assert.equal(decodeUtf8(encodeUtf8(accepted), "name"), name);
        }
      }),
      { numRuns: 2000 },
    );
  });
}

const namesFromBytes = [
  ["room name", validateRoomName, roomName],
  ["username", validateUsername, username],
] as const;

for (const [label, validate, valid] of namesFromBytes) {
  Deno.test(`${label} from bytes: any byte string is a valid name with those bytes, or 400`, () => {
    const bytes = fc.oneof(anyBytes(256), mutated(valid.map(encodeUtf8)));
    fc.assert(
      fc.property(bytes, (bytes) => {
        const name = decodeOrRefuse(() => validate(decodeUtf8(bytes, label)));
        if (name !== null) assert.deepEqual(encodeUtf8(name), bytes);
      }),
      { numRuns: 1000 },
    );
  });
}

Deno.test("the name arbitraries the other property tests use make only names of valid form", () => {
  fc.assert(
    fc.property(roomName, username, (room, user) => {
      assert.equal(validateRoomNameForm(room), room);
      assert.equal(validateUsernameForm(user), user);
    }),
    { numRuns: 500 },
  );
});

// Letters and combining marks, where composition and case mapping meet.
const letter = fc.oneof(
  fc.integer({ min: 0x41, max: 0x5a }),
  fc.integer({ min: 0xc0, max: 0x24f }),
  fc.integer({ min: 0x370, max: 0x3ff }),
  fc.integer({ min: 0x1e00, max: 0x1fff }),
  fc.integer({ min: 0x300, max: 0x36f }),
  fc.constantFrom(0x130, 0x212b, 0x2126, 0x1e9e, 0x345),
).map((cp) => String.fromCodePoint(cp));

Deno.test("usernameKey: ignores normalization form and letter case, and is its own key", () => {
  const name = fc.oneof(username, anyName, fc.string({ unit: letter, maxLength: 6 }));
  fc.assert(
    fc.property(name, (name) => {
      const key = usernameKey(name);
      assert.equal(usernameKey(name.normalize("NFD")), key);
      assert.equal(usernameKey(name.normalize("NFC")), key);
      assert.equal(usernameKey(name.toLowerCase()), key);
      assert.equal(usernameKey(key), key);
    }),
    { numRuns: 1000 },
  );
});

// Characters of one script each (with digits, spaces, marks and emoji that
// go with any), so that most generated names pass the character rules.
const fromRanges = (...ranges: [number, number][]) =>
  fc.oneof(...ranges.map(([min, max]) => fc.integer({ min, max })))
    .map((cp) => String.fromCodePoint(cp));
const SCRIPTS = [
  fromRanges([0x41, 0x5a], [0x61, 0x7a], [0xc0, 0xd6], [0xe0, 0xf6], [0x100, 0x17f]),
  fromRanges([0x410, 0x44f], [0x400, 0x40f]),
  fromRanges([0x391, 0x3a1], [0x3a3, 0x3a9], [0x3b1, 0x3c9], [0x386, 0x38a]),
  fromRanges([0x3041, 0x3096], [0x30a1, 0x30fa], [0x4e00, 0x4fff]),
  fromRanges([0x620, 0x64a], [0x6cc, 0x6cc]),
];
const anyScript = fc.oneof(
  { weight: 6, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom("0", "7", " ", "-", "\u0301", "\u0308") },
  { weight: 1, arbitrary: fc.constantFrom("😀", "👨\u200d👩\u200d👧", "❤\ufe0f", "🇯🇵") },
);
const oneScriptName = fc.nat({ max: SCRIPTS.length - 1 }).chain((script) =>
  fc.array(fc.tuple(SCRIPTS[script]!, anyScript), { minLength: 1, maxLength: 12 })
    .map((parts) => parts.map(([letter, extra]) => extra ?? letter).join("").slice(0, 60))
);
const acceptedName = oneScriptName.filter((name) =>
  decodeOrRefuse(() => validateUsername(name)) !== null
);

const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" });

// What the character rules refuse wherever it stands outside an emoji.
const alwaysRefused = fc.oneof(
  fc.constantFrom(0x200b, 0x2060, 0x202e, 0x3164, 0xad, 0xfeff, 0x2800, 0x2028, 0x2029),
  fc.constantFrom(0xe000, 0xf8ff, 0xf0000, 0x0378, 0x50000, 0xe0061, 0xfe0e, 0x180e),
).map((cp) => String.fromCodePoint(cp));

Deno.test("validateUsername and validateRoomName accept only names of valid form", () => {
  fc.assert(
    fc.property(fc.oneof(anyName, oneScriptName), (name) => {
      if (decodeOrRefuse(() => validateUsername(name)) !== null) validateUsernameForm(name);
      if (decodeOrRefuse(() => validateRoomName(name)) !== null) validateRoomNameForm(name);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("an invisible, blank or unassigned character anywhere in a name gets it refused, by code point", () => {
  fc.assert(
    fc.property(acceptedName, alwaysRefused, fc.nat(), (name, bad, at) => {
      // Between two graphemes, so that no emoji sequence is cut in two.
      const parts = [...graphemes.segment(name)].map((s) => s.segment);
      const i = at % (parts.length + 1);
      const spoiled = [...parts.slice(0, i), bad, ...parts.slice(i)].join("");
      const label = `U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
      for (const validate of [validateUsername, validateRoomName]) {
        assert.throws(() => validate(spoiled), (error: Error) => {
          assert.ok(error instanceof ProtocolError && error.status === 400);
          // U+2028 and U+2029 are white space: at a username's ends, that rule speaks first.
          const edge = validate === validateUsername && /^\s|\s$/u.test(spoiled);
          assert.ok(error.message.includes(edge ? "spaces" : label), `${error.message} (${label})`);
          return true;
        });
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("no accepted name holds a character the rules refuse, or mixes Latin, Cyrillic and Greek", () => {
  const refused = /[\p{Co}\p{Cn}\p{Zl}\p{Zp}\u2800]/u;
  const ignorable = /\p{Default_Ignorable_Code_Point}/u;
  const emojiParts = new Set([0x200c, 0x200d, 0xfe0f]);
  fc.assert(
    fc.property(fc.oneof(oneScriptName, anyName), (name) => {
      if (decodeOrRefuse(() => validateUsername(name)) === null) return;
      assert.ok(!refused.test(name));
      for (const c of name) {
        const cp = c.codePointAt(0)!;
        if (ignorable.test(c)) assert.ok(emojiParts.has(cp) || (cp >= 0xe0020 && cp <= 0xe007f));
      }
      assert.ok(!/^\p{M}/u.test(name));
      const latin = /\p{sc=Latn}/u.test(name);
      const cyrillic = /\p{sc=Cyrl}/u.test(name);
      const greek = /\p{sc=Grek}/u.test(name);
      assert.ok(Number(latin) + Number(cyrillic) + Number(greek) <= 1, name);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("canonicalKey is idempotent, and so is the skeleton", () => {
  fc.assert(
    fc.property(fc.oneof(acceptedName, anyName), (name) => {
      assert.equal(canonicalKey(canonicalKey(name)), canonicalKey(name));
      assert.equal(skeleton(skeleton(name)), skeleton(name));
    }),
    { numRuns: 1000 },
  );
});

Deno.test("an accepted name's confusable keys: stable across forms and case, and confusable with itself", () => {
  const sorted = (name: string) => confusableKeys(name).sort();
  fc.assert(
    fc.property(acceptedName, (name) => {
      const keys = sorted(name);
      assert.deepEqual(sorted(name.normalize("NFD")), keys);
      assert.deepEqual(sorted(name.normalize("NFC")), keys);
      assert.equal(confusableKeys(name)[0], canonicalKey(name));
      assert.ok(areConfusable(name, name));
      // Spellings of one name are confusable: they share the canonical key. (Not
      // always with the upper-cased name: "ſ" upper-cases to "S", "ς" to "Σ", and
      // the canonical key lower-cases, it does not fold: "ſ" is not "s".)
      assert.ok(areConfusable(name, name.toLowerCase()));
      assert.ok(areConfusable(name, name.normalize("NFD").toLowerCase()));
    }),
    { numRuns: 1000 },
  );
});

Deno.test("areConfusable is symmetric", () => {
  fc.assert(
    fc.property(acceptedName, acceptedName, (a, b) => {
      assert.equal(areConfusable(a, b), areConfusable(b, a));
    }),
    { numRuns: 1000 },
  );
});
