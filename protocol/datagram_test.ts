import assert from "node:assert/strict";
import { encodeUtf8 } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
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

const U32_MAX = 0xffff_ffff;
const ROOM_255 = "部屋".repeat(42) + "xyz"; // 255 bytes of UTF-8
const TEXT = "héllo 👋 世界";
const TOKEN = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);

function throwsStatus(fn: () => unknown, status: 400 | 413): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
    assert.equal(error.status, status, error.message);
    return true;
  });
}

function concat(...parts: (number[] | Uint8Array | string)[]): Uint8Array {
  return Uint8Array.from(
    parts.flatMap((p) => [...(typeof p === "string" ? encodeUtf8(p) : p)]),
  );
}

function client(body: ClientBody, roomName = "général", token: Uint8Array = TOKEN): ClientDatagram {
  return { roomName, token, body };
}

const CLIENT_BODIES: ClientBody[] = [
  { kind: "hello", lastSeq: 0 },
  { kind: "hello", lastSeq: U32_MAX },
  { kind: "message", msgId: 1, text: "a" },
  { kind: "message", msgId: U32_MAX, text: TEXT },
  { kind: "heartbeat", lastSeq: 0 },
  { kind: "heartbeat", lastSeq: U32_MAX },
  { kind: "leave" },
  { kind: "resend", fromSeq: 1, toSeq: U32_MAX },
];

Deno.test("client datagrams round-trip, with room names and tokens of 1 and 255 bytes", () => {
  for (const body of CLIENT_BODIES) {
    const ends: [string, Uint8Array][] = [["r", Uint8Array.of(0)], [ROOM_255, new Uint8Array(255)]];
    for (const [room, token] of [...ends, ["général", TOKEN]] as const) {
      const datagram = client(body, room, token);
      assert.deepEqual(decodeClientDatagram(encodeClientDatagram(datagram)), datagram);
    }
  }
});

Deno.test("client datagram layout: sizes, room name, token, kind, big-endian body", () => {
  const prefix = [3, 3, 0x72, 0xc3, 0xa9, 7, 8, 9]; // "ré", token 07 08 09
  const token = Uint8Array.of(7, 8, 9);
  const layout = (body: ClientBody) => [...encodeClientDatagram(client(body, "ré", token))];
  const cases: [ClientBody, number[]][] = [
    [{ kind: "hello", lastSeq: 0x01020304 }, [0x01, 1, 2, 3, 4]],
    [{ kind: "message", msgId: 0xa0b0c0d0, text: "hé" }, [
      2,
      0xa0,
      0xb0,
      0xc0,
      0xd0,
      0x68,
      0xc3,
      0xa9,
    ]],
    [{ kind: "heartbeat", lastSeq: 258 }, [0x03, 0, 0, 1, 2]],
    [{ kind: "leave" }, [0x04]],
    [{ kind: "resend", fromSeq: 1, toSeq: 256 }, [0x05, 0, 0, 0, 1, 0, 0, 1, 0]],
  ];
  for (const [body, tail] of cases) assert.deepEqual(layout(body), [...prefix, ...tail]);
});

Deno.test("the largest client datagram is 4096 bytes; encoders refuse what cannot fit", () => {
  const text = "é".repeat((MAX_DATAGRAM_BYTES - 2 - 255 - 32 - 5) / 2);
  const full = client({ kind: "message", msgId: U32_MAX, text }, ROOM_255);
  const bytes = encodeClientDatagram(full);
  assert.equal(bytes.length, MAX_DATAGRAM_BYTES);
  assert.deepEqual(decodeClientDatagram(bytes), full);
  const over = client({ kind: "message", msgId: 1, text: text + "x" }, ROOM_255);
  assert.throws(() => encodeClientDatagram(over), RangeError);
  const hello = { kind: "hello", lastSeq: 0 } as const;
  assert.throws(() => encodeClientDatagram(client(hello, "")), RangeError);
  assert.throws(() => encodeClientDatagram(client(hello, "é".repeat(128))), RangeError);
  assert.throws(() => encodeClientDatagram(client(hello, "r", new Uint8Array(0))), RangeError);
  assert.throws(() => encodeClientDatagram(client(hello, "r", new Uint8Array(256))), RangeError);
  const empty = client({ kind: "message", msgId: 1, text: "" });
  assert.throws(() => encodeClientDatagram(empty), RangeError);
});

Deno.test("client datagrams truncated anywhere short of complete are 400", () => {
  for (const body of CLIENT_BODIES) {
    const bytes = encodeClientDatagram(client(body));
    // A MESSAGE's text runs to the end, so only cuts into its fixed part are detectable.
    const fixed = body.kind === "message"
      ? 2 + encodeUtf8("général").length + 32 + 5
      : bytes.length - 1;
    for (let n = 0; n <= fixed; n++) {
      throwsStatus(() => decodeClientDatagram(bytes.slice(0, n)), 400);
    }
  }
  const cutMidChar = encodeClientDatagram(client({ kind: "message", msgId: 1, text: "a€" }));
  throwsStatus(() => decodeClientDatagram(cutMidChar.slice(0, -1)), 400);
});

Deno.test("malformed client datagrams are 400; oversized ones are 413", () => {
  const head = [1, 1, 0x72, 0xaa];
  const cases: Uint8Array[] = [
    concat([0, 1, 0xaa, 0x04]), // empty room name
    concat([1, 0, 0x72, 0x04]), // empty token
    ...[0x00, 0x06, 0x81, 0xff].map((kind) => concat(head, [kind, 0, 0, 0, 0])),
    concat(head, [0x01, 0, 0, 0, 0, 0]), // trailing bytes
    concat(head, [0x03, 0, 0, 0, 0, 0]),
    concat(head, [0x04, 0]),
    concat(head, [0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0]),
    concat(head, [0x02, 0, 0, 0, 1]), // empty MESSAGE text
    concat([1, 1, 0xff, 0xaa, 0x04]), // invalid UTF-8 room name
    concat([2, 1, 0xc3, 0x28, 0xaa, 0x04]),
    concat(head, [0x02, 0, 0, 0, 1, 0x80]), // invalid UTF-8 text
    concat(head, [0x02, 0, 0, 0, 1], "ok", [0xed, 0xa0, 0x80]), // a UTF-16 surrogate
  ];
  for (const bytes of cases) throwsStatus(() => decodeClientDatagram(bytes), 400);
  throwsStatus(() => decodeClientDatagram(new Uint8Array(MAX_DATAGRAM_BYTES + 1)), 413);
  const over = concat([1, 1, 0x72, 0xaa, 0x02, 0, 0, 0, 1], "x".repeat(4096 - 9 + 1));
  throwsStatus(() => decodeClientDatagram(over), 413);
});

const SERVER_BODIES: ServerBody[] = [
  ...Object.values(EventType).map((type): ServerBody => ({
    kind: "event",
    seq: type,
    timeMs: 1_790_000_000_000 + type,
    type,
    name: "Zoë 😀",
    text: type === EventType.MESSAGE ? TEXT : "",
  })),
  {
    kind: "event",
    seq: U32_MAX,
    timeMs: Number.MAX_SAFE_INTEGER,
    type: 1,
    name: ROOM_255,
    text: "",
  },
  { kind: "event", seq: 0, timeMs: 0, type: 1, name: "", text: "x" },
  { kind: "ack", msgId: 0, seq: 0 },
  { kind: "ack", msgId: U32_MAX, seq: U32_MAX },
  { kind: "welcome", headSeq: U32_MAX, room: ROOM_255, host: "Zoë", members: ["Zoë", "😀 b"] },
  { kind: "welcome", headSeq: 0, room: "r", host: "", members: [] },
  ...Object.values(CloseReason).map((reason): ServerBody => ({
    kind: "closed",
    reason,
    text: TEXT,
  })),
  ...([400, 401, 413, 429] as const).map((code): ServerBody => ({
    kind: "error",
    code,
    text: TEXT,
  })),
  { kind: "closed", reason: CloseReason.LEFT, text: "" },
  { kind: "error", code: 429, text: "" },
  ...([410, 413, 429] as const).map((code): ServerBody => ({
    kind: "refused",
    msgId: U32_MAX,
    code,
    text: TEXT,
  })),
  { kind: "refused", msgId: 0, code: 410, text: "" },
  { kind: "heartbeatAck", headSeq: 0 },
  { kind: "heartbeatAck", headSeq: U32_MAX },
];

Deno.test("server datagrams round-trip", () => {
  for (const body of SERVER_BODIES) {
    assert.deepEqual(decodeServerDatagram(encodeServerDatagram(body)), body);
  }
});

Deno.test("server datagram layout: kind first, then big-endian fields", () => {
  const cases: [ServerBody, number[]][] = [
    [
      { kind: "event", seq: 0x01020304, timeMs: 2 ** 40 + 5, type: 2, name: "é", text: "hi" },
      [0x81, 1, 2, 3, 4, 0, 0, 1, 0, 0, 0, 0, 5, 2, 2, 0xc3, 0xa9, 0x68, 0x69],
    ],
    [{ kind: "ack", msgId: 7, seq: 0x0100 }, [0x82, 0, 0, 0, 7, 0, 0, 1, 0]],
    [
      { kind: "welcome", headSeq: 3, room: "r", host: "h", members: ["h"] },
      [0x83, 0, 0, 0, 3, ...encodeUtf8('{"room":"r","host":"h","members":["h"]}')],
    ],
    [{ kind: "closed", reason: 2, text: "x" }, [0x84, 2, 0x78]],
    [{ kind: "error", code: 413, text: "x" }, [0x85, 0x01, 0x9d, 0x78]],
    [
      { kind: "refused", msgId: 0x01020304, code: 410, text: "x" },
      [0x86, 1, 2, 3, 4, 0x01, 0x9a, 0x78],
    ],
    [{ kind: "heartbeatAck", headSeq: 0x01020304 }, [0x88, 1, 2, 3, 4]],
  ];
  for (const [body, bytes] of cases) assert.deepEqual([...encodeServerDatagram(body)], bytes);
});

Deno.test("encodeServerDatagram throws RangeError for what cannot fit in 4096 bytes", () => {
  const event = { kind: "event", seq: 1, timeMs: 0, type: 1, name: "n", text: "" } as const;
  assert.equal(encodeServerDatagram({ ...event, text: "x".repeat(4096 - 16) }).length, 4096);
  const tooBig: ServerBody[] = [
    { ...event, name: "é".repeat(128) },
    { ...event, text: "x".repeat(4096 - 15) },
    { kind: "welcome", headSeq: 1, room: "r", host: "h", members: ["m".repeat(4096)] },
    { kind: "closed", reason: 1, text: "x".repeat(4095) },
    { kind: "error", code: 400, text: "x".repeat(4094) },
    { kind: "refused", msgId: 1, code: 429, text: "x".repeat(4090) },
  ];
  for (const body of tooBig) assert.throws(() => encodeServerDatagram(body), RangeError);
});

Deno.test("server datagrams truncated short of their fixed part are 400", () => {
  for (const body of SERVER_BODIES) {
    const bytes = encodeServerDatagram(body);
    const fixed = {
      event: 15 + (body.kind === "event" ? encodeUtf8(body.name).length : 0),
      ack: 9,
      welcome: bytes.length, // every prefix of a JSON object is invalid JSON
      closed: 2,
      error: 3,
      refused: 7,
      heartbeatAck: 5,
    }[body.kind];
    for (let n = 0; n < fixed; n++) {
      throwsStatus(() => decodeServerDatagram(bytes.slice(0, n)), 400);
    }
  }
});

function patched(body: ServerBody, edit: (view: DataView) => void): Uint8Array {
  const bytes = encodeServerDatagram(body);
  edit(new DataView(bytes.buffer));
  return bytes;
}

Deno.test("malformed server datagrams are 400; oversized ones are 413", () => {
  const event: ServerBody = { kind: "event", seq: 1, timeMs: 0, type: 1, name: "n", text: "t" };
  const welcome = (json: string | number[]) => concat([0x83, 0, 0, 0, 1], json);
  const cases: Uint8Array[] = [
    ...[0x00, 0x01, 0x05, 0x80, 0x87, 0xff].map((kind) => concat([kind, 0, 0, 0, 1, 0, 0, 0, 1])),
    concat([0x82, 0, 0, 0, 1, 0, 0, 0, 1, 0]), // ACK with a trailing byte
    concat([0x88, 0, 0, 0, 1, 0]), // HEARTBEAT_ACK with a trailing byte
    patched(event, (v) => v.setBigUint64(5, 2n ** 53n)),
    patched(event, (v) => v.setBigUint64(5, 2n ** 64n - 1n)),
    ...[0, 5, 255].map((type) => patched(event, (v) => v.setUint8(13, type))),
    patched(event, (v) => v.setUint8(14, 3)), // nameSize past the end
    concat([0x81, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0xff], "t"), // invalid UTF-8 name
    concat([0x81, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1], "n", [0xc3]), // invalid UTF-8 text
    ...[0, 6, 255].map((reason) => concat([0x84, reason], "bye")),
    concat([0x84, 1, 0xfe]),
    ...[0, 200, 403, 404, 500, 0xffff].map((code) => concat([0x85, code >> 8, code & 0xff], "x")),
    concat([0x85, 0x01, 0x90, 0xff]),
    // REFUSED: only 410, 413 and 429 exist, and the text is UTF-8.
    ...[0, 400, 401, 404, 500, 0xffff].map((code) =>
      concat([0x86, 0, 0, 0, 1, code >> 8, code & 0xff], "x")
    ),
    concat([0x86, 0, 0, 0, 1, 0x01, 0x9a, 0xff]),
    ...["", "{", "null", "[]", "5", '"room"', "{}", '{"room":"r","host":"h"}'].map(welcome),
    welcome('{"room":1,"host":"h","members":[]}'),
    welcome('{"room":"r","host":null,"members":[]}'),
    welcome('{"room":"r","host":"h","members":"h"}'),
    welcome('{"room":"r","host":"h","members":["h",2]}'),
    welcome([0x7b, 0xff, 0x7d]),
  ];
  for (const bytes of cases) throwsStatus(() => decodeServerDatagram(bytes), 400);
  const huge = concat([0x84, 1], "x".repeat(MAX_DATAGRAM_BYTES - 1));
  throwsStatus(() => decodeServerDatagram(huge), 413);
  assert.equal(decodeServerDatagram(huge.subarray(0, 4096)).kind, "closed");
});
