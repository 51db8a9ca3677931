/**
 * Arbitraries and checks shared by the property tests (`*_property_test.ts`).
 * Not a test file itself: it only builds inputs. A failing property prints its
 * seed and path; passing them as `{ seed, path }` to that `fc.assert` replays it.
 */
import fc from "fast-check";
import { encodeUtf8 } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";

/**
 * Runs a decoder on input it may refuse: returns its value, or `null` when it
 * threw a {@linkcode ProtocolError} with one of `statuses`. Anything else thrown
 * (a TypeError, a RangeError, another status) propagates and fails the property.
 */
export function decodeOrRefuse<T>(decode: () => T, statuses: readonly number[] = [400]): T | null {
  try {
    return decode();
  } catch (error) {
    if (error instanceof ProtocolError && statuses.includes(error.status)) return null;
    throw error;
  }
}

/** fc.record options for values compared with decoded ones, which have ordinary prototypes. */
export const plain = { noNullPrototype: true } as const;

type Edit = { op: "flip" | "set" | "insert" | "delete" | "truncate"; at: number; value: number };

const edit: fc.Arbitrary<Edit> = fc.record({
  op: fc.constantFrom("flip", "set", "insert", "delete", "truncate"),
  at: fc.nat(),
  value: fc.nat({ max: 255 }),
});

function applyEdit(bytes: Uint8Array, { op, at, value }: Edit): Uint8Array {
  const i = at % (bytes.length + 1);
  const j = Math.min(i, bytes.length - 1);
  switch (op) {
    case "flip":
      if (bytes.length > 0) bytes[j] = bytes[j]! ^ (1 << (value % 8));
      return bytes;
    case "set":
      if (bytes.length > 0) bytes[j] = value;
      return bytes;
    case "insert":
      return Uint8Array.from([...bytes.subarray(0, i), value, ...bytes.subarray(i)]);
    case "delete":
      return Uint8Array.from([...bytes.subarray(0, i), ...bytes.subarray(i + 1)]);
    case "truncate":
      return bytes.slice(0, i);
  }
}

/**
 * A valid encoding with one to four bytes flipped, overwritten, inserted,
 * deleted or cut off: random bytes alone rarely get past a decoder's first checks.
 */
export function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 }))
    .map(([bytes, edits]) => edits.reduce(applyEdit, bytes.slice()));
}

/** Random bytes, mostly short, sometimes just under or over `limit`. */
export function anyBytes(limit: number): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: limit - 4, maxLength: limit + 4 }) },
  );
}

const isSurrogate = (cp: number) => cp >= 0xd800 && cp <= 0xdfff;
const isControl = (cp: number) => cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);

/** One code point, any plane, weighted towards ASCII and Latin; never a surrogate. */
export const codePoint: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0xa0, max: 0x7ff }),
  fc.integer({ min: 0x800, max: 0xffff }).filter((cp) => !isSurrogate(cp)),
  fc.integer({ min: 0x10000, max: 0x10ffff }),
  fc.integer({ min: 0, max: 0x9f }).filter(isControl),
).map((cp) => String.fromCodePoint(cp));

const printable = codePoint.filter((c) => !isControl(c.codePointAt(0)!));

/** Any well-formed text, control characters included, from empty to a few thousand bytes. */
export const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: codePoint, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: codePoint, maxLength: 1200, size: "max" }) },
);

/** Cuts `name` to at most `max` bytes of UTF-8 at a code point boundary. */
export function cutToBytes(name: string, max: number): string {
  let out = "";
  let size = 0;
  for (const c of name) {
    size += encodeUtf8(c).length;
    if (size > max) break;
    out += c;
  }
  return out;
}

/**
 * Room names of valid form (1-255 bytes, no control characters, not only white space), often near
 * 255 bytes. Random code points: most break the character rules of names.ts (mixed scripts,
 * unassigned, invisible), which only validateRoomName applies.
 */
export const roomName: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: printable, minLength: 1, maxLength: 20 }),
  fc.string({ unit: printable, minLength: 1, maxLength: 255, size: "max" }),
).map((name) => cutToBytes(name, 255)).filter((name) => name.trim() !== "");

/**
 * Usernames of valid form (1-32 code points, no control characters, no white space at the ends);
 * like {@linkcode roomName}, not checked against the character rules.
 */
export const username: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: printable, minLength: 1, maxLength: 8 }),
  fc.string({ unit: printable, minLength: 1, maxLength: 32, size: "max" }),
).filter((name) => name.trim() === name);
