/**
 * A sealed member over a WebSocket made by hand for the server's tests: the
 * client's own sealed exchange (client/sealed_exchange.ts) over a frame
 * stream of binary messages, then sealed datagrams sealed and opened with
 * the codecs (server/sealed/sealed_client_test_util.ts), one per message.
 * The socket is a {@linkcode MessagePipe}: Deno's WebSocket
 * ({@linkcode openWebSocketPipe}), or a test's fake connection.
 */
import { nodeCrypto } from "../crypto/node_crypto.ts";
import {
  type FrameStream,
  sealedListExchange,
  sealedRoomExchange,
} from "../client/sealed_exchange.ts";
import { EventType, type ServerBody } from "../protocol/datagram.ts";
import type { SealedClientBody } from "../protocol/sealed_datagram.ts";
import type { ServerKeyCheck } from "../protocol/sealed_types.ts";
import {
  type ListRequest,
  Operation,
  type RoomList,
  type RoomRequest,
  type TcrpFrame,
  TcrpFrameParser,
} from "../protocol/tcrp.ts";
import {
  decodeClosePayload,
  encodeClosePayload,
  encodeWebSocketFrame,
  WebSocketMessageParser,
  WsOpcode,
} from "../protocol/websocket_frame.ts";
import { bodyOf, type Opened, SealedTestClient } from "../server/sealed/sealed_client_test_util.ts";

/** How a socket closed. */
export interface PipeClose {
  code: number;
  reason: string;
}

/** Binary messages both ways over one socket. */
export interface MessagePipe {
  send(bytes: Uint8Array): void;
  /** The next message from the server, or null once the socket closed (or after `timeoutMs`). */
  receive(timeoutMs?: number): Promise<Uint8Array | null>;
  /** Resolves when the socket has closed, with the code the server sent. */
  readonly closed: Promise<PipeClose>;
  close(code?: number, reason?: string): void;
}

/** The subprotocol bots and tests offer. */
export const TEST_SUBPROTOCOL = "chat.ws.1";

/** Messages of a socket, in order, with a receive that waits. */
export class MessageQueue {
  #messages: Uint8Array[] = [];
  #waiters: ((message: Uint8Array | null) => void)[] = [];
  #ended = false;

  /** A message arrived. */
  push(message: Uint8Array): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(message);
    else this.#messages.push(message);
  }

  /** No more will come. */
  end(): void {
    this.#ended = true;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
  }

  /** The next message, or null when the socket closed or `timeoutMs` passed. */
  receive(timeoutMs = 5_000): Promise<Uint8Array | null> {
    const message = this.#messages.shift();
    if (message !== undefined) return Promise.resolve(message);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter = (m: Uint8Array | null) => {
        clearTimeout(timer);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(null);
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Messages waiting now. */
  get length(): number {
    return this.#messages.length;
  }
}

/** Deno's WebSocket to `url` as a pipe, once it is open (rejects if it closes first). */
export function openWebSocketPipe(
  url: string,
  protocols: string | string[] = TEST_SUBPROTOCOL,
): Promise<MessagePipe> {
  const socket = new WebSocket(url, protocols);
  socket.binaryType = "arraybuffer";
  const queue = new MessageQueue();
  const closed = new Promise<PipeClose>((resolve) => {
    socket.onclose = (event) => {
      queue.end();
      resolve({ code: event.code, reason: event.reason });
    };
  });
  socket.onmessage = (event) => {
    queue.push(
      typeof event.data === "string"
        ? new TextEncoder().encode(event.data)
        : new Uint8Array(event.data as ArrayBuffer),
    );
  };
  const pipe: MessagePipe = {
    send: (bytes) => socket.send(bytes),
    receive: (timeoutMs) => queue.receive(timeoutMs),
    closed,
    close: (code, reason) => socket.close(code, reason),
  };
  return new Promise((resolve, reject) => {
    socket.onopen = () => resolve(pipe);
    socket.onerror = () => {};
    closed.then((info) => reject(new Error(`closed before open: ${info.code} ${info.reason}`)));
  });
}

/** The pipe as the frame stream of a sealed exchange: one TCRP frame per message. */
export function frameStreamOf(pipe: MessagePipe): FrameStream {
  return {
    write(bytes) {
      pipe.send(bytes);
      return Promise.resolve();
    },
    async read(): Promise<TcrpFrame | null> {
      const message = await pipe.receive();
      if (message === null) return null;
      const frames = new TcrpFrameParser({ maxPayloadBytes: 1 << 20 }).push(message);
      if (frames.length !== 1) throw new Error("a server message that is not one TCRP frame");
      return frames[0]!;
    },
  };
}

/** Trusts exactly `key`; null: any key (trust on first use, for a server started elsewhere). */
export function trustingKey(key: Uint8Array | null): ServerKeyCheck {
  return (proved) => {
    if (key === null) return;
    if (proved.length !== key.length || proved.some((b, i) => b !== key[i])) {
      throw new Error("not the server's key");
    }
  };
}

/** A sealed room list over a fresh socket. */
export async function listOverWebSocket(
  pipe: MessagePipe,
  serverKey: Uint8Array,
  request: ListRequest = { operation: Operation.LIST_ROOMS },
): Promise<RoomList> {
  const { list } = await sealedListExchange(frameStreamOf(pipe), request, {
    crypto: nodeCrypto,
    checkServerKey: trustingKey(serverKey),
  });
  return list;
}

/** A sealed member whose socket is a pipe. */
export class WsTestMember {
  readonly client: SealedTestClient;
  pipe: MessagePipe;
  /** Every server body opened so far, in order (EVENTs, ACKs, WELCOMEs...). */
  readonly bodies: ServerBody[] = [];

  /** A member holding `client`'s keys on `pipe`. */
  constructor(client: SealedTestClient, pipe: MessagePipe) {
    this.client = client;
    this.pipe = pipe;
  }

  /** Creates or joins with a sealed exchange over `pipe`; the member, not yet welcomed. */
  static async admit(
    pipe: MessagePipe,
    request: RoomRequest,
    serverKey: Uint8Array | null,
  ): Promise<WsTestMember> {
    const { session } = await sealedRoomExchange(frameStreamOf(pipe), request, {
      crypto: nodeCrypto,
      checkServerKey: trustingKey(serverKey),
    });
    return new WsTestMember(new SealedTestClient(nodeCrypto, session, session.signingKey), pipe);
  }

  /** Seals `body` with the next counter and sends it. */
  send(body: SealedClientBody): void {
    this.pipe.send(this.client.seal(body));
  }

  /**
   * Opens messages until `wanted` matches a body (kept in `bodies`) or the
   * socket closes or goes quiet for `timeoutMs`: the match, or null.
   */
  async until(
    wanted: (body: ServerBody) => boolean,
    timeoutMs = 5_000,
  ): Promise<ServerBody | null> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return null;
      const message = await this.pipe.receive(left);
      if (message === null) return null;
      const body = bodyOf(this.open(message));
      if (body === null) continue;
      this.bodies.push(body);
      if (wanted(body)) return body;
    }
  }

  /** What one server message means to this member (null: not for it). */
  open(message: Uint8Array): Opened | null {
    return this.client.open(message);
  }

  /** HELLO, then its WELCOME. */
  async hello(lastSeq = 0): Promise<void> {
    this.send({ kind: "hello", lastSeq });
    if (await this.until((b) => b.kind === "welcome") === null) throw new Error("no WELCOME");
  }

  /** The texts of the message EVENTs received so far, in order. */
  get texts(): string[] {
    return this.bodies.flatMap((b) =>
      b.kind === "event" && b.type === EventType.MESSAGE ? [b.text] : []
    );
  }
}

/** A WebSocket over a raw TCP connection: frames by hand, and a reader that can stop. */
export interface RawWebSocket {
  pipe: MessagePipe;
  /** Writes bytes as they are (a malformed frame, a text frame...). */
  writeRaw(bytes: Uint8Array): Promise<void>;
  /** One masked frame of `opcode`. */
  frame(opcode: number, payload: Uint8Array): Uint8Array;
  /** Stops reading the socket: what the server sends piles up in its buffers. */
  stopReading(): void;
  /** Closes the TCP connection (no closing handshake). */
  abort(): void;
}

/**
 * Upgrades a raw TCP connection (or what `connect` opens: a TLS one) to
 * `/ws` on `addr` offering `subprotocol`,
 * then reads the server's frames (answering pings) until `stopReading`.
 * The pipe's `closed` carries the code of the server's close frame (1006
 * when the connection ended without one).
 */
export async function openRawWebSocket(
  addr: Deno.NetAddr,
  subprotocol = TEST_SUBPROTOCOL,
  connect: () => Promise<Deno.Conn> = () =>
    Deno.connect({ hostname: addr.hostname, port: addr.port }),
): Promise<RawWebSocket> {
  const conn = await connect();
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const host = `${addr.hostname}:${addr.port}`;
  await writeAllTo(
    conn,
    new TextEncoder().encode(
      `GET /ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Protocol: ${subprotocol}\r\n\r\n`,
    ),
  );
  // The answer's head, byte by byte up to its blank line, so no frame byte is taken with it.
  let head = "";
  const one = new Uint8Array(1);
  while (!head.endsWith("\r\n\r\n")) {
    if (await conn.read(one) === null) throw new Error(`closed during the upgrade: ${head}`);
    head += String.fromCharCode(one[0]!);
  }
  if (!head.startsWith("HTTP/1.1 101")) {
    conn.close();
    throw new Error(`no upgrade: ${head.split("\r\n")[0]}`);
  }
  const frame = (opcode: number, payload: Uint8Array) =>
    encodeWebSocketFrame(opcode, payload, crypto.getRandomValues(new Uint8Array(4)));
  const queue = new MessageQueue();
  let resolveClosed: (info: PipeClose) => void = () => {};
  const closed = new Promise<PipeClose>((resolve) => resolveClosed = resolve);
  let reading = true;
  let wake: () => void = () => {};
  const finish = (info: PipeClose) => {
    queue.end();
    resolveClosed(info);
    try {
      conn.close();
    } catch { /* closed */ }
  };
  const write = (bytes: Uint8Array) => writeAllTo(conn, bytes).catch(() => {});
  void (async () => {
    const parser = new WebSocketMessageParser({ maxMessageBytes: 1 << 24, masked: false });
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        if (!reading) await new Promise<void>((resolve) => wake = resolve);
        const n = await conn.read(buffer);
        if (n === null) return finish({ code: 1006, reason: "" });
        for (const message of parser.push(buffer.subarray(0, n))) {
          if (message.opcode === WsOpcode.PING) {
            await write(frame(WsOpcode.PONG, message.payload));
          } else if (message.opcode === WsOpcode.CLOSE) {
            const info = message.payload.length >= 2
              ? decodeClosePayload(message.payload)
              : { code: 1005, reason: "" };
            await write(frame(WsOpcode.CLOSE, message.payload));
            return finish(info);
          } else if (message.opcode !== WsOpcode.PONG) {
            queue.push(message.payload);
          }
        }
      }
    } catch {
      finish({ code: 1006, reason: "" });
    }
  })();
  return {
    pipe: {
      send: (bytes) => void write(frame(WsOpcode.BINARY, bytes)),
      receive: (timeoutMs) => queue.receive(timeoutMs),
      closed,
      close: (code = 1000, reason = "") =>
        void write(frame(WsOpcode.CLOSE, encodeClosePayload(code, reason))),
    },
    writeRaw: (bytes) => write(bytes),
    frame,
    stopReading: () => reading = false,
    abort: () => {
      reading = true;
      wake();
      finish({ code: 1006, reason: "" });
    },
  };
}

async function writeAllTo(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** The code `pipe` closed with; rejects when it has not closed within `timeoutMs`. */
export function closeCode(pipe: MessagePipe, timeoutMs = 5_000): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([pipe.closed.then((info) => info.code), late]).finally(() =>
    clearTimeout(timer)
  );
}
