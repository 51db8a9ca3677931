import assert from "node:assert/strict";
import { encodeUtf8 } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
import {
  decodeTcrpHeader,
  decodeTcrpRequest,
  decodeTcrpResponse,
  encodeTcrpFrame,
  encodeTcrpRequest,
  encodeTcrpResponse,
  encodeTcrpToken,
  Operation,
  State,
  TCRP_HEADER_BYTES,
  type TcrpFrame,
  TcrpFrameParser,
  type TcrpRequest,
  type TcrpResponse,
} from "./tcrp.ts";

const MAX = 64 * 1024;
const ROOM_255 = "é".repeat(127) + "x"; // 255 bytes of UTF-8
const OPS = [Operation.CREATE_ROOM, Operation.JOIN_ROOM, Operation.LIST_ROOMS];
const STATES = [State.REQUEST, State.RESPONSE, State.COMPLETE];

function throwsStatus(fn: () => unknown, status: 400 | 413): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
    assert.equal(error.status, status, error.message);
    return true;
  });
}

type Bytes = string | Uint8Array;
const bytesOf = (v: Bytes) => typeof v === "string" ? encodeUtf8(v) : v;

function frame(operation: Operation, state: State, name: Bytes, payload: Bytes): TcrpFrame {
  return { operation, state, roomName: bytesOf(name), payload: bytesOf(payload) };
}

/** Parses `bytes` as one whole frame, checking nothing is left over. */
function parseOne(bytes: Uint8Array): TcrpFrame {
  const parser = new TcrpFrameParser({ maxPayloadBytes: MAX });
  const frames = parser.push(bytes);
  assert.equal(frames.length, 1);
  assert.equal(parser.pendingBytes, 0);
  return frames[0]!;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

/** A valid LIST_ROOMS request header with the byte at `index` set to `value`. */
function header(index = 0, value = 0): Uint8Array {
  const bytes = encodeTcrpFrame(frame(Operation.LIST_ROOMS, State.REQUEST, "", ""));
  bytes[index] = value;
  return bytes;
}

Deno.test("encodeTcrpFrame lays out the 32-byte header, room name, then payload", () => {
  const bytes = encodeTcrpFrame(frame(Operation.JOIN_ROOM, State.COMPLETE, "café", "{}"));
  assert.equal(bytes.length, 32 + 5 + 2);
  assert.deepEqual([...bytes.subarray(0, 3)], [5, 2, 2]);
  assert.deepEqual([...bytes.subarray(3, 31)], new Array(28).fill(0));
  assert.equal(bytes[31], 2);
  assert.deepEqual(bytes.subarray(32), encodeUtf8("café{}"));
  assert.deepEqual(decodeTcrpHeader(bytes), {
    roomNameSize: 5,
    operation: Operation.JOIN_ROOM,
    state: State.COMPLETE,
    payloadSize: 2,
  });
});

Deno.test("every operation and state round-trips through the parser", () => {
  for (const operation of OPS) {
    for (const state of STATES) {
      for (const [name, payload] of [["", ""], [ROOM_255, '{"username":"Zoë 👋"}']]) {
        const f = frame(operation, state, name!, payload!);
        assert.deepEqual(parseOne(encodeTcrpFrame(f)), f);
      }
    }
  }
});

Deno.test("decodeTcrpHeader: the payload size field", () => {
  const view = (size: bigint) => {
    const bytes = header();
    new DataView(bytes.buffer).setBigUint64(24, size);
    return bytes;
  };
  assert.equal(decodeTcrpHeader(view(2n ** 53n - 1n)).payloadSize, Number.MAX_SAFE_INTEGER);
  throwsStatus(() => decodeTcrpHeader(view(2n ** 53n)), 413);
  throwsStatus(() => decodeTcrpHeader(view(2n ** 64n - 1n)), 413);
  for (let i = 3; i <= 23; i++) throwsStatus(() => decodeTcrpHeader(header(i, 1)), 413);
  throwsStatus(() => decodeTcrpHeader(header().subarray(0, 31)), 400);
});

Deno.test("unknown operations and states are 400, in the parser too", () => {
  const cases = [[1, 0], [1, 4], [1, 0x10], [1, 0x14], [1, 0x21], [1, 255], [2, 3], [2, 255]];
  for (const [i, v] of cases as [number, number][]) {
    throwsStatus(() => decodeTcrpHeader(header(i, v)), 400);
    throwsStatus(() => new TcrpFrameParser({ maxPayloadBytes: MAX }).push(header(i, v)), 400);
  }
  // A sealed operation has states 0-4; a plain one stops at 2.
  for (const op of [0x11, 0x12, 0x13]) {
    const bytes = header(1, op);
    bytes[2] = 5;
    throwsStatus(() => decodeTcrpHeader(bytes), 400);
    for (let state = 0; state <= 4; state++) {
      bytes[2] = state;
      assert.deepEqual(decodeTcrpHeader(bytes), {
        roomNameSize: 0,
        operation: op,
        state,
        payloadSize: 0,
      });
    }
  }
  const plain = header(2, 3);
  plain[1] = 2;
  throwsStatus(() => decodeTcrpHeader(plain), 400);
});

Deno.test("a sealed operation's frame is not a plain request", () => {
  const sealed = frame(Operation.SEALED_JOIN_ROOM, State.REQUEST, "r", '{"username":"u"}');
  throwsStatus(() => decodeTcrpRequest(sealed), 400);
});

Deno.test('a room list row keeps "sealed" when given, and it must be a boolean', () => {
  const list = (row: string) =>
    decodeTcrpResponse(
      frame(Operation.LIST_ROOMS, State.RESPONSE, "", `{"status":200,"rooms":[${row}]}`),
    );
  const row = '{"name":"r","members":1,"passwordProtected":false';
  assert.deepEqual(list(`${row},"sealed":true}`), {
    status: 200,
    rooms: [{ name: "r", members: 1, capacity: null, passwordProtected: false, sealed: true }],
  });
  throwsStatus(() => list(`${row},"sealed":1}`), 400);
});

// What a server writes after a successful JOIN (response, token), then a LIST_ROOMS request.
const STREAM_FRAMES: TcrpFrame[] = [
  frame(Operation.JOIN_ROOM, State.RESPONSE, "Ünïcode 部屋", '{"status":200,"udpPort":9002}'),
  frame(Operation.JOIN_ROOM, State.COMPLETE, "Ünïcode 部屋", tokenOf(7)),
  frame(Operation.LIST_ROOMS, State.REQUEST, "", ""),
];
const STREAM = concat(...STREAM_FRAMES.map(encodeTcrpFrame));

function tokenOf(seed: number): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => (i * 31 + seed) & 0xff);
}

Deno.test("the parser reassembles frames split at every byte boundary", () => {
  for (let split = 0; split <= STREAM.length; split++) {
    const parser = new TcrpFrameParser({ maxPayloadBytes: MAX });
    const frames = [...parser.push(STREAM.slice(0, split)), ...parser.push(STREAM.slice(split))];
    assert.deepEqual(frames, STREAM_FRAMES, `split at ${split}`);
    assert.equal(parser.pendingBytes, 0);
  }
});

Deno.test("the parser takes one byte at a time, or every frame in one chunk", () => {
  const parser = new TcrpFrameParser({ maxPayloadBytes: MAX });
  const frames: TcrpFrame[] = [];
  let end = 0;
  const ends = STREAM_FRAMES.map((f) => (end += encodeTcrpFrame(f).length));
  for (let i = 0; i < STREAM.length; i++) {
    frames.push(...parser.push(STREAM.subarray(i, i + 1)));
    // Each frame comes out exactly when its last byte arrives.
    assert.equal(frames.length, ends.filter((end) => end <= i + 1).length, `after byte ${i}`);
  }
  assert.deepEqual(frames, STREAM_FRAMES);
  assert.equal(parser.pendingBytes, 0);
  assert.deepEqual(new TcrpFrameParser({ maxPayloadBytes: MAX }).push(STREAM), STREAM_FRAMES);
});

Deno.test("the parser refuses an oversized payload (413) from the header alone", () => {
  const over = encodeTcrpFrame(frame(Operation.CREATE_ROOM, State.REQUEST, "r", "x".repeat(11)));
  const parser = new TcrpFrameParser({ maxPayloadBytes: 10 });
  for (let i = 0; i < TCRP_HEADER_BYTES - 1; i++) {
    assert.deepEqual(parser.push(over.slice(i, i + 1)), []);
  }
  throwsStatus(() => parser.push(over.slice(31, 32)), 413);
  const atLimit = encodeTcrpFrame(frame(Operation.CREATE_ROOM, State.REQUEST, "r", "x".repeat(10)));
  assert.equal(new TcrpFrameParser({ maxPayloadBytes: 10 }).push(atLimit).length, 1);
  throwsStatus(() => new TcrpFrameParser({ maxPayloadBytes: MAX }).push(header(3, 1)), 413);
  throwsStatus(() => new TcrpFrameParser({ maxPayloadBytes: MAX }).push(header(23, 1)), 413);
});

Deno.test("a bad header after a whole frame in the same chunk: the frame first, the error next", () => {
  // A server reads one request and ignores what follows, however the bytes were split.
  const request = encodeTcrpFrame(frame(Operation.LIST_ROOMS, State.REQUEST, "", ""));
  for (const [bad, status] of [[header(1, 9), 400], [header(3, 1), 413]] as const) {
    const parser = new TcrpFrameParser({ maxPayloadBytes: MAX });
    assert.deepEqual(parser.push(concat(request, bad)), [frame(3, 0, "", "")]);
    throwsStatus(() => parser.push(new Uint8Array(0)), status);
  }
  const small = new TcrpFrameParser({ maxPayloadBytes: 1 });
  const big = encodeTcrpFrame(frame(Operation.JOIN_ROOM, State.REQUEST, "r", "xx"));
  assert.deepEqual(small.push(concat(request, big)), [frame(3, 0, "", "")]);
  throwsStatus(() => small.push(new Uint8Array(0)), 413);
});

const requestCases: TcrpRequest[] = [
  { operation: 1, roomName: "général", username: "Zoë", password: "p@ß 🔑", capacity: 12 },
  { operation: 1, roomName: ROOM_255, username: "😀".repeat(32), password: null, capacity: 65535 },
  { operation: 1, roomName: "r", username: "a", password: null, capacity: 1, protocol: 2 },
  { operation: 2, roomName: "部屋", username: "bob", password: "x".repeat(1024), capacity: null },
  { operation: 2, roomName: "r", username: "bob", password: null, capacity: null, protocol: 1 },
  { operation: 2, roomName: "r", username: "bob", password: null, capacity: null, protocol: 7 },
  { operation: 3 },
  { operation: 3, cursor: "lobby" },
  { operation: 3, limit: 200 },
  { operation: 3, cursor: "", limit: 1 },
];

Deno.test("requests round-trip: encodeTcrpRequest -> parser -> decodeTcrpRequest", () => {
  for (const request of requestCases) {
    // An absent protocol decodes as revision 1.
    const expected = request.operation === 3 ? request : { protocol: 1, ...request };
    assert.deepEqual(decodeTcrpRequest(parseOne(encodeTcrpRequest(request))), expected);
  }
});

Deno.test("the request's protocol: absent or null is 1, else a whole number from 1 up or 400", () => {
  const decode = (json: string) => decodeTcrpRequest(frame(2, State.REQUEST, "r", json));
  const protocolOf = (json: string) => (decode(json) as { protocol?: number }).protocol;
  assert.equal(protocolOf('{"username":"u"}'), 1);
  assert.equal(protocolOf('{"username":"u","protocol":null}'), 1);
  assert.equal(protocolOf('{"username":"u","protocol":2}'), 2);
  assert.equal(protocolOf('{"username":"u","protocol":2.0}'), 2);
  assert.equal(protocolOf('{"username":"u","protocol":9007199254740991}'), 2 ** 53 - 1);
  for (const bad of ["0", "-1", "1.5", '"2"', "true", "[2]", "{}", "9007199254740992", "1e400"]) {
    throwsStatus(() => decode(`{"username":"u","protocol":${bad}}`), 400);
  }
});

Deno.test("request payload decisions: empty password is none, null means absent, extras ignored", () => {
  const decode = (op: Operation, json: string) =>
    decodeTcrpRequest(frame(op, State.REQUEST, "r", json));
  const base = { roomName: "r", username: "u", password: null, capacity: null, protocol: 1 };
  assert.deepEqual(decode(1, '{"username":"u","password":""}'), { operation: 1, ...base });
  assert.deepEqual(decode(2, '{"username":"u","password":null,"capacity":null}'), {
    operation: 2,
    ...base,
  });
  assert.deepEqual(decode(2, '{"username":"u","colour":"red","v":[1]}'), { operation: 2, ...base });
  assert.equal(decode(2, `{"username":"u","password":"${"😀".repeat(1024)}"}`).operation, 2);
});

Deno.test("malformed requests are 400", () => {
  const bad = (op: Operation, state: State, name: Bytes, payload: Bytes) =>
    throwsStatus(() => decodeTcrpRequest(frame(op, state, name, payload)), 400);
  const payloads: Bytes[] = ["", "{", "[]", "null", '"username"', "42", "{}"];
  payloads.push(Uint8Array.of(0x7b, 0xff, 0x7d)); // invalid UTF-8
  for (const username of ["5", "null", "true", '["u"]', '{"name":"u"}']) {
    payloads.push(`{"username":${username}}`);
  }
  for (const password of ["5", "true", "{}", `"${"x".repeat(1025)}"`, `"${"😀".repeat(1025)}"`]) {
    payloads.push(`{"username":"u","password":${password}}`);
  }
  for (const op of [Operation.CREATE_ROOM, Operation.JOIN_ROOM]) {
    for (const payload of payloads) bad(op, State.REQUEST, "r", payload);
    bad(op, State.REQUEST, Uint8Array.of(0xc3, 0x28), '{"username":"u"}'); // invalid UTF-8 name
  }
  for (const capacity of ["0", "1.5", "65536", "-1", '"5"', "true", "[5]"]) {
    bad(Operation.CREATE_ROOM, State.REQUEST, "r", `{"username":"u","capacity":${capacity}}`);
  }
  bad(Operation.JOIN_ROOM, State.REQUEST, "r", '{"username":"u","capacity":5}');
  bad(Operation.LIST_ROOMS, State.REQUEST, "r", "");
  bad(Operation.LIST_ROOMS, State.REQUEST, "r", "{}");
  for (const page of ["[]", "{", "null", '{"cursor":5}', '{"cursor":["a"]}', '{"limit":0}']) {
    bad(Operation.LIST_ROOMS, State.REQUEST, "", page);
  }
  for (const limit of ["201", "1.5", "-1", '"5"', "true", "1e400"]) {
    bad(Operation.LIST_ROOMS, State.REQUEST, "", `{"limit":${limit}}`);
  }
  for (const op of OPS) {
    bad(op, State.RESPONSE, "", "");
    bad(op, State.COMPLETE, "r", '{"username":"u"}');
  }
});

const accepted = (udpPort: number, heartbeatSeconds: number, idleTimeoutSeconds: number) =>
  ({ status: 200, udpPort, maxDatagramBytes: 4096, heartbeatSeconds, idleTimeoutSeconds }) as const;
const REVISION_2 = {
  protocol: 2,
  messageRate: 20,
  messageBurst: 40,
  messageWindow: 32,
  messageWindowBytes: 65536,
  gapTimeoutSeconds: 5,
} as const;

type ResponseCase = [Operation, string, TcrpResponse];
const responseCases: ResponseCase[] = [
  [Operation.CREATE_ROOM, "général", accepted(65535, 10, 300)],
  [Operation.JOIN_ROOM, ROOM_255, accepted(9002, 1, 0)],
  [Operation.JOIN_ROOM, "r", { ...accepted(9002, 10, 300), ...REVISION_2 }],
  [Operation.CREATE_ROOM, "r", { ...accepted(9002, 10, 300), ...REVISION_2, messageRate: 0 }],
  [Operation.LIST_ROOMS, "", { status: 200, rooms: [] }],
  [Operation.LIST_ROOMS, "", { status: 200, rooms: [], next: "lobby" }],
  [Operation.LIST_ROOMS, "", {
    status: 200,
    rooms: [
      { name: "部屋 🏠", members: 2, capacity: null, passwordProtected: false },
      { name: "staff", members: 65535, capacity: 65535, passwordProtected: true },
    ],
  }],
  ...([400, 401, 403, 404, 409, 413, 429, 503] as const).map((status): ResponseCase => [
    Operation.JOIN_ROOM,
    "r",
    { status, error: `refusé ${status} ✗` },
  ]),
];

Deno.test("responses and tokens round-trip, echoing the operation and room name", () => {
  for (const [operation, name, response] of responseCases) {
    const roomName = encodeUtf8(name);
    const parsed = parseOne(encodeTcrpResponse(operation, roomName, response));
    assert.deepEqual([parsed.operation, parsed.state, parsed.roomName], [operation, 1, roomName]);
    // Every answer says protocol 2; a success answer keeps it.
    const json = JSON.parse(new TextDecoder().decode(parsed.payload));
    assert.equal(json.protocol, 2);
    const expected = "udpPort" in response ? { ...response, protocol: 2 } : response;
    assert.deepEqual(decodeTcrpResponse(parsed), expected);
  }
  for (const operation of [Operation.CREATE_ROOM, Operation.JOIN_ROOM]) {
    const token = tokenOf(operation);
    const roomName = encodeUtf8(ROOM_255);
    const parsed = parseOne(encodeTcrpToken(operation, roomName, token));
    assert.deepEqual(parsed, { operation, state: State.COMPLETE, roomName, payload: token });
  }
});

Deno.test("malformed responses are 400", () => {
  const ok = JSON.stringify(accepted(9002, 10, 300));
  const cases: [Operation, State, string][] = [
    [2, 0, ok],
    [2, 2, ok],
    [2, 1, ""],
    [2, 1, "[200]"],
    [2, 1, '{"udpPort":9002}'],
    [2, 1, ok.replace("200", '"200"')],
    [2, 1, '{"status":404}'],
    [2, 1, '{"status":404,"error":7}'],
    [3, 1, '{"status":200}'],
    [3, 1, '{"status":200,"rooms":{}}'],
    [1, 1, ok.replace("9002", '"9002"')],
    [2, 1, ok.replace(',"idleTimeoutSeconds":300', "")],
  ];
  for (const [operation, state, json] of cases) {
    throwsStatus(() => decodeTcrpResponse(frame(operation, state, "", json)), 400);
  }
  throwsStatus(() => decodeTcrpResponse(frame(2, 1, "", Uint8Array.of(0xff))), 400);
});

Deno.test("responses with a field out of its type or range are 400, not passed on", () => {
  const ok = accepted(9002, 10, 300);
  const room = { name: "r", members: 1, capacity: null, passwordProtected: false };
  const bad: [Operation, unknown][] = [
    ...[201, 500, 999, 0, 400.5].map((status): [Operation, unknown] => [2, { status, error: "x" }]),
    ...[{ udpPort: 0 }, { udpPort: 65536 }, { udpPort: 1.5 }, { maxDatagramBytes: 0 }].map(
      (patch): [Operation, unknown] => [1, { ...ok, ...patch }],
    ),
    ...[{ heartbeatSeconds: 0 }, { heartbeatSeconds: -1 }, { idleTimeoutSeconds: -1 }].map(
      (patch): [Operation, unknown] => [2, { ...ok, ...patch }],
    ),
    ...[5, null, [room], {}, { ...room, name: 7 }, { ...room, name: "" }, { ...room, name: "a\n" }]
      .map((entry): [Operation, unknown] => [3, { status: 200, rooms: [entry] }]),
    [3, { status: 200, rooms: [{ ...room, name: "x".repeat(256) }] }],
    [3, { status: 200, rooms: [{ ...room, members: -1 }] }],
    [3, { status: 200, rooms: [{ ...room, members: 1.5 }] }],
    [3, { status: 200, rooms: [{ ...room, capacity: 0 }] }],
    [3, { status: 200, rooms: [{ ...room, capacity: "5" }] }],
    [3, { status: 200, rooms: [{ ...room, passwordProtected: "no" }] }],
  ];
  for (const [operation, body] of bad) {
    const f = frame(operation, State.RESPONSE, "", JSON.stringify(body));
    throwsStatus(() => decodeTcrpResponse(f), 400);
  }
  // Unknown fields are left out; JSON's -0 is 0; a missing capacity is none.
  const decode = (operation: Operation, json: string) =>
    decodeTcrpResponse(frame(operation, State.RESPONSE, "", json));
  assert.deepStrictEqual(decode(2, '{"status":404,"error":"no","retry":1}'), {
    status: 404,
    error: "no",
  });
  assert.deepStrictEqual(
    decode(1, JSON.stringify({ ...ok, idleTimeoutSeconds: 0, v: 2 }).replace(":0,", ":-0,")),
    { ...ok, idleTimeoutSeconds: 0 },
  );
  assert.deepStrictEqual(
    decode(3, '{"status":200,"rooms":[{"name":"r","members":0,"passwordProtected":true}]}'),
    {
      status: 200,
      rooms: [{ name: "r", members: 0, capacity: null, passwordProtected: true }],
    },
  );
});

Deno.test("a revision-1 success answer decodes without the revision-2 fields", () => {
  const ok = accepted(9002, 10, 300);
  const decoded = decodeTcrpResponse(frame(2, State.RESPONSE, "", JSON.stringify(ok)));
  assert.deepStrictEqual(decoded, ok);
  const nulls = Object.fromEntries(Object.keys(REVISION_2).map((key) => [key, null]));
  assert.deepStrictEqual(
    decodeTcrpResponse(frame(2, State.RESPONSE, "", JSON.stringify({ ...ok, ...nulls }))),
    ok,
  );
  const full = { ...ok, ...REVISION_2 };
  const bad = [
    { protocol: 0 },
    { protocol: 1.5 },
    { protocol: "2" },
    { messageRate: -1 },
    { messageRate: 0.5 },
    { messageBurst: -1 },
    { messageWindow: 0 },
    { messageWindowBytes: 0 },
    { gapTimeoutSeconds: -1 },
    { gapTimeoutSeconds: "5" },
  ];
  for (const patch of bad) {
    const f = frame(1, State.RESPONSE, "", JSON.stringify({ ...full, ...patch }));
    throwsStatus(() => decodeTcrpResponse(f), 400);
  }
});

Deno.test("encoders throw RangeError for a room name over 255 bytes", () => {
  const room256 = "é".repeat(128);
  assert.throws(() => encodeTcrpFrame(frame(1, 0, room256, "")), RangeError);
  const request = { ...requestCases[4]!, roomName: room256 } as TcrpRequest;
  assert.throws(() => encodeTcrpRequest(request), RangeError);
  assert.throws(() => encodeTcrpToken(2, encodeUtf8(room256), tokenOf(1)), RangeError);
  assert.equal(encodeTcrpFrame(frame(1, 0, ROOM_255, "")).length, 32 + 255);
});
