/**
 * Property tests of TCRP frames: the header, the stream parser, the encoders'
 * limits (requests and responses are in tcrp_payload_property_test.ts).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeUtf8 } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
import {
  decodeTcrpHeader,
  encodeTcrpFrame,
  encodeTcrpRequest,
  encodeTcrpResponse,
  encodeTcrpToken,
  Operation,
  State,
  type TcrpFrame,
  TcrpFrameParser,
} from "./tcrp.ts";
import {
  anyBytes,
  codePoint,
  decodeOrRefuse,
  mutated,
  plain,
  roomName,
  username,
} from "./arbitraries_test_util.ts";

const MAX = 64 * 1024;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const { CREATE_ROOM, JOIN_ROOM, LIST_ROOMS } = Operation;

const operation = fc.constantFrom(CREATE_ROOM, JOIN_ROOM, LIST_ROOMS);
const state = fc.constantFrom(State.REQUEST, State.RESPONSE, State.COMPLETE);
const frame: fc.Arbitrary<TcrpFrame> = fc.record({
  operation,
  state,
  roomName: fc.oneof(
    fc.uint8Array({ maxLength: 8 }),
    fc.uint8Array({ maxLength: 255, size: "max" }),
  ),
  payload: fc.uint8Array({ maxLength: 300 }),
}, plain);

/** Parses `bytes` as exactly one frame. */
function parseOne(bytes: Uint8Array): TcrpFrame {
  const parser = new TcrpFrameParser({ maxPayloadBytes: MAX });
  const frames = parser.push(bytes);
  assert.equal(frames.length, 1);
  assert.equal(parser.pendingBytes, 0);
  return frames[0]!;
}

const concat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => [...part]));

/** Cuts `bytes` at the given points (taken modulo its length). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  return [0, ...points].map((start, i) => bytes.slice(start, points[i] ?? bytes.length));
}

// A header from its fields, most of them in range: Operation 0-4, State 0-3, the
// high 21 size bytes usually zero, and a size often near 2^53.
const craftedHeader = fc.tuple(
  fc.nat({ max: 255 }),
  fc.nat({ max: 4 }),
  fc.nat({ max: 3 }),
  fc.oneof(fc.constant(new Uint8Array(21)), fc.uint8Array({ minLength: 21, maxLength: 21 })),
  fc.oneof(fc.bigInt(0n, 2n ** 64n - 1n), fc.bigInt(MAX_SAFE - 2n, MAX_SAFE + 2n)),
).map(([nameSize, op, st, high, size]) => {
  const bytes = Uint8Array.from([nameSize, op, st, ...high, ...new Uint8Array(8)]);
  new DataView(bytes.buffer).setBigUint64(24, size);
  return bytes;
});

Deno.test("decodeTcrpHeader: any bytes give the fields as laid out, or 400 or 413 as the rules say", () => {
  const bytes = fc.oneof(anyBytes(32), craftedHeader, mutated(frame.map(encodeTcrpFrame)));
  fc.assert(
    fc.property(bytes, (bytes) => {
      const view = new DataView(bytes.buffer);
      let expected: 400 | 413 | null = null;
      // Plain operations 1-3 have states 0-2; sealed ones 0x11-0x13, states 0-4.
      const sealed = bytes[1]! >= 0x11 && bytes[1]! <= 0x13;
      const known = (bytes[1]! >= 1 && bytes[1]! <= 3) || sealed;
      if (bytes.length < 32 || !known || bytes[2]! > (sealed ? 4 : 2)) {
        expected = 400;
      } else if (bytes.subarray(3, 24).some((b) => b !== 0) || view.getBigUint64(24) > MAX_SAFE) {
        expected = 413;
      }
      const header = decodeOrRefuse(() => decodeTcrpHeader(bytes), expected ? [expected] : []);
      assert.equal(header === null, expected !== null);
      if (header !== null) {
        assert.deepEqual(header, {
          roomNameSize: bytes[0],
          operation: bytes[1],
          state: bytes[2],
          payloadSize: Number(view.getBigUint64(24)),
        });
      }
    }),
    { numRuns: 2000 },
  );
});

/** What a parser makes of a stream fed in `chunks`: frames, then the error that stopped it. */
function outcome(chunks: Uint8Array[], max = MAX) {
  const parser = new TcrpFrameParser({ maxPayloadBytes: max });
  const frames: TcrpFrame[] = [];
  try {
    for (const chunk of [...chunks, new Uint8Array(0)]) frames.push(...parser.push(chunk));
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return { frames, status: error.status, pending: -1 };
  }
  return { frames, status: null, pending: parser.pendingBytes };
}

Deno.test("TcrpFrameParser: valid frames split anywhere come out whole, each with its last byte", () => {
  fc.assert(
    fc.property(
      fc.array(frame, { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (fs, cuts) => {
        const encoded = fs.map(encodeTcrpFrame);
        const stream = concat(encoded);
        const parser = new TcrpFrameParser({ maxPayloadBytes: MAX });
        const frames: TcrpFrame[] = [];
        let fed = 0;
        for (const chunk of split(stream, cuts)) {
          frames.push(...parser.push(chunk));
          fed += chunk.length;
          let end = 0;
          assert.equal(frames.length, encoded.filter((e) => (end += e.length) <= fed).length);
        }
        assert.deepEqual(frames, fs);
        assert.equal(parser.pendingBytes, 0);
        assert.deepEqual(outcome([stream]), { frames: fs, status: null, pending: 0 });
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("TcrpFrameParser: any stream gives the same frames and error however it is split", () => {
  const tail = fc.oneof(anyBytes(40), craftedHeader, mutated(frame.map(encodeTcrpFrame)));
  const stream = fc.tuple(fc.array(frame, { maxLength: 3 }), tail)
    .map(([fs, tail]) => concat([...fs.map(encodeTcrpFrame), tail]));
  fc.assert(
    fc.property(stream, fc.array(fc.nat(), { maxLength: 8 }), (stream, cuts) => {
      const whole = outcome([stream]);
      assert.deepEqual(outcome(split(stream, cuts)), whole);
      if (whole.status === null) {
        // What came out is exactly the stream up to what is still pending.
        const used = stream.length - whole.pending;
        assert.deepEqual(concat(whole.frames.map(encodeTcrpFrame)), stream.subarray(0, used));
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("TcrpFrameParser: a payload size over the limit is 413 from the header alone", () => {
  const over = fc.nat({ max: 1000 }).chain((max) =>
    fc.tuple(fc.constant(max), fc.integer({ min: max + 1, max: Number.MAX_SAFE_INTEGER }))
  );
  fc.assert(
    fc.property(over, fc.nat({ max: 31 }), ([max, size], cut) => {
      const header = encodeTcrpFrame({
        operation: CREATE_ROOM,
        state: State.REQUEST,
        roomName: new Uint8Array(0),
        payload: new Uint8Array(0),
      });
      new DataView(header.buffer).setBigUint64(24, BigInt(size));
      const parser = new TcrpFrameParser({ maxPayloadBytes: max });
      assert.deepEqual(parser.push(header.subarray(0, cut)), []);
      assert.equal(decodeOrRefuse(() => parser.push(header.subarray(cut)), [413]), null);
    }),
    { numRuns: 500 },
  );
});

Deno.test("TCRP encoders throw RangeError for a room name over 255 bytes", () => {
  const tooLong = fc.string({ unit: codePoint, minLength: 256, maxLength: 300 });
  fc.assert(
    fc.property(tooLong, username, operation, (name, user, op) => {
      const bytes = encodeUtf8(name);
      const create = { operation: CREATE_ROOM, roomName: name, username: user } as const;
      assert.throws(
        () => encodeTcrpRequest({ ...create, password: null, capacity: null }),
        RangeError,
      );
      assert.throws(() => encodeTcrpResponse(op, bytes, { status: 404, error: "" }), RangeError);
      assert.throws(() => encodeTcrpToken(op, bytes, new Uint8Array(32)), RangeError);
    }),
    { numRuns: 300 },
  );
});

Deno.test("encodeTcrpToken: the completion frame carries the operation, room name and token", () => {
  const op = fc.constantFrom(CREATE_ROOM, JOIN_ROOM);
  const token = fc.uint8Array({ minLength: 32, maxLength: 32 });
  fc.assert(
    fc.property(op, roomName, token, (operation, name, token) => {
      const roomName = encodeUtf8(name);
      const frame = parseOne(encodeTcrpToken(operation, roomName, token));
      assert.deepStrictEqual(frame, { operation, state: State.COMPLETE, roomName, payload: token });
    }),
    { numRuns: 300 },
  );
});
