import assert from "node:assert/strict";
import { encodeUtf8 } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
import {
  MAX_ROOM_NAME_BYTES,
  MAX_USERNAME_CHARS,
  usernameKey,
  validateRoomName,
  validateUsername,
} from "./names.ts";
import { decodeTcrpResponse, Operation, State } from "./tcrp.ts";

function throws400(fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
    assert.equal(error.status, 400, error.message);
    return true;
  });
}

const CONTROLS = ["\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\u0085", "\u009f"];

Deno.test("room names of 1 to 255 bytes are accepted unchanged", () => {
  const names = [
    "a",
    "é", // 2 bytes
    "x".repeat(255),
    "部屋".repeat(42) + "xyz", // 3-byte characters, 255 bytes
    "🏠".repeat(63) + "abc", // 4-byte characters, 255 bytes
    " general chat ", // spaces are fine in room names
    "e\u0301", // combining marks are not control characters
  ];
  for (const name of names) {
    assert.ok(encodeUtf8(name).length <= MAX_ROOM_NAME_BYTES);
    assert.equal(validateRoomName(name), name);
  }
});

Deno.test("room names of only white space are 400; spaces around other characters are fine", () => {
  for (const name of [" ", "   ", "\u00a0", " \u3000 ", "\u2003"]) {
    throws400(() => validateRoomName(name));
  }
  assert.equal(validateRoomName(" x "), " x ");
});

Deno.test("room names of 0 or 256+ bytes are 400, whatever the character widths", () => {
  for (
    const name of [
      "",
      "x".repeat(256),
      "é".repeat(128),
      "部屋".repeat(42) + "xyzw",
      "🏠".repeat(64),
    ]
  ) {
    assert.ok(encodeUtf8(name).length === 0 || encodeUtf8(name).length > MAX_ROOM_NAME_BYTES);
    throws400(() => validateRoomName(name));
  }
});

Deno.test("room names with control characters are 400", () => {
  for (const control of CONTROLS) {
    for (const name of [control, `a${control}b`, `room${control}`]) {
      throws400(() => validateRoomName(name));
    }
  }
});

Deno.test("usernames of 1 to 32 characters are accepted, counting code points", () => {
  const names = [
    "a",
    "😀", // one code point, two UTF-16 units
    "x".repeat(MAX_USERNAME_CHARS),
    "😀".repeat(32),
    "Zoë Ünal-部屋",
    "a b", // inner spaces are fine
  ];
  for (const name of names) assert.equal(validateUsername(name), name);
});

Deno.test("usernames of 0 or 33+ characters are 400", () => {
  for (const name of ["", "x".repeat(33), "😀".repeat(33), "é".repeat(33)]) {
    throws400(() => validateUsername(name));
  }
});

Deno.test("usernames with control characters or outer white space are 400", () => {
  for (const control of CONTROLS) {
    for (const name of [control, `a${control}b`, `ann${control}`]) {
      throws400(() => validateUsername(name));
    }
  }
  for (const name of [" ann", "ann ", " ann ", " ", "   ", "\u00a0ann", "ann\u3000"]) {
    throws400(() => validateUsername(name));
  }
});

Deno.test("names with a lone surrogate are 400, since they have no UTF-8 form", () => {
  // JSON.parse('"\\ud800"') makes such a string; encoded, it would become U+FFFD.
  for (const lone of ["\ud800", "\udfff", "a\udc00b", "\ude00😀"]) {
    throws400(() => validateRoomName(lone));
    throws400(() => validateUsername(lone));
  }
  assert.equal(validateUsername("\ud83d\ude00"), "😀"); // a surrogate pair is one character
});

Deno.test("usernameKey ignores case and Unicode normalization form", () => {
  const same = [
    ["Ann", "ann", "ANN", "aNn"],
    ["Émile", "émile", "ÉMILE", "E\u0301MILE", "e\u0301mile"], // NFC and NFD
    ["Zoë 😀", "ZOË 😀", "zoe\u0308 😀"],
    ["Ångström", "A\u030angstro\u0308m", "\u212bNGSTRÖM"], // U+212B ANGSTROM SIGN
    // Lower-cased, these compose into characters with no upper-case form of their own.
    ["J\u030c", "j\u030c", "\u01f0"], // U+01F0 LATIN SMALL LETTER J WITH CARON
    ["T\u0308\u0301", "\u1e97\u0301"], // U+1E97 LATIN SMALL LETTER T WITH DIAERESIS
    ["\u0130\u0316", "i\u0307\u0316", "I\u0316\u0307"], // U+0130, marks in either order
  ];
  for (const group of same) {
    for (const name of group) assert.equal(usernameKey(name), usernameKey(group[0]!), name);
  }
  assert.notEqual(usernameKey("ann"), usernameKey("anne"));
  assert.notEqual(usernameKey("emile"), usernameKey("émile"));
  assert.notEqual(usernameKey("ann"), usernameKey("ann "));
});

Deno.test("a room list is read by the form rules: a revision-1 server's lookalike names still list", () => {
  const rooms = [
    { name: "lobby\u200b", members: 1, capacity: null, passwordProtected: false },
    { name: "l\u043ebby", members: 2, capacity: null, passwordProtected: false },
  ];
  const frame = {
    operation: Operation.LIST_ROOMS,
    state: State.RESPONSE,
    roomName: new Uint8Array(0),
    payload: encodeUtf8(JSON.stringify({ status: 200, rooms })),
  };
  assert.deepEqual(decodeTcrpResponse(frame), { status: 200, rooms });
  throws400(() => validateRoomName(rooms[0]!.name)); // which no revision-2 server creates
  throws400(() => validateRoomName(rooms[1]!.name));
  const bad = {
    ...frame,
    payload: encodeUtf8(JSON.stringify({ status: 200, rooms: [{ ...rooms[0], name: "a\nb" }] })),
  };
  throws400(() => decodeTcrpResponse(bad));
});
