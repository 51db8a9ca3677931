import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeUtf8, encodeUtf8 } from "./bytes.ts";
import { usernameKey, validateRoomName, validateUsername } from "./names.ts";
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

// The rules of docs/protocol.md section 2, written out apart from names.ts.
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
  ["validateRoomName", validateRoomName, isRoomName],
  ["validateUsername", validateUsername, isUsername],
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

Deno.test("the name arbitraries the other property tests use make only valid names", () => {
  fc.assert(
    fc.property(roomName, username, (room, user) => {
      assert.equal(validateRoomName(room), room);
      assert.equal(validateUsername(user), user);
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
