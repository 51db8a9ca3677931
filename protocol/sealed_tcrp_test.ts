/**
 * The sealed TCRP codecs: prologue, padding, the sealed request, the sealed
 * answer (strictly validated) and the plain state-2 refusal.
 */
import assert from "node:assert/strict";
import { encodeUtf8 } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
import {
  decodeEarlyRefusal,
  decodeSealedAnswer,
  decodeSealedRequest,
  encodeEarlyRefusal,
  encodeSealedAnswer,
  encodeSealedRequest,
  padSealedRequest,
  type SealedAnswer,
  sealedHelloHeader,
  sealedPrologue,
} from "./sealed_tcrp.ts";
import {
  decodeTcrpRequest,
  encodeTcrpRequest,
  type JoinAccepted,
  Operation,
  type RoomRequest,
  State,
  TCRP_HEADER_BYTES,
  type TcrpRequest,
} from "./tcrp.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function throws400(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
    assert.equal(error.status, 400);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("sealed prologue: label, a zero byte, the state-0 header, the room name", () => {
  const room = encodeUtf8("部屋");
  const header = sealedHelloHeader(Operation.SEALED_JOIN_ROOM, room);
  assert.equal(header.length, TCRP_HEADER_BYTES);
  assert.deepEqual([...header.subarray(0, 3)], [room.length, 0x12, 0]);
  assert.equal(header[31], 32, "the state-0 payload is Noise message 1, 32 bytes");
  const prologue = sealedPrologue(header, room);
  assert.equal(text(prologue.subarray(0, 14)), "chat sealed v1");
  assert.equal(prologue[14], 0);
  assert.deepEqual(prologue.subarray(15, 47), header);
  assert.deepEqual(prologue.subarray(47), room);
  // The operation and the room are both in it.
  const create = sealedPrologue(sealedHelloHeader(Operation.SEALED_CREATE_ROOM, room), room);
  assert.notDeepEqual(create, prologue);
  const other = encodeUtf8("部层");
  assert.notDeepEqual(
    sealedPrologue(sealedHelloHeader(Operation.SEALED_JOIN_ROOM, other), other),
    prologue,
  );
  assert.throws(() => sealedPrologue(header.subarray(1), room), RangeError);
});

Deno.test("sealed request: padded with spaces to 256-byte steps, so a password's length does not show", () => {
  assert.equal(padSealedRequest(new Uint8Array(0)).length, 256);
  assert.equal(padSealedRequest(new Uint8Array(256)).length, 256);
  assert.equal(padSealedRequest(new Uint8Array(257)).length, 512);
  const sizes = new Set<number>();
  for (let n = 0; n < 150; n++) {
    const sealed = encodeSealedRequest({
      operation: Operation.JOIN_ROOM,
      roomName: "r",
      username: "ann",
      password: "x".repeat(n),
      capacity: null,
      protocol: 2,
    });
    sizes.add(sealed.length);
  }
  assert.deepEqual([...sizes], [256], "passwords of 0-149 characters all seal the same size");
  const padded = padSealedRequest(encodeUtf8('{"a":1}'));
  assert.equal(text(padded), '{"a":1}' + " ".repeat(249));
});

Deno.test("sealed request: decodes as the plain decoder would, for every operation", () => {
  const cases: [TcrpRequest, Uint8Array][] = [
    [{
      operation: Operation.CREATE_ROOM,
      roomName: "général",
      username: "Zoë",
      password: "p@ß 🔑",
      capacity: 12,
      protocol: 2,
    }, encodeUtf8("général")],
    [{
      operation: Operation.JOIN_ROOM,
      roomName: "r",
      username: "bob",
      password: "x".repeat(1024),
      capacity: null,
      protocol: 2,
    }, encodeUtf8("r")],
    [{ operation: Operation.LIST_ROOMS }, new Uint8Array(0)],
    [{ operation: Operation.LIST_ROOMS, cursor: "lobby", limit: 50 }, new Uint8Array(0)],
  ];
  for (const [request, roomName] of cases) {
    const sealedOp = (request.operation + 0x10) as 0x11 | 0x12 | 0x13;
    const plaintext = encodeSealedRequest(request);
    assert.equal(plaintext.length % 256, 0);
    assert.deepEqual(decodeSealedRequest(sealedOp, roomName, plaintext), request);
  }
});

Deno.test("sealed request: unpadded, empty or malformed is 400", () => {
  const room = encodeUtf8("r");
  const join = Operation.SEALED_JOIN_ROOM;
  throws400(() => decodeSealedRequest(join, room, new Uint8Array(0)), /256-byte steps/);
  throws400(() => decodeSealedRequest(join, room, encodeUtf8('{"username":"u"}')), /256-byte/);
  throws400(() => decodeSealedRequest(join, room, padSealedRequest(encodeUtf8("[1]"))));
  throws400(() => decodeSealedRequest(join, room, padSealedRequest(encodeUtf8('{"x":1}'))));
  throws400(() => decodeSealedRequest(join, room, new Uint8Array(256)), /JSON/);
  throws400(() =>
    decodeSealedRequest(
      Operation.SEALED_LIST_ROOMS,
      room,
      padSealedRequest(encodeUtf8("{}")),
    ), /empty room name/);
});

Deno.test("sealed request: a JOIN may carry a resume ticket, as lowercase hex; it round-trips", () => {
  const resume = { sessionId: new Uint8Array(8).fill(0xa5), proof: new Uint8Array(32).fill(0x3c) };
  const request: TcrpRequest = {
    operation: Operation.JOIN_ROOM,
    roomName: "r",
    username: "bob",
    password: null,
    capacity: null,
    protocol: 2,
    resume,
  };
  const plaintext = encodeSealedRequest(request);
  assert.equal(plaintext.length, 256);
  assert.deepEqual(JSON.parse(text(plaintext)).resume, {
    session: "a5".repeat(8),
    proof: "3c".repeat(32),
  });
  const join = Operation.SEALED_JOIN_ROOM;
  assert.deepEqual(decodeSealedRequest(join, encodeUtf8("r"), plaintext), request);
  // No ticket, no field.
  const { resume: _, ...plain } = request;
  assert.equal(JSON.parse(text(encodeSealedRequest(plain))).resume, undefined);
  assert.equal(
    (decodeSealedRequest(join, encodeUtf8("r"), encodeSealedRequest(plain)) as RoomRequest).resume,
    undefined,
  );
  // Only a JOIN carries one.
  assert.throws(
    () => encodeSealedRequest({ ...request, operation: Operation.CREATE_ROOM }),
    RangeError,
  );
});

Deno.test("sealed request: a resume ticket on CREATE or LIST, or of the wrong form, is 400", () => {
  const session = "a5".repeat(8);
  const proof = "3c".repeat(32);
  const room = encodeUtf8("r");
  const seal = (body: unknown) => padSealedRequest(encodeUtf8(JSON.stringify(body)));
  const join = (resume: unknown) =>
    decodeSealedRequest(Operation.SEALED_JOIN_ROOM, room, seal({ username: "bob", resume }));
  throws400(
    () =>
      decodeSealedRequest(
        Operation.SEALED_CREATE_ROOM,
        room,
        seal({ username: "bob", resume: { session, proof } }),
      ),
    /only for JOIN_ROOM/,
  );
  throws400(
    () =>
      decodeSealedRequest(
        Operation.SEALED_LIST_ROOMS,
        new Uint8Array(0),
        seal({ resume: { session, proof } }),
      ),
    /only for JOIN_ROOM/,
  );
  throws400(() => join({ session: session.slice(2), proof }), /16 lowercase hex/);
  throws400(() => join({ session, proof: proof + "00" }), /64 lowercase hex/);
  throws400(() => join({ session: session.toUpperCase(), proof }), /16 lowercase hex/);
  throws400(() => join({ session, proof: "x" + proof.slice(1) }), /64 lowercase hex/);
  throws400(() => join({ session }), /64 lowercase hex/);
  throws400(() => join(null), /must be an object/);
  throws400(() => join(`${session}:${proof}`), /must be an object/);
  throws400(() => join({ session, proof, more: true }), /unknown field/);
  assert.deepEqual(
    (join({ session, proof }) as RoomRequest).resume?.sessionId,
    new Uint8Array(8).fill(0xa5),
  );
});

Deno.test("plain request: a resume field is not read (plain sessions have no keys to prove)", () => {
  const payload = encodeUtf8(
    JSON.stringify({
      username: "bob",
      resume: { session: "a5".repeat(8), proof: "3c".repeat(32) },
    }),
  );
  const request = decodeTcrpRequest({
    operation: Operation.JOIN_ROOM,
    state: State.REQUEST,
    roomName: encodeUtf8("r"),
    payload,
  });
  assert.equal("resume" in request, false);
  const frame = encodeTcrpRequest({
    operation: Operation.JOIN_ROOM,
    roomName: "r",
    username: "bob",
    password: null,
    capacity: null,
    resume: { sessionId: new Uint8Array(8), proof: new Uint8Array(32) },
  });
  assert.equal(new TextDecoder().decode(frame).includes("resume"), false, "never written plain");
});

const ACCEPTED: JoinAccepted = {
  status: 200,
  udpPort: 9002,
  maxDatagramBytes: 4096,
  heartbeatSeconds: 10,
  idleTimeoutSeconds: 300,
  protocol: 2,
  messageRate: 20,
  messageBurst: 40,
  messageWindow: 32,
  messageWindowBytes: 65536,
  gapTimeoutSeconds: 5,
};

const SESSION = {
  sessionId: Uint8Array.from({ length: 8 }, (_, i) => i),
  clientKey: new Uint8Array(32).fill(0xab),
  serverKey: new Uint8Array(32).fill(0x01),
  signingKey: new Uint8Array(32).fill(0xfe),
  resetToken: new Uint8Array(16).fill(0x7f),
  passwordProtected: true,
  host: "ann",
};

Deno.test("sealed answer: a success round-trips; its JSON has status and protocol first, sealed 1, hex keys and no token", () => {
  const answer: SealedAnswer = { kind: "admitted", accepted: ACCEPTED, session: SESSION };
  const bytes = encodeSealedAnswer(answer);
  const json = JSON.parse(text(bytes));
  assert.deepEqual(Object.keys(json).slice(0, 2), ["status", "protocol"]);
  assert.equal(json.sealed, 1);
  assert.equal(json.sessionId, "0001020304050607");
  assert.equal(json.clientKey, "ab".repeat(32));
  assert.equal(json.resetToken, "7f".repeat(16));
  assert.equal(json.token, undefined);
  assert.deepEqual(decodeSealedAnswer(Operation.SEALED_JOIN_ROOM, bytes), answer);
  assert.deepEqual(decodeSealedAnswer(Operation.SEALED_CREATE_ROOM, bytes), answer);
  assert.throws(
    () =>
      encodeSealedAnswer({
        kind: "admitted",
        accepted: ACCEPTED,
        session: { ...SESSION, clientKey: new Uint8Array(31) },
      }),
    RangeError,
  );
});

Deno.test("sealed answer: every field of a success is checked", () => {
  const good = JSON.parse(text(encodeSealedAnswer({
    kind: "admitted",
    accepted: ACCEPTED,
    session: SESSION,
  })));
  const decode = (changes: Record<string, unknown>) =>
    decodeSealedAnswer(
      Operation.SEALED_JOIN_ROOM,
      encodeUtf8(JSON.stringify({ ...good, ...changes })),
    );
  assert.equal(decode({}).kind, "admitted");
  const bad: Record<string, unknown>[] = [
    { sealed: 2 },
    { sealed: true },
    { sealed: undefined },
    { sessionId: "000102030405060" },
    { sessionId: "000102030405060708" },
    { sessionId: "00010203040506zz" },
    { clientKey: "AB".repeat(32) },
    { serverKey: 7 },
    { signingKey: null },
    { resetToken: "7f".repeat(15) },
    { passwordProtected: "yes" },
    { passwordProtected: undefined },
    { host: 3 },
    { host: "" },
    { host: "a\u0000b" },
    { udpPort: 0 },
    { heartbeatSeconds: 0 },
  ];
  for (const changes of bad) throws400(() => decode(changes), undefined);
});

Deno.test("sealed answer: a refusal and a room list; a sealed list row must say sealed", () => {
  const refusal: SealedAnswer = { kind: "refused", refusal: { status: 401, error: "wrong" } };
  const bytes = encodeSealedAnswer(refusal);
  assert.equal(text(bytes), '{"status":401,"protocol":2,"error":"wrong"}');
  assert.deepEqual(decodeSealedAnswer(Operation.SEALED_JOIN_ROOM, bytes), refusal);
  const list: SealedAnswer = {
    kind: "rooms",
    list: {
      status: 200,
      rooms: [
        { name: "lobby", members: 2, capacity: null, passwordProtected: false, sealed: false },
        { name: "vault", members: 1, capacity: 5, passwordProtected: true, sealed: true },
      ],
      next: "vault",
    },
  };
  assert.deepEqual(decodeSealedAnswer(Operation.SEALED_LIST_ROOMS, encodeSealedAnswer(list)), list);
  const unmarked = '{"status":200,"rooms":[{"name":"r","members":1,"passwordProtected":false}]}';
  throws400(
    () => decodeSealedAnswer(Operation.SEALED_LIST_ROOMS, encodeUtf8(unmarked)),
    /"sealed"/,
  );
  throws400(() => decodeSealedAnswer(Operation.SEALED_JOIN_ROOM, encodeUtf8('{"status":418}')));
  throws400(() => decodeSealedAnswer(Operation.SEALED_JOIN_ROOM, encodeUtf8("not json")));
});

Deno.test("early refusal: only what is decided before any key work", () => {
  for (const status of [400, 413, 429, 503] as const) {
    const refusal = { status, error: "later" };
    const bytes = encodeEarlyRefusal(refusal);
    assert.equal(text(bytes), `{"status":${status},"protocol":2,"error":"later"}`);
    assert.deepEqual(decodeEarlyRefusal(bytes), refusal);
  }
  assert.throws(() => encodeEarlyRefusal({ status: 401, error: "x" }), RangeError);
  for (const status of [200, 401, 403, 404, 409]) {
    throws400(() => decodeEarlyRefusal(encodeUtf8(`{"status":${status},"error":"x"}`)));
  }
  throws400(() => decodeEarlyRefusal(encodeUtf8('{"status":429}')));
});
