import assert from "node:assert/strict";
import fc from "fast-check";
import { text } from "./arbitraries_test_util.ts";
import { encodeServerDatagram, EventType, MAX_DATAGRAM_BYTES } from "./datagram.ts";
import {
  eventDatagramBytes,
  oversizedEventBytes,
  utf8ByteLength,
  welcomeMembers,
} from "./datagram_size.ts";

const eventOf = (name: string, text: string) =>
  encodeServerDatagram({ kind: "event", seq: 1, timeMs: 0, type: EventType.MESSAGE, name, text });

Deno.test("oversizedEventBytes: null exactly when the EVENT encodes within 4096 bytes", () => {
  const name = "ann";
  const fits = "x".repeat(MAX_DATAGRAM_BYTES - 15 - name.length);
  assert.equal(oversizedEventBytes(name, fits), null);
  assert.equal(eventOf(name, fits).length, MAX_DATAGRAM_BYTES);
  assert.equal(oversizedEventBytes(name, fits + "x"), MAX_DATAGRAM_BYTES + 1);
  assert.throws(() => eventOf(name, fits + "x"), RangeError);
  // Three-byte characters: measured, not guessed from the UTF-16 length.
  const wide = "€".repeat(1_359); // 4077 bytes: an EVENT of 4095
  assert.equal(oversizedEventBytes(name, wide), null);
  assert.equal(eventOf(name, wide).length, 4095);
  assert.equal(oversizedEventBytes(name, wide + "€"), 4098);
});

Deno.test("oversizedEventBytes: with a sealed room's 94 bytes of overhead, null exactly when the sealed EVENT fits", () => {
  const name = "ann";
  const overhead = 94; // ROOM_OVERHEAD_BYTES: 14 header + 16 tag + 64 signature
  const fits = "x".repeat(MAX_DATAGRAM_BYTES - overhead - 15 - name.length);
  assert.equal(oversizedEventBytes(name, fits, overhead), null);
  assert.equal(eventOf(name, fits).length + overhead, MAX_DATAGRAM_BYTES);
  assert.equal(oversizedEventBytes(name, fits + "x", overhead), MAX_DATAGRAM_BYTES + 1);
  // What a plain room still takes, a sealed one refuses.
  assert.equal(oversizedEventBytes(name, fits + "x"), null);
  const wide = "€".repeat(1_328); // 3984 bytes: a sealed EVENT of 4096
  assert.equal(oversizedEventBytes(name, wide, overhead), null);
  assert.equal(oversizedEventBytes(name, wide + "€", overhead), 4099);
});

Deno.test("welcomeMembers: a WELCOME of the longest names still fits in a datagram", () => {
  const members = Array.from({ length: 200 }, (_, i) => `${"名".repeat(28)}${i}`.slice(0, 32));
  const kept = welcomeMembers(members);
  assert.ok(kept.length > 10 && kept.length < members.length);
  assert.deepEqual(kept, members.slice(0, kept.length));
  const bytes = encodeServerDatagram({
    kind: "welcome",
    headSeq: 1,
    room: "\\".repeat(255),
    host: "名".repeat(32),
    members: kept,
  });
  assert.ok(bytes.length <= MAX_DATAGRAM_BYTES, `${bytes.length}`);
  assert.deepEqual(welcomeMembers(["ann", "bob"]), ["ann", "bob"]);
});

Deno.test("utf8ByteLength: what TextEncoder writes, lone surrogates included", () => {
  const encoded = (s: string) => new TextEncoder().encode(s).length;
  for (
    const s of ["", "a", "é", "€", "😀", "\ud800", "\udc00", "\ud800a", "a\udc00\ud800", "😀\ud83d"]
  ) {
    assert.equal(utf8ByteLength(s), encoded(s), JSON.stringify(s));
  }
  fc.assert(fc.property(text, (s) => utf8ByteLength(s) === encoded(s)));
  // Any UTF-16, broken pairs too.
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 0xffff })).map((u) => String.fromCharCode(...u)),
      (s) => utf8ByteLength(s) === encoded(s),
    ),
  );
});

Deno.test("eventDatagramBytes: the length of the encoded EVENT", () => {
  fc.assert(
    fc.property(text, text, (name, body) => {
      fc.pre(utf8ByteLength(name) <= 255 && eventDatagramBytes({ name, text: body }) <= 4096);
      assert.equal(eventDatagramBytes({ name, text: body }), eventOf(name, body).length);
    }),
  );
});
