import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeUtf8 } from "./bytes.ts";
import {
  type ClientBody,
  type ClientDatagram,
  CloseReason,
  decodeClientDatagram,
  decodeServerDatagram,
  encodeClientDatagram,
  encodeServerDatagram,
  EventType,
  MAX_DATAGRAM_BYTES,
  type ServerBody,
} from "./datagram.ts";
import {
  anyBytes,
  codePoint,
  cutToBytes,
  decodeOrRefuse,
  mutated,
  plain,
  roomName,
  text,
  username,
} from "./arbitraries_test_util.ts";

const u32 = fc.oneof(fc.nat({ max: 0xffff_ffff }), fc.constantFrom(0, 1, 0xffff_ffff));
const utf8Size = (s: string) => encodeUtf8(s).length;
/** The status a decoder owes for input of this size. */
const statusFor = (bytes: Uint8Array) => [bytes.length > MAX_DATAGRAM_BYTES ? 413 : 400];

// Texts from empty to past what a datagram holds (1000-2500 code points are 1-10 KB).
const longText = fc.oneof(
  { weight: 3, arbitrary: text },
  { weight: 1, arbitrary: fc.string({ unit: codePoint, minLength: 1000, maxLength: 2500 }) },
);

// Datagram room names are only checked as UTF-8, so control characters are fine here.
const datagramRoom = fc.oneof(
  roomName,
  text.map((t) => cutToBytes(t, 255)).filter((t) => t.length > 0),
);
const token = fc.oneof(
  fc.uint8Array({ minLength: 32, maxLength: 32 }),
  fc.uint8Array({ minLength: 1, maxLength: 255 }),
);

function clientDatagram(messageText: fc.Arbitrary<string>): fc.Arbitrary<ClientDatagram> {
  const body: fc.Arbitrary<ClientBody> = fc.oneof(
    fc.record({ kind: fc.constant("hello" as const), lastSeq: u32 }, plain),
    fc.record({
      kind: fc.constant("message" as const),
      msgId: u32,
      text: messageText.filter((t) => t.length > 0),
    }, plain),
    fc.record({ kind: fc.constant("heartbeat" as const), lastSeq: u32 }, plain),
    fc.record({ kind: fc.constant("leave" as const) }, plain),
    fc.record({ kind: fc.constant("resend" as const), fromSeq: u32, toSeq: u32 }, plain),
  );
  return fc.record({ roomName: datagramRoom, token, body }, plain);
}

function clientSize({ roomName, token, body }: ClientDatagram): number {
  const bodySize = { hello: 5, message: 5, heartbeat: 5, leave: 1, resend: 9 }[body.kind];
  return 2 + utf8Size(roomName) + token.length + bodySize +
    (body.kind === "message" ? utf8Size(body.text) : 0);
}

Deno.test("encodeClientDatagram then decode is the identity; RangeError past 4096 bytes", () => {
  fc.assert(
    fc.property(clientDatagram(longText), (datagram) => {
      if (clientSize(datagram) > MAX_DATAGRAM_BYTES) {
        assert.throws(() => encodeClientDatagram(datagram), RangeError);
      } else {
        assert.deepStrictEqual(decodeClientDatagram(encodeClientDatagram(datagram)), datagram);
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("decodeClientDatagram: any bytes are a datagram that encodes to them, or 400 / 413", () => {
  const valid = clientDatagram(text).filter((d) => clientSize(d) <= MAX_DATAGRAM_BYTES);
  const bytes = fc.oneof(anyBytes(MAX_DATAGRAM_BYTES), mutated(valid.map(encodeClientDatagram)));
  fc.assert(
    fc.property(bytes, (bytes) => {
      const datagram = decodeOrRefuse(() => decodeClientDatagram(bytes), statusFor(bytes));
      // The layout has one encoding per value, so a decoded value must give the same bytes back.
      if (datagram !== null) assert.deepStrictEqual(encodeClientDatagram(datagram), bytes);
    }),
    { numRuns: 2000 },
  );
});

const eventName = fc.oneof(
  username,
  fc.constant(""),
  fc.string({ unit: codePoint, minLength: 60, maxLength: 100 }), // around 255 bytes
);
const anyName = fc.oneof(username, text);
const members = fc.oneof(
  { weight: 4, arbitrary: fc.array(anyName, { maxLength: 8 }) },
  { weight: 1, arbitrary: fc.array(username, { minLength: 100, maxLength: 300 }) }, // ~4 KB
);

function serverBody(t: fc.Arbitrary<string>, names: fc.Arbitrary<string[]>) {
  return fc.oneof(
    fc.record({
      kind: fc.constant("event" as const),
      seq: u32,
      timeMs: fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER)),
      type: fc.constantFrom(...Object.values(EventType)),
      name: eventName,
      text: t,
    }, plain),
    fc.record({ kind: fc.constant("ack" as const), msgId: u32, seq: u32 }, plain),
    fc.record({
      kind: fc.constant("welcome" as const),
      headSeq: u32,
      room: fc.oneof(roomName, text),
      host: anyName,
      members: names,
    }, plain),
    fc.record({
      kind: fc.constant("closed" as const),
      reason: fc.constantFrom(...Object.values(CloseReason)),
      text: t,
    }, plain),
    fc.record({
      kind: fc.constant("error" as const),
      code: fc.constantFrom(400 as const, 401 as const, 413 as const, 429 as const),
      text: t,
    }, plain),
    fc.record({
      kind: fc.constant("refused" as const),
      msgId: u32,
      code: fc.constantFrom(410 as const, 413 as const, 429 as const),
      text: t,
    }, plain),
    fc.record({ kind: fc.constant("heartbeatAck" as const), headSeq: u32 }, plain),
  ) satisfies fc.Arbitrary<ServerBody>;
}

/** The size a server body encodes to, or Infinity when a field cannot be encoded at all. */
function serverSize(body: ServerBody): number {
  switch (body.kind) {
    case "event":
      return utf8Size(body.name) > 255 ? Infinity : 15 + utf8Size(body.name) + utf8Size(body.text);
    case "ack":
      return 9;
    case "welcome": {
      const { room, host, members } = body;
      return 5 + utf8Size(JSON.stringify({ room, host, members }));
    }
    case "closed":
      return 2 + utf8Size(body.text);
    case "error":
      return 3 + utf8Size(body.text);
    case "refused":
      return 7 + utf8Size(body.text);
    case "heartbeatAck":
      return 5;
  }
}

Deno.test("encodeServerDatagram then decode is the identity, every kind; RangeError past 4096", () => {
  fc.assert(
    fc.property(serverBody(longText, members), (body) => {
      if (serverSize(body) > MAX_DATAGRAM_BYTES) {
        assert.throws(() => encodeServerDatagram(body), RangeError);
      } else {
        assert.deepStrictEqual(decodeServerDatagram(encodeServerDatagram(body)), body);
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("decodeServerDatagram: any bytes are a body that re-encodes to itself, or 400 / 413", () => {
  const valid = serverBody(text, fc.array(anyName, { maxLength: 8 }))
    .filter((body) => serverSize(body) <= MAX_DATAGRAM_BYTES);
  const bytes = fc.oneof(anyBytes(MAX_DATAGRAM_BYTES), mutated(valid.map(encodeServerDatagram)));
  fc.assert(
    fc.property(bytes, (bytes) => {
      const body = decodeOrRefuse(() => decodeServerDatagram(bytes), statusFor(bytes));
      if (body === null) return;
      const again = encodeServerDatagram(body);
      assert.deepStrictEqual(decodeServerDatagram(again), body);
      // WELCOME's JSON may be spaced or escaped differently; every other layout is fixed.
      if (body.kind !== "welcome") assert.deepStrictEqual(again, bytes);
    }),
    { numRuns: 2000 },
  );
});
