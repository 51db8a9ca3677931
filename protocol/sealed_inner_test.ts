import assert from "node:assert/strict";
import { encodeUtf8 } from "./bytes.ts";
import {
  type ClientBody,
  encodeClientDatagram,
  encodeServerDatagram,
  type ServerBody,
} from "./datagram.ts";
import { ProtocolError } from "./errors.ts";
import {
  decodeSealedClientBody,
  decodeSealedServerInner,
  encodeKeyInner,
  encodePathChallengeInner,
  encodeSealedClientBody,
  MEMBER_OVERHEAD_BYTES,
  type SealedClientBody,
  sealedWelcomeInner,
} from "./sealed_datagram.ts";

const CHALLENGE = Uint8Array.from({ length: 16 }, (_, i) => 0xc0 + i);
const EPOCH_KEY = Uint8Array.from({ length: 32 }, (_, i) => i);

function throws400(fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
    assert.equal(error.status, 400, error.message);
    return true;
  });
}

const CLIENT_BODIES: ClientBody[] = [
  { kind: "hello", lastSeq: 0 },
  { kind: "hello", lastSeq: 0xffff_ffff },
  { kind: "message", msgId: 7, text: "héllo 👋" },
  { kind: "heartbeat", lastSeq: 12 },
  { kind: "leave" },
  { kind: "resend", fromSeq: 3, toSeq: 9 },
];

Deno.test("client inner bodies are the plain kind and body without room name or token", () => {
  for (const body of CLIENT_BODIES) {
    const inner = encodeSealedClientBody(body);
    const plain = encodeClientDatagram({ roomName: "r", token: Uint8Array.of(1), body });
    assert.deepEqual(inner, plain.subarray(4)); // sizes, room "r", token 0x01
    assert.deepEqual(decodeSealedClientBody(inner), body);
  }
  const response: SealedClientBody = { kind: "pathResponse", challenge: CHALLENGE };
  const inner = encodeSealedClientBody(response);
  assert.deepEqual([...inner], [0x06, ...CHALLENGE]);
  assert.deepEqual(decodeSealedClientBody(inner), response);
});

Deno.test("client inner bodies: a MESSAGE fills a sealed datagram at most; bad ones are refused", () => {
  const largest = 4096 - MEMBER_OVERHEAD_BYTES - 5;
  const message = (n: number): ClientBody => ({ kind: "message", msgId: 1, text: "x".repeat(n) });
  assert.equal(encodeSealedClientBody(message(largest)).length, 4096 - MEMBER_OVERHEAD_BYTES);
  assert.throws(() => encodeSealedClientBody(message(largest + 1)), RangeError);
  assert.throws(() => encodeSealedClientBody(message(0)), RangeError);
  assert.throws(
    () => encodeSealedClientBody({ kind: "pathResponse", challenge: CHALLENGE.subarray(1) }),
    RangeError,
  );
  const bad = [
    [],
    [0x00],
    [0x07],
    [0x83, 0, 0, 0, 1], // a server kind
    [0x01, 0, 0, 0], // HELLO truncated
    [0x01, 0, 0, 0, 1, 0], // trailing byte
    [0x02, 0, 0, 0, 1], // empty MESSAGE
    [0x02, 0, 0, 0, 1, 0xff], // invalid UTF-8
    [0x04, 0],
    [0x05, 0, 0, 0, 1, 0, 0, 0],
    [0x06, ...CHALLENGE.subarray(1)],
    [0x06, ...CHALLENGE, 0],
  ];
  for (const bytes of bad) throws400(() => decodeSealedClientBody(Uint8Array.from(bytes)));
});

Deno.test("server inner: WELCOME carries the epoch and key after its kind byte", () => {
  const welcome: ServerBody & { kind: "welcome" } = {
    kind: "welcome",
    headSeq: 0x0a0b0c0d,
    room: "général",
    host: "ann",
    members: ["ann", "bo"],
  };
  const plain = encodeServerDatagram(welcome);
  const inner = sealedWelcomeInner(plain, 0x01020304, EPOCH_KEY);
  assert.deepEqual([...inner], [0x80, 1, 2, 3, 4, ...EPOCH_KEY, ...plain.subarray(1)]);
  assert.deepEqual(decodeSealedServerInner(inner), {
    kind: "welcome",
    epoch: 0x01020304,
    epochKey: EPOCH_KEY,
    welcome,
  });
  assert.throws(
    () => sealedWelcomeInner(encodeServerDatagram({ kind: "ack", msgId: 1, seq: 1 }), 1, EPOCH_KEY),
    RangeError,
  );
  assert.throws(() => sealedWelcomeInner(plain, 1, EPOCH_KEY.subarray(1)), RangeError);
  assert.throws(() => sealedWelcomeInner(plain, 2 ** 32, EPOCH_KEY), RangeError);
});

Deno.test("server inner: KEY and PATH_CHALLENGE layouts round-trip", () => {
  const key = encodeKeyInner(7, EPOCH_KEY);
  assert.deepEqual([...key], [0x87, 0, 0, 0, 7, ...EPOCH_KEY]);
  assert.deepEqual(decodeSealedServerInner(key), { kind: "key", epoch: 7, epochKey: EPOCH_KEY });
  const challenge = encodePathChallengeInner(CHALLENGE);
  assert.deepEqual([...challenge], [0x89, ...CHALLENGE]);
  assert.deepEqual(decodeSealedServerInner(challenge), {
    kind: "pathChallenge",
    challenge: CHALLENGE,
  });
  assert.throws(() => encodeKeyInner(-1, EPOCH_KEY), RangeError);
  assert.throws(() => encodePathChallengeInner(EPOCH_KEY), RangeError);
});

Deno.test("server inner: the plain control kinds travel as they are; EVENT and plain WELCOME do not", () => {
  const bodies: ServerBody[] = [
    { kind: "ack", msgId: 1, seq: 2 },
    { kind: "closed", reason: 1, text: "bye" },
    { kind: "error", code: 401, text: "who?" },
    { kind: "refused", msgId: 3, code: 410, text: "gone" },
    { kind: "heartbeatAck", headSeq: 99 },
  ];
  for (const body of bodies) {
    assert.deepEqual(decodeSealedServerInner(encodeServerDatagram(body)), { kind: "body", body });
  }
  const event = encodeServerDatagram({
    kind: "event",
    seq: 1,
    timeMs: 0,
    type: 1,
    name: "a",
    text: "b",
  });
  const welcome = encodeServerDatagram({
    kind: "welcome",
    headSeq: 1,
    room: "r",
    host: "h",
    members: [],
  });
  const bad = [
    event,
    welcome,
    new Uint8Array(0),
    Uint8Array.of(0x01),
    Uint8Array.of(0x8a),
    encodeKeyInner(1, EPOCH_KEY).subarray(0, 36),
    Uint8Array.of(...encodeKeyInner(1, EPOCH_KEY), 0),
    encodePathChallengeInner(CHALLENGE).subarray(0, 16),
    Uint8Array.of(...encodePathChallengeInner(CHALLENGE), 0),
    sealedWelcomeInner(welcome, 1, EPOCH_KEY).subarray(0, 30), // key cut short
    Uint8Array.of(
      ...sealedWelcomeInner(welcome, 1, EPOCH_KEY).subarray(0, 37),
      ...encodeUtf8("{}"),
    ),
    Uint8Array.of(0x82, 0, 0, 0, 1), // ACK truncated
  ];
  for (const bytes of bad) throws400(() => decodeSealedServerInner(bytes));
});
