import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes, encodeUtf8 } from "./bytes.ts";
import {
  decodeClosePayload,
  encodeClosePayload,
  encodeWebSocketFrame,
  isValidCloseCode,
  WebSocketFrameError,
  WebSocketMessageParser,
  type WsMessage,
  WsOpcode,
} from "./websocket_frame.ts";

const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
const MAX = 4096;

function throwsCode(fn: () => unknown, code: 1002 | 1003 | 1007 | 1009, what = ""): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof WebSocketFrameError, `expected a WebSocketFrameError, got ${error}`);
    assert.equal(error.closeCode, code, `${what}: ${error.message}`);
    return true;
  }, what);
}

function bytesOf(length: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff);
}

/** A client frame with any first byte (FIN, RSV, opcode) and length field. */
function rawFrame(b0: number, payload: Uint8Array, mask: Uint8Array | null = MASK): Uint8Array {
  const frame = encodeWebSocketFrame(WsOpcode.BINARY, payload, mask ?? undefined);
  frame[0] = b0;
  return frame;
}

const parser = (max = MAX) => new WebSocketMessageParser({ maxMessageBytes: max });

Deno.test("encodeWebSocketFrame: the three length forms, masked and not", () => {
  for (const [length, headBytes] of [[0, 2], [125, 2], [126, 4], [65_535, 4], [65_536, 10]]) {
    const payload = bytesOf(length!);
    const plain = encodeWebSocketFrame(WsOpcode.BINARY, payload);
    assert.equal(plain.length, headBytes! + length!);
    assert.equal(plain[0], 0x82);
    assert.deepEqual(plain.subarray(headBytes), payload);
    const masked = encodeWebSocketFrame(WsOpcode.BINARY, payload, MASK);
    assert.equal(masked.length, headBytes! + 4 + length!);
    assert.equal(masked[1]! & 0x80, 0x80);
    assert.deepEqual(masked.subarray(headBytes!, headBytes! + 4), MASK);
    const unmasked = masked.subarray(headBytes! + 4).map((b, i) => b ^ MASK[i & 3]!);
    assert.deepEqual(unmasked, payload);
    assert.deepEqual(parser(70_000).push(masked), [{ opcode: 2, payload }]);
    const fromServer = new WebSocketMessageParser({ maxMessageBytes: 70_000, masked: false });
    assert.deepEqual(fromServer.push(plain), [{ opcode: 2, payload }]);
  }
  assert.deepEqual([...encodeWebSocketFrame(WsOpcode.PING, new Uint8Array(0))], [0x89, 0]);
  assert.deepEqual([...encodeWebSocketFrame(WsOpcode.BINARY, bytesOf(200)).subarray(0, 4)], [
    0x82,
    126,
    0,
    200,
  ]);
  assert.throws(() => encodeWebSocketFrame(WsOpcode.PING, bytesOf(126)), RangeError);
  assert.throws(() => encodeWebSocketFrame(WsOpcode.BINARY, bytesOf(1), bytesOf(3)), RangeError);
});

// A stream with every kind of frame: control frames between fragments, each length form.
const STREAM_PARTS: [Uint8Array, WsMessage | null][] = [
  [rawFrame(0x82, bytesOf(5)), { opcode: 2, payload: bytesOf(5) }],
  [rawFrame(0x81, encodeUtf8("héllo")), { opcode: 1, payload: encodeUtf8("héllo") }],
  [rawFrame(0x89, bytesOf(3)), { opcode: 9, payload: bytesOf(3) }],
  [rawFrame(0x82, new Uint8Array(0)), { opcode: 2, payload: new Uint8Array(0) }],
  [rawFrame(0x02, bytesOf(4, 9)), null],
  [rawFrame(0x8a, new Uint8Array(0)), { opcode: 10, payload: new Uint8Array(0) }],
  [rawFrame(0x00, bytesOf(200, 3)), null],
  [rawFrame(0x89, bytesOf(125)), { opcode: 9, payload: bytesOf(125) }],
  [rawFrame(0x80, bytesOf(2, 5)), {
    opcode: 2,
    payload: concatBytes(bytesOf(4, 9), bytesOf(200, 3), bytesOf(2, 5)),
  }],
  [rawFrame(0x82, bytesOf(300, 4)), { opcode: 2, payload: bytesOf(300, 4) }],
  [rawFrame(0x88, encodeClosePayload(1000, "done")), {
    opcode: 8,
    payload: encodeClosePayload(1000, "done"),
  }],
];
const STREAM = concatBytes(...STREAM_PARTS.map(([frame]) => frame));
const STREAM_MESSAGES = STREAM_PARTS.flatMap(([, message]) => message === null ? [] : [message]);

Deno.test("the parser reassembles messages split at every byte offset", () => {
  for (let split = 0; split <= STREAM.length; split++) {
    const p = parser();
    const messages = [...p.push(STREAM.slice(0, split)), ...p.push(STREAM.slice(split))];
    assert.deepEqual(messages, STREAM_MESSAGES, `split at ${split}`);
    assert.equal(p.pendingBytes, 0);
  }
});

Deno.test("the parser takes one byte at a time, or the whole stream at once", () => {
  const p = parser();
  const messages: WsMessage[] = [];
  let end = 0;
  const ends = STREAM_PARTS.flatMap(([frame, message]) => {
    end += frame.length;
    return message === null ? [] : [end];
  });
  for (let i = 0; i < STREAM.length; i++) {
    messages.push(...p.push(STREAM.subarray(i, i + 1)));
    // Each message comes out exactly when its last byte arrives.
    assert.equal(messages.length, ends.filter((end) => end <= i + 1).length, `after byte ${i}`);
  }
  assert.deepEqual(messages, STREAM_MESSAGES);
  assert.deepEqual(parser().push(STREAM), STREAM_MESSAGES);
});

Deno.test("the parser does not copy what it holds on each push: 16 MiB in 4 KiB chunks", () => {
  // Copying the buffer on every push would move 32 GiB here (minutes); one copy takes milliseconds.
  const size = 16 * 1024 * 1024;
  const frame = rawFrame(0x82, new Uint8Array(size));
  const p = parser(size);
  const started = performance.now();
  const messages: WsMessage[] = [];
  for (let at = 0; at < frame.length; at += 4096) {
    messages.push(...p.push(frame.subarray(at, at + 4096)));
    if (at === 4096 * 100) assert.equal(p.pendingBytes, 4096 * 101 - 14);
  }
  assert.ok(performance.now() - started < 5_000, `took ${performance.now() - started} ms`);
  assert.equal(messages.length, 1);
  assert.equal(messages[0]!.payload.length, size);
  assert.ok(messages[0]!.payload.every((b) => b === 0));
});

Deno.test("a data frame over the limit is 1009 from its header alone", () => {
  for (const length of [MAX + 1, 65_536, 70_000]) {
    const frame = rawFrame(0x82, bytesOf(length));
    const headBytes = length < 65_536 ? 8 : 14;
    const p = parser();
    for (let i = 0; i < headBytes - 1; i++) assert.deepEqual(p.push(frame.subarray(i, i + 1)), []);
    throwsCode(() => p.push(frame.subarray(headBytes - 1, headBytes)), 1009, `${length}`);
    throwsCode(() => p.push(new Uint8Array(0)), 1009, "and after");
  }
  assert.equal(parser().push(rawFrame(0x82, bytesOf(MAX))).length, 1);
  // A 64-bit length with its top bit set, or just huge: refused, never read.
  for (const high of [0x8000_0000, 0xffff_ffff, 1, 0x0020_0000]) {
    const head = new Uint8Array([0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0, ...MASK]);
    new DataView(head.buffer).setUint32(2, high);
    throwsCode(() => parser().push(head), 1009, `high word ${high}`);
    throwsCode(() => parser(2 ** 31).push(head), 1009, `high word ${high}`);
  }
});

Deno.test("a 64-bit length that would fit in fewer bytes is accepted", () => {
  const payload = bytesOf(5);
  const head = new Uint8Array([0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 5, ...MASK]);
  const body = payload.map((b, i) => b ^ MASK[i & 3]!);
  assert.deepEqual(parser().push(concatBytes(head, body)), [{ opcode: 2, payload }]);
  const head16 = new Uint8Array([0x82, 0x80 | 126, 0, 5, ...MASK]);
  assert.deepEqual(parser().push(concatBytes(head16, body)), [{ opcode: 2, payload }]);
});

Deno.test("a fragmented message is bounded by its running total", () => {
  const p = parser(100);
  assert.deepEqual(p.push(rawFrame(0x02, bytesOf(60))), []);
  assert.deepEqual(p.push(rawFrame(0x00, bytesOf(40))), []); // 100: at the limit
  throwsCode(() => p.push(rawFrame(0x80, bytesOf(1)).subarray(0, 6)), 1009);
  const q = parser(100);
  q.push(rawFrame(0x02, bytesOf(60)));
  assert.equal(q.push(rawFrame(0x80, bytesOf(40))).length, 1);
  // The limit applies again from the next message.
  assert.equal(q.push(rawFrame(0x82, bytesOf(100))).length, 1);
});

Deno.test("maxMessageBytes changes between pushes (a phase change)", () => {
  const p = parser(1000);
  assert.equal(p.push(rawFrame(0x82, bytesOf(800))).length, 1);
  p.maxMessageBytes = 500;
  throwsCode(() => p.push(rawFrame(0x82, bytesOf(800))), 1009);
  const q = parser(10);
  q.maxMessageBytes = 1000;
  assert.equal(q.push(rawFrame(0x82, bytesOf(800))).length, 1);
});

Deno.test("framing errors are 1002", () => {
  const cases: [string, Uint8Array][] = [
    ["RSV1", rawFrame(0xc2, bytesOf(1))],
    ["RSV2", rawFrame(0xa2, bytesOf(1))],
    ["RSV3", rawFrame(0x92, bytesOf(1))],
    ["unmasked", rawFrame(0x82, bytesOf(1), null)],
    ["fragmented ping", rawFrame(0x09, bytesOf(1))],
    ["fragmented close", rawFrame(0x08, new Uint8Array(0))],
    ["ping of 126", rawFrame(0x89, bytesOf(126))],
    ["pong of 65536", rawFrame(0x8a, bytesOf(65_536))],
    ["continuation first", rawFrame(0x80, bytesOf(1))],
    ["unfinished continuation first", rawFrame(0x00, bytesOf(1))],
    [
      "new message in a fragmented one",
      concatBytes(rawFrame(0x02, bytesOf(1)), rawFrame(0x82, bytesOf(1))),
    ],
    [
      "text in a fragmented one",
      concatBytes(rawFrame(0x01, bytesOf(1)), rawFrame(0x81, bytesOf(1))),
    ],
    ["close of 1 byte", rawFrame(0x88, bytesOf(1))],
  ];
  for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
    cases.push([`opcode ${opcode}`, rawFrame(0x80 | opcode, new Uint8Array(0))]);
  }
  for (const code of [0, 999, 1004, 1005, 1006, 1012, 1015, 2999, 5000, 65_535]) {
    const payload = new Uint8Array([code >> 8, code & 0xff]);
    cases.push([`close code ${code}`, rawFrame(0x88, payload)]);
  }
  for (const [what, bytes] of cases) {
    throwsCode(() => parser().push(bytes), 1002, what);
    // Also one byte at a time: refused as soon as the decisive byte is in.
    const p = parser();
    throwsCode(
      () => {
        for (let i = 0; i < bytes.length; i++) p.push(bytes.subarray(i, i + 1));
      },
      1002,
      `${what}, byte by byte`,
    );
  }
  // Refused after 2 bytes, not after the whole header: nothing else is needed to know.
  throwsCode(() => parser().push(new Uint8Array([0x82, 0x7f])), 1002, "unmasked 64-bit length");
});

Deno.test("a close reason that is not UTF-8 is 1007; a valid one passes", () => {
  throwsCode(() => parser().push(rawFrame(0x88, new Uint8Array([0x03, 0xe8, 0xc3]))), 1007);
  throwsCode(
    () => parser().push(rawFrame(0x88, new Uint8Array([0x03, 0xe8, 0xed, 0xa0, 0x80]))),
    1007,
  );
  const close = encodeClosePayload(4426, "this page is out of date: reload it");
  assert.deepEqual(parser().push(rawFrame(0x88, close)), [{ opcode: 8, payload: close }]);
  assert.deepEqual(parser().push(rawFrame(0x88, new Uint8Array(0))), [
    { opcode: 8, payload: new Uint8Array(0) },
  ]);
});

Deno.test("a server reader refuses masked frames; a client reader unmasked ones", () => {
  const fromServer = new WebSocketMessageParser({ maxMessageBytes: MAX, masked: false });
  throwsCode(() => fromServer.push(rawFrame(0x82, bytesOf(3))), 1002);
  throwsCode(() => parser().push(rawFrame(0x82, bytesOf(3), null)), 1002);
});

Deno.test("an error after whole messages in the same chunk: the messages first, then the error", () => {
  const good = rawFrame(0x82, bytesOf(3));
  for (
    const [bad, code] of [[rawFrame(0xc2, bytesOf(1)), 1002], [
      rawFrame(0x82, bytesOf(MAX + 1)),
      1009,
    ]] as const
  ) {
    const p = parser();
    assert.deepEqual(p.push(concatBytes(good, bad)), [{ opcode: 2, payload: bytesOf(3) }]);
    throwsCode(() => p.push(new Uint8Array(0)), code);
    throwsCode(() => p.push(good), code, "still");
  }
});

Deno.test("close payloads round-trip; a long reason is cut at a character boundary", () => {
  assert.deepEqual([...encodeClosePayload(1000, "bye")], [0x03, 0xe8, 0x62, 0x79, 0x65]);
  for (const code of [1000, 1001, 1002, 1003, 1007, 1009, 1011, 3000, 4008, 4400, 4999]) {
    assert.deepEqual(decodeClosePayload(encodeClosePayload(code, "é")), { code, reason: "é" });
  }
  assert.deepEqual(decodeClosePayload(new Uint8Array(0)), { code: 1005, reason: "" });
  const long = encodeClosePayload(1000, "é".repeat(100)); // 200 bytes of UTF-8
  assert.equal(long.length, 2 + 122);
  assert.equal(decodeClosePayload(long).reason, "é".repeat(61));
  assert.equal(encodeClosePayload(1000, "x".repeat(200)).length, 125);
  for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000]) {
    assert.throws(() => encodeClosePayload(code, ""), RangeError);
    assert.equal(isValidCloseCode(code), false);
  }
});

/** A message cut into 1-4 fragments, with pings between them, and the stream cut into chunks. */
const fragmentedStream = fc.record({
  opcode: fc.constantFrom(1, 2),
  payload: fc.uint8Array({ maxLength: 300 }),
  cuts: fc.array(fc.nat(300), { maxLength: 3 }),
  pings: fc.array(fc.uint8Array({ maxLength: 125 }), { maxLength: 3 }),
  mask: fc.uint8Array({ minLength: 4, maxLength: 4 }),
});

Deno.test("any fragmentation and any chunking give the same messages", () => {
  fc.assert(
    fc.property(
      fc.array(fragmentedStream, { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(2000), { maxLength: 8 }),
      (messages, chunkCuts) => {
        const frames: Uint8Array[] = [];
        const expected: WsMessage[] = [];
        for (const { opcode, payload, cuts, pings, mask } of messages) {
          const points = [...new Set(cuts.map((cut) => cut % (payload.length + 1)))].sort((a, b) =>
            a - b
          );
          const pieces = [0, ...points, payload.length].slice(1).map((end, i, ends) =>
            payload.subarray(i === 0 ? 0 : ends[i - 1], end)
          );
          pieces.forEach((piece, i) => {
            const frame = encodeWebSocketFrame(WsOpcode.BINARY, piece, mask);
            const fin = i === pieces.length - 1 ? 0x80 : 0;
            frame[0] = fin | (i === 0 ? opcode : WsOpcode.CONTINUATION);
            frames.push(frame);
            const ping = pings[i];
            if (ping !== undefined && fin === 0) {
              frames.push(encodeWebSocketFrame(WsOpcode.PING, ping, mask));
              expected.push({ opcode: WsOpcode.PING, payload: ping });
            }
          });
          expected.push({ opcode, payload });
        }
        const stream = concatBytes(...frames);
        const ends = [...new Set(chunkCuts.map((cut) => cut % (stream.length + 1)))].sort((a, b) =>
          a - b
        );
        const p = parser(MAX);
        const got: WsMessage[] = [];
        let at = 0;
        for (const end of [...ends, stream.length]) {
          got.push(...p.push(stream.subarray(at, end)));
          at = end;
        }
        assert.deepEqual(got, expected);
        assert.equal(p.pendingBytes, 0);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("any bytes, or a valid stream with one byte changed: messages or a WebSocketFrameError", () => {
  const valid = fc.tuple(fc.nat(STREAM.length - 1), fc.integer({ min: 1, max: 255 })).map(
    ([at, xor]) => {
      const bytes = STREAM.slice();
      bytes[at]! ^= xor;
      return bytes;
    },
  );
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), valid), (bytes) => {
      try {
        parser().push(bytes);
      } catch (error) {
        assert.ok(error instanceof WebSocketFrameError, String(error));
      }
    }),
    { numRuns: 3000 },
  );
});
