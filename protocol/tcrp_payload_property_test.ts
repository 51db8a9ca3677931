/**
 * Property tests of the TCRP payloads: requests, responses and the JSON
 * under them (the frames themselves are in tcrp_property_test.ts).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeUtf8 } from "./bytes.ts";
import { validateRoomNameForm } from "./names.ts";
import {
  decodeJsonObject,
  decodeTcrpRequest,
  decodeTcrpResponse,
  encodeTcrpRequest,
  encodeTcrpResponse,
  type JoinAccepted,
  Operation,
  State,
  type TcrpFrame,
  TcrpFrameParser,
  type TcrpRequest,
  type TcrpResponse,
} from "./tcrp.ts";
import {
  anyBytes,
  codePoint,
  decodeOrRefuse,
  mutated,
  plain,
  roomName,
  text,
  username,
} from "./arbitraries_test_util.ts";

const REFUSALS = [400, 401, 403, 404, 409, 413, 429, 503] as const;
const { CREATE_ROOM, JOIN_ROOM, LIST_ROOMS } = Operation;
const operation = fc.constantFrom(CREATE_ROOM, JOIN_ROOM, LIST_ROOMS);
const state = fc.constantFrom(State.REQUEST, State.RESPONSE, State.COMPLETE);
/** Usually `expected`, now and then any state. */
const mostly = (expected: State) =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(expected) }, { weight: 1, arbitrary: state });

/** Parses `bytes` as exactly one frame. */
function parseOne(bytes: Uint8Array): TcrpFrame {
  const parser = new TcrpFrameParser({ maxPayloadBytes: 64 * 1024 });
  const frames = parser.push(bytes);
  assert.equal(frames.length, 1);
  assert.equal(parser.pendingBytes, 0);
  return frames[0]!;
}

const junk = fc.jsonValue({ maxDepth: 2 });
const longPassword = fc.string({ unit: codePoint, minLength: 1020, maxLength: 1030 });
const requestJson = fc.record({
  username: fc.oneof(username, junk),
  password: fc.oneof(fc.constantFrom(null, ""), fc.string({ unit: codePoint }), longPassword, junk),
  capacity: fc.oneof(fc.integer({ min: -1, max: 65537 }), fc.constantFrom(null, 1.5, 65535), junk),
  protocol: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.constantFrom(null, 1.5, 2 ** 53), junk),
  extra: junk,
}, { requiredKeys: [] }).map((body) => encodeUtf8(JSON.stringify(body)));
// JSON that JSON.stringify never writes: -0, numbers past double range, escapes.
const oddJson = fc.constantFrom(
  '{"username":"a","capacity":-0}',
  '{"username":"a","capacity":1e400}',
  '{"username":"a","capacity":1.0,"password":"\\ud800"}',
  '{"username":"\\u0061","__proto__":{"capacity":5}}',
  ' {"username" : "a" } ',
).map(encodeUtf8);

const requestFrame = fc.record({
  operation,
  state: mostly(State.REQUEST),
  // RoomNameSize is one byte, so no frame has a longer name.
  roomName: fc.oneof(roomName.map(encodeUtf8), mutated(roomName.map(encodeUtf8)), anyBytes(255))
    .map((bytes) => bytes.subarray(0, 255)),
  payload: fc.oneof(requestJson, oddJson, mutated(fc.oneof(requestJson, oddJson)), anyBytes(64)),
});

function assertValidRequest(request: TcrpRequest): void {
  if (request.operation === LIST_ROOMS) return;
  const { username, password, capacity, protocol } = request;
  assert.equal(typeof username, "string");
  assert.ok(Number.isSafeInteger(protocol) && protocol! >= 1);
  if (password !== null) assert.ok(password !== "" && [...password].length <= 1024);
  if (capacity !== null) {
    assert.ok(Number.isInteger(capacity) && capacity >= 1 && capacity <= 65535);
    assert.equal(request.operation, CREATE_ROOM);
  }
}

Deno.test("decodeTcrpRequest: any frame is a valid request that re-encodes to itself, or 400", () => {
  fc.assert(
    fc.property(requestFrame, (frame) => {
      const request = decodeOrRefuse(() => decodeTcrpRequest(frame));
      if (request === null) return;
      assertValidRequest(request);
      assert.deepStrictEqual(decodeTcrpRequest(parseOne(encodeTcrpRequest(request))), request);
    }),
    { numRuns: 2000 },
  );
});

const password = fc.oneof(
  fc.constant(null),
  fc.string({ unit: codePoint, minLength: 1, maxLength: 16 }),
  fc.string({ unit: codePoint, minLength: 1, maxLength: 1024, size: "max" }),
);
// The decoder always says which revision (1 when absent), so a valid request has one.
const revision = fc.oneof(
  fc.constantFrom(1, 2),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
);
const request: fc.Arbitrary<TcrpRequest> = fc.oneof(
  fc.record({
    operation: fc.constant(CREATE_ROOM),
    roomName,
    username,
    password,
    capacity: fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 65535 })),
    protocol: revision,
  }, plain),
  fc.record({
    operation: fc.constant(JOIN_ROOM),
    roomName,
    username,
    password,
    capacity: fc.constant(null),
    protocol: revision,
  }, plain),
  fc.constant({ operation: LIST_ROOMS }),
  fc.record({
    operation: fc.constant(LIST_ROOMS),
    cursor: fc.string({ unit: codePoint, maxLength: 40 }),
    limit: fc.integer({ min: 1, max: 200 }),
  }, { ...plain, requiredKeys: ["operation"] }),
);

Deno.test("encodeTcrpRequest then decodeTcrpRequest is the identity on valid requests", () => {
  fc.assert(
    fc.property(request, (request) => {
      const frame = parseOne(encodeTcrpRequest(request));
      assert.equal(frame.operation, request.operation);
      assert.equal(frame.state, State.REQUEST);
      assert.deepStrictEqual(decodeTcrpRequest(frame), request);
    }),
    { numRuns: 1000 },
  );
});

const roomSummary = fc.record({
  name: roomName,
  members: fc.oneof(fc.nat({ max: 65535 }), fc.maxSafeNat()),
  capacity: fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 65535 })),
  passwordProtected: fc.boolean(),
}, plain);
const joinAccepted = fc.record({
  status: fc.constant(200 as const),
  udpPort: fc.integer({ min: 1, max: 65535 }),
  maxDatagramBytes: fc.oneof(fc.constant(4096), fc.integer({ min: 1, max: 65535 })),
  heartbeatSeconds: fc.oneof(
    fc.integer({ min: 1, max: 86400 }),
    fc.double({ min: 0, minExcluded: true, max: 86400, noNaN: true }),
  ),
  idleTimeoutSeconds: fc.oneof(
    fc.nat({ max: 86400 }),
    fc.double({ min: 0, max: 1e9, noNaN: true }),
  ),
  // The server's encoder always says protocol 2; the other revision-2 fields may be absent.
  protocol: fc.constant(2),
  messageRate: fc.nat({ max: 1000 }),
  messageBurst: fc.integer({ min: 1, max: 2000 }),
  messageWindow: fc.integer({ min: 1, max: 1024 }),
  messageWindowBytes: fc.integer({ min: 1, max: 1 << 24 }),
  gapTimeoutSeconds: fc.nat({ max: 60 }),
}, {
  requiredKeys: [
    "status",
    "udpPort",
    "maxDatagramBytes",
    "heartbeatSeconds",
    "idleTimeoutSeconds",
    "protocol",
  ],
  noNullPrototype: true,
});
const refusal = fc.record({ status: fc.constantFrom(...REFUSALS), error: text }, plain);
const response: fc.Arbitrary<[Operation, TcrpResponse]> = fc.oneof(
  fc.tuple(fc.constantFrom(CREATE_ROOM, JOIN_ROOM), joinAccepted),
  fc.tuple(
    fc.constant(LIST_ROOMS),
    fc.record(
      { status: fc.constant(200 as const), rooms: fc.array(roomSummary, { maxLength: 6 }) },
      plain,
    ),
  ),
  fc.tuple(operation, refusal),
);

// Responses with fields of every type in every place, valid or not.
const oddNumber = fc.oneof(
  fc.integer({ min: -2, max: 65537 }),
  fc.constantFrom(0.5, -0, 1e300),
  junk,
);
const responseJson = fc.oneof(
  response.map(([, r]) => r),
  fc.record({
    status: fc.oneof(fc.constantFrom(200, 201, 500, 999, ...REFUSALS), junk),
    error: fc.oneof(text, junk),
    rooms: fc.oneof(
      fc.array(
        fc.record({
          name: fc.oneof(roomName, fc.string({ unit: codePoint, maxLength: 300 }), junk),
          members: oddNumber,
          capacity: oddNumber,
          passwordProtected: fc.oneof(fc.boolean(), junk),
        }, { requiredKeys: [] }),
        { maxLength: 3 },
      ),
      junk,
    ),
    udpPort: oddNumber,
    maxDatagramBytes: oddNumber,
    heartbeatSeconds: oddNumber,
    idleTimeoutSeconds: oddNumber,
    protocol: oddNumber,
    messageRate: oddNumber,
    messageBurst: oddNumber,
    messageWindow: oddNumber,
    messageWindowBytes: oddNumber,
    gapTimeoutSeconds: oddNumber,
  }, { requiredKeys: [] }),
).map((body) => encodeUtf8(JSON.stringify(body)));
const responseFrame = fc.record({
  operation,
  state: mostly(State.RESPONSE),
  roomName: fc.uint8Array({ maxLength: 8 }),
  payload: fc.oneof(responseJson, mutated(responseJson), anyBytes(64)),
}, plain);

const keys = (value: object) => Object.keys(value).sort();
const whole = (n: unknown, min: number, max: number) =>
  Number.isSafeInteger(n) && (n as number) >= min && (n as number) <= max;

/** The response rules of docs/protocol.md sections 3.4-3.6, written out apart from tcrp.ts. */
function assertValidResponse(operation: number, response: TcrpResponse): void {
  if (response.status !== 200) {
    assert.deepEqual(keys(response), ["error", "status"]);
    assert.ok(REFUSALS.includes(response.status));
    assert.equal(typeof (response as { error: unknown }).error, "string");
  } else if (operation === LIST_ROOMS) {
    const next = (response as { next?: unknown }).next;
    assert.ok(next === undefined || typeof next === "string");
    assert.deepEqual(keys(response).filter((key) => key !== "next"), ["rooms", "status"]);
    for (const room of (response as { rooms: object[] }).rooms) {
      assert.deepEqual(keys(room), ["capacity", "members", "name", "passwordProtected"]);
      const { name, members, capacity, passwordProtected } = room as Record<string, unknown>;
      assert.equal(validateRoomNameForm(name as string), name);
      assert.ok(whole(members, 0, Number.MAX_SAFE_INTEGER));
      assert.ok(capacity === null || whole(capacity, 1, 65535));
      assert.equal(typeof passwordProtected, "boolean");
    }
  } else {
    const fields = "heartbeatSeconds idleTimeoutSeconds maxDatagramBytes status udpPort";
    const revision2: Record<string, number> = {
      protocol: 1,
      messageRate: 0,
      messageBurst: 0,
      messageWindow: 1,
      messageWindowBytes: 1,
      gapTimeoutSeconds: 0,
    };
    const present = keys(response).filter((key) => key in revision2);
    assert.deepEqual(keys(response).filter((key) => !(key in revision2)), fields.split(" "));
    for (const key of present) {
      const value: unknown = (response as unknown as Record<string, unknown>)[key];
      assert.ok(whole(value, revision2[key]!, Number.MAX_SAFE_INTEGER), key);
    }
    const { udpPort, maxDatagramBytes, heartbeatSeconds, idleTimeoutSeconds } =
      response as JoinAccepted;
    assert.ok(whole(udpPort, 1, 65535) && whole(maxDatagramBytes, 1, Number.MAX_SAFE_INTEGER));
    assert.ok(Number.isFinite(heartbeatSeconds) && heartbeatSeconds > 0);
    assert.ok(Number.isFinite(idleTimeoutSeconds) && idleTimeoutSeconds >= 0);
  }
}

Deno.test("decodeTcrpResponse: any frame is a valid response that re-encodes to itself, or 400", () => {
  fc.assert(
    fc.property(responseFrame, (frame) => {
      const decoded = decodeOrRefuse(() => decodeTcrpResponse(frame));
      if (decoded === null) return;
      assertValidResponse(frame.operation, decoded);
      const again = parseOne(encodeTcrpResponse(frame.operation, frame.roomName, decoded));
      // The server's encoder says protocol 2 whatever it was given.
      const expected = "udpPort" in decoded ? { ...decoded, protocol: 2 } : decoded;
      assert.deepStrictEqual(decodeTcrpResponse(again), expected);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("encodeTcrpResponse then decodeTcrpResponse is the identity on valid responses", () => {
  fc.assert(
    fc.property(response, roomName, ([op, response], name) => {
      const roomName = encodeUtf8(name);
      const frame = parseOne(encodeTcrpResponse(op, roomName, response));
      assert.deepStrictEqual([frame.operation, frame.state, frame.roomName], [
        op,
        State.RESPONSE,
        roomName,
      ]);
      assertValidResponse(op, response);
      assert.deepStrictEqual(decodeTcrpResponse(frame), response);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("decodeJsonObject: any bytes are a JSON object, or 400", () => {
  const object = fc.dictionary(fc.string({ unit: codePoint, maxLength: 6 }), junk);
  const json = fc.oneof(object, junk).map((value) => encodeUtf8(JSON.stringify(value)));
  fc.assert(
    fc.property(fc.oneof(json, mutated(json), anyBytes(64)), (bytes) => {
      const decoded = decodeOrRefuse(() => decodeJsonObject(bytes));
      if (decoded === null) return;
      assert.ok(typeof decoded === "object" && decoded !== null && !Array.isArray(decoded));
      const again = decodeJsonObject(encodeUtf8(JSON.stringify(decoded)));
      assert.deepStrictEqual(again, JSON.parse(JSON.stringify(decoded)));
    }),
    { numRuns: 1000 },
  );
});
