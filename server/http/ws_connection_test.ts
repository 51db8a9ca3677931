import assert from "node:assert/strict";
import { concatBytes, encodeUtf8 } from "../../protocol/bytes.ts";
import { findHeadEnd, parseHttpRequestHead } from "../../protocol/http_head.ts";
import {
  decodeClosePayload,
  encodeClosePayload,
  encodeWebSocketFrame,
  WebSocketMessageParser,
  type WsMessage,
  WsOpcode,
} from "../../protocol/websocket_frame.ts";
import { webSocketAccept } from "./ws_accept.ts";
import { type WsCloseInfo, WsConnection, type WsConnectionOptions } from "./ws_connection.ts";

const MASK = new Uint8Array([9, 8, 7, 6]);
const DEFAULTS: WsConnectionOptions = {
  maxMessageBytes: 4096,
  pingIntervalMs: 10_000,
  silenceLimitMs: 30_000,
  monotonic: () => performance.now(),
};

/** Polls `condition` every 5 ms until it holds, failing after `ms`. */
async function until(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `promise`, or a failure naming `what` after `ms` (a test fails rather than hangs). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** What the server side of one test connection saw. */
interface Served {
  ws: WsConnection;
  messages: Uint8Array[];
  alive: number;
  writes: number;
}

/**
 * A listener on 127.0.0.1 that upgrades each connection the way the HTTP
 * server will (the head read with http_head.ts, 101 with ws_accept.ts) and
 * hands it to a WsConnection that echoes binary messages.
 */
function serve(options: Partial<WsConnectionOptions> = {}) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served: Served[] = [];
  const upgrades: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) upgrades.push(upgrade(conn));
  })();
  async function upgrade(conn: Deno.Conn): Promise<void> {
    let bytes: Uint8Array = new Uint8Array(0);
    const buffer = new Uint8Array(1024);
    let end = -1;
    while ((end = findHeadEnd(bytes, 8192)) < 0) {
      const n = await conn.read(buffer);
      if (n === null) return conn.close();
      bytes = concatBytes(bytes, buffer.subarray(0, n));
    }
    const head = parseHttpRequestHead(bytes.subarray(0, end));
    const protocol = head.headers.get("sec-websocket-protocol");
    const answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
      "Connection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${webSocketAccept(head.headers.get("sec-websocket-key")!)}\r\n` +
      (protocol === undefined ? "" : `Sec-WebSocket-Protocol: ${protocol.split(",")[0]}\r\n`) +
      "\r\n";
    await conn.write(encodeUtf8(answer));
    const counting = new CountingConn(conn);
    const ws = new WsConnection(counting, bytes.slice(end), { ...DEFAULTS, ...options });
    const one: Served = { ws, messages: [], alive: 0, writes: 0 };
    counting.onWrite = () => one.writes++;
    served.push(one);
    ws.start({
      message: (bytes) => {
        one.messages.push(bytes);
        ws.send(bytes);
      },
      alive: () => one.alive++,
      closed: () => {},
    });
  }
  return {
    port: (listener.addr as Deno.NetAddr).port,
    served,
    /** The nth connection's server side, once upgraded. */
    async connection(n = 0): Promise<Served> {
      await until(() => served.length > n, "the upgrade");
      return served[n]!;
    },
    async close(): Promise<void> {
      listener.close();
      await accepting.catch(() => {});
      await Promise.allSettled(upgrades);
      for (const { ws } of served) {
        ws.close(1001, "test over");
        await ws.closed;
      }
    },
  };
}

/** A Deno.Conn that counts write calls (to see coalescing). */
class CountingConn {
  #conn: Deno.Conn;
  onWrite = () => {};
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }
  read(buffer: Uint8Array): Promise<number | null> {
    return this.#conn.read(buffer);
  }
  write(bytes: Uint8Array): Promise<number> {
    this.onWrite();
    return this.#conn.write(bytes);
  }
  close(): void {
    this.#conn.close();
  }
}

/** A client speaking raw frames over TCP: it can misbehave, or stop reading. */
class RawClient {
  conn!: Deno.TcpConn;
  #parser = new WebSocketMessageParser({ maxMessageBytes: 64 * 1024 * 1024, masked: false });
  #messages: WsMessage[] = [];
  #buffer = new Uint8Array(64 * 1024);
  #pending: Uint8Array = new Uint8Array(0);

  static async connect(
    port: number,
    sendWithHead: Uint8Array = new Uint8Array(0),
  ): Promise<RawClient> {
    const client = new RawClient();
    client.conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const request = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n" +
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      "Sec-WebSocket-Version: 13\r\n\r\n";
    await client.write(concatBytes(encodeUtf8(request), sendWithHead));
    let end = -1;
    while ((end = findHeadEnd(client.#pending, 8192)) < 0) {
      const n = await client.conn.read(client.#buffer);
      assert.notEqual(n, null, "the server closed before its 101");
      client.#pending = concatBytes(client.#pending, client.#buffer.subarray(0, n!));
    }
    const head = new TextDecoder().decode(client.#pending.subarray(0, end));
    assert.match(
      head,
      /^HTTP\/1\.1 101 .*\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/s,
    );
    client.#messages.push(...client.#parser.push(client.#pending.subarray(end)));
    return client;
  }

  async write(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length;) at += await this.conn.write(bytes.subarray(at));
  }

  send(opcode: number, payload: Uint8Array): Promise<void> {
    return this.write(encodeWebSocketFrame(opcode, payload, MASK));
  }

  /** The next message from the server, or null at the end of the stream. */
  async next(): Promise<WsMessage | null> {
    while (this.#messages.length === 0) {
      const n = await this.conn.read(this.#buffer);
      if (n === null) return null;
      this.#messages.push(...this.#parser.push(this.#buffer.subarray(0, n)));
    }
    return this.#messages.shift()!;
  }

  /** Reads until the server's close frame: its code and reason, and what came before it. */
  async closeFrame(): Promise<{ code: number; reason: string; before: WsMessage[] }> {
    const before: WsMessage[] = [];
    for (let m = await this.next(); m !== null; m = await this.next()) {
      if (m.opcode === WsOpcode.CLOSE) return { ...decodeClosePayload(m.payload), before };
      before.push(m);
    }
    throw new Error("the stream ended without a close frame");
  }

  /** Waits for the server to close the TCP connection (nothing more may come). */
  async end(): Promise<void> {
    assert.equal(await this.next(), null);
    this.conn.close();
  }
}

/** A Deno WebSocket (the web standard client) and everything it receives. */
async function openBrowserSocket(port: number) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, "chat.ws.1");
  socket.binaryType = "arraybuffer";
  const received: Uint8Array[] = [];
  socket.onmessage = (event) => received.push(new Uint8Array(event.data as ArrayBuffer));
  const closed = new Promise<CloseEvent>((resolve) => socket.onclose = resolve);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  assert.equal(socket.protocol, "chat.ws.1");
  return { socket, received, closed };
}

const bytesOf = (length: number, seed = 1) =>
  Uint8Array.from({ length }, (_, i) => (i * 13 + seed) & 0xff);

Deno.test("binary messages both ways with a standard WebSocket, then its close", async () => {
  const server = serve();
  const client = await openBrowserSocket(server.port);
  const served = await server.connection();
  served.ws.send(bytesOf(10, 7)); // the server speaks first
  const sizes = [0, 1, 125, 126, 1000, 4096];
  for (const size of sizes) client.socket.send(bytesOf(size));
  await until(() => client.received.length === sizes.length + 1, "the echoes");
  assert.deepEqual(client.received, [bytesOf(10, 7), ...sizes.map((size) => bytesOf(size))]);
  assert.deepEqual(served.messages, sizes.map((size) => bytesOf(size)));
  assert.equal(served.alive, sizes.length);
  client.socket.close(1000, "bye");
  assert.deepEqual(await served.ws.closed, { code: 1000, reason: "bye", byPeer: true });
  const event = await client.closed;
  assert.equal(event.code, 1000);
  assert.equal(event.wasClean, true);
  await server.close();
});

Deno.test("the server closes: the client sees the code and reason; close() again is harmless", async () => {
  const server = serve();
  const client = await openBrowserSocket(server.port);
  const { ws } = await server.connection();
  ws.close(4426, "this page is out of date: reload it");
  ws.close(1000, "again");
  assert.equal(ws.isOpen, false);
  assert.equal(ws.send(bytesOf(3)), false);
  const event = await client.closed;
  assert.equal(event.code, 4426);
  assert.equal(event.reason, "this page is out of date: reload it");
  assert.equal(event.wasClean, true);
  const info = await ws.closed;
  assert.deepEqual(info, {
    code: 4426,
    reason: "this page is out of date: reload it",
    byPeer: false,
  });
  ws.close(1000, "after the end");
  assert.equal(await ws.closed, info);
  await server.close();
});

Deno.test("a text message closes 1003", async () => {
  const server = serve();
  const client = await openBrowserSocket(server.port);
  client.socket.send("hello");
  const event = await client.closed;
  assert.equal(event.code, 1003);
  assert.equal(event.reason, "text messages are not accepted");
  const served = await server.connection();
  assert.equal((await served.ws.closed).code, 1003);
  assert.deepEqual(served.messages, []);
  await server.close();
});

Deno.test("a message over the limit closes 1009 from its header, without waiting for its payload", async () => {
  const server = serve();
  const raw = await RawClient.connect(server.port);
  // A header that declares 64 MiB, then 3 bytes of it: nothing more ever comes.
  const head = new Uint8Array([0x82, 0x80 | 127, 0, 0, 0, 0, 4, 0, 0, 0, ...MASK, 1, 2, 3]);
  const started = performance.now();
  await raw.write(head);
  // The rest of the 64 MiB never comes: waiting for it would time out here.
  const close = await within(raw.closeFrame(), 3_000, "the close frame");
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 2_000, `the close frame came after ${elapsed} ms, not at once`);
  assert.equal(close.code, 1009);
  assert.match(close.reason, /67108864 bytes is over the limit of 4096/);
  await raw.end(); // the server cuts the socket itself (its close timeout)
  const { ws, messages } = await server.connection();
  assert.equal((await ws.closed).code, 1009);
  assert.deepEqual(messages, []);
  // From a standard client, one byte over the limit; the limit can change between messages.
  const client = await openBrowserSocket(server.port);
  const second = await server.connection(1);
  client.socket.send(bytesOf(4096));
  await until(() => second.messages.length === 1, "a message at the limit");
  second.ws.maxMessageBytes = 100;
  client.socket.send(bytesOf(101));
  assert.equal((await client.closed).code, 1009);
  await server.close();
});

Deno.test("framing errors close 1002: an unmasked frame, garbage", async () => {
  const server = serve();
  for (
    const bad of [
      encodeWebSocketFrame(WsOpcode.BINARY, bytesOf(5)), // not masked
      encodeUtf8("GET / HTTP/1.1\r\n\r\n"),
      new Uint8Array([0xff, 0xff, 0xff, 0xff]),
    ]
  ) {
    const raw = await RawClient.connect(server.port);
    await raw.write(bad);
    assert.equal((await raw.closeFrame()).code, 1002);
    raw.conn.close(); // the server does not wait for its close timeout then
  }
  for (const { ws } of server.served) assert.equal((await ws.closed).code, 1002);
  await server.close();
});

Deno.test("bytes after the request head, pings, pongs and fragments from a raw client", async () => {
  const server = serve();
  const first = encodeWebSocketFrame(WsOpcode.BINARY, bytesOf(3), MASK);
  const raw = await RawClient.connect(server.port, first); // sent with the head: the leftover
  assert.deepEqual(await raw.next(), { opcode: WsOpcode.BINARY, payload: bytesOf(3) });
  await raw.send(WsOpcode.PING, encodeUtf8("abc"));
  assert.deepEqual(await raw.next(), { opcode: WsOpcode.PONG, payload: encodeUtf8("abc") });
  const fragments = [
    rawFrame(0x02, bytesOf(2, 1)),
    rawFrame(0x89, new Uint8Array(0)),
    rawFrame(0x80, bytesOf(2, 9)),
  ];
  await raw.write(concatBytes(...fragments));
  assert.deepEqual(await raw.next(), { opcode: WsOpcode.PONG, payload: new Uint8Array(0) });
  assert.deepEqual(await raw.next(), {
    opcode: WsOpcode.BINARY,
    payload: concatBytes(bytesOf(2, 1), bytesOf(2, 9)),
  });
  const served = await server.connection();
  assert.equal(served.alive, 4); // a message, a ping, a ping, a message
  await raw.send(WsOpcode.PONG, new Uint8Array(0));
  await until(() => served.alive === 5, "the pong");
  // The raw client closes: its close is echoed with its code, then the server ends the TCP stream.
  await raw.send(WsOpcode.CLOSE, encodeClosePayload(4000, "done"));
  assert.equal((await raw.closeFrame()).code, 4000);
  await raw.end();
  assert.deepEqual(await served.ws.closed, { code: 4000, reason: "done", byPeer: true });
  await server.close();
});

function rawFrame(b0: number, payload: Uint8Array): Uint8Array {
  const frame = encodeWebSocketFrame(WsOpcode.BINARY, payload, MASK);
  frame[0] = b0;
  return frame;
}

Deno.test("a peer that answers pings stays; one that never does is closed 1001", async () => {
  const options = { pingIntervalMs: 80, silenceLimitMs: 240 };
  const server = serve(options);
  const client = await openBrowserSocket(server.port); // Deno's WebSocket answers pings itself
  const answering = await server.connection();
  // Ten pongs: 800 ms, over three silence limits, and it is still open.
  await until(() => answering.alive >= 10, "ten pongs");
  assert.equal(answering.ws.isOpen, true);
  const raw = await RawClient.connect(server.port);
  const silent = await server.connection(1);
  const started = performance.now();
  const close = await raw.closeFrame();
  const info = await silent.ws.closed;
  const elapsed = performance.now() - started;
  assert.deepEqual(info, { code: 1001, reason: "no answer to pings", byPeer: false });
  assert.equal(close.code, 1001);
  assert.ok(close.before.length >= 2 && close.before.every((m) => m.opcode === WsOpcode.PING));
  assert.ok(elapsed >= 200 && elapsed < 1_500, `closed after ${elapsed} ms`);
  await raw.end();
  assert.equal(answering.ws.isOpen, true);
  client.socket.close();
  await client.closed;
  await server.close();
});

Deno.test("backpressure: send() never waits; bufferedAmount counts what the peer has not taken", async () => {
  const server = serve();
  const raw = await RawClient.connect(server.port); // it will not read for a while
  const { ws } = await server.connection();
  const message = bytesOf(4096);
  const count = 2048; // 8 MiB
  for (let i = 0; i < count; i++) assert.equal(ws.send(message), true);
  const total = count * (4096 + 4);
  assert.equal(ws.bufferedAmount, total); // all of it queued: nothing waited
  await until(() => ws.bufferedAmount < total, "the socket to take the first bytes");
  assert.ok(ws.bufferedAmount > 1024 * 1024, `${ws.bufferedAmount} bytes buffered`);
  // The reader comes back: everything arrives, in order, and the buffer empties.
  for (let i = 0; i < count; i++) {
    const m = await raw.next();
    assert.equal(m?.payload.length, 4096);
  }
  await until(() => ws.bufferedAmount === 0, "the buffer to drain");
  ws.close(1000, "done");
  await raw.send(WsOpcode.CLOSE, encodeClosePayload(1000, ""));
  assert.equal((await raw.closeFrame()).code, 1000);
  await raw.end();
  await server.close();
});

Deno.test("sends in one tick leave in one write", async () => {
  const server = serve();
  const raw = await RawClient.connect(server.port);
  const served = await server.connection();
  const writesBefore = served.writes;
  for (let i = 0; i < 20; i++) served.ws.send(bytesOf(100, i));
  for (let i = 0; i < 20; i++) assert.deepEqual((await raw.next())?.payload, bytesOf(100, i));
  assert.equal(served.writes - writesBefore, 1);
  raw.conn.close();
  await server.close();
});

Deno.test("a peer that does not answer our close is cut after a second", async () => {
  const server = serve();
  const raw = await RawClient.connect(server.port);
  const { ws } = await server.connection();
  const started = performance.now();
  ws.close(4008, "slow reader");
  assert.equal((await raw.closeFrame()).code, 4008); // read, but not answered
  await raw.end();
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 900 && elapsed < 3_000, `cut after ${elapsed} ms`);
  assert.deepEqual(await ws.closed, { code: 4008, reason: "slow reader", byPeer: false });
  await server.close();
});

Deno.test("a reset, or the end of the stream without a close frame, is 1006", async () => {
  const server = serve();
  const raw = await RawClient.connect(server.port);
  raw.conn.close();
  const { ws } = await server.connection();
  assert.deepEqual(await ws.closed, { code: 1006, reason: "", byPeer: true });
  await server.close();
});

Deno.test("a handler that throws closes 1011, and the error is kept", async () => {
  const failure = new Error("a bug");
  const server = serve();
  const raw = await RawClient.connect(server.port);
  const served = await server.connection();
  served.messages.push = () => {
    throw failure;
  };
  await raw.send(WsOpcode.BINARY, bytesOf(1));
  assert.equal((await raw.closeFrame()).code, 1011);
  await raw.send(WsOpcode.CLOSE, new Uint8Array(0));
  await raw.end();
  const info: WsCloseInfo = await served.ws.closed;
  assert.deepEqual(info, { code: 1011, reason: "server error", byPeer: false, error: failure });
  await server.close();
});

Deno.test("lastHeardAt moves with every read, part of a frame included", async () => {
  let now = 0;
  const server = serve({ monotonic: () => now });
  const raw = await RawClient.connect(server.port);
  const served = await server.connection();
  const frame = encodeWebSocketFrame(WsOpcode.BINARY, bytesOf(100), MASK);
  now = 1_000;
  await raw.write(frame.subarray(0, 50));
  await until(() => served.ws.lastHeardAt === 1_000, "the first half");
  assert.equal(served.alive, 0); // no whole frame yet
  now = 2_000;
  await raw.write(frame.subarray(50));
  await until(() => served.alive === 1, "the whole frame");
  assert.equal(served.ws.lastHeardAt, 2_000);
  raw.conn.close();
  await server.close();
});
