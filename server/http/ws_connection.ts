/**
 * One server-side WebSocket over a connection the HTTP server has already
 * upgraded (it wrote the 101): our own framing (protocol/websocket_frame.ts)
 * so that a frame over the phase's limit is refused from its header, pings
 * for liveness, a write queue that never blocks its caller, and the closing
 * handshake. It reads no HTTP and decides nothing about what the messages
 * mean: the caller gets binary messages and closes with its own codes.
 *
 * Liveness: every connection with the same ping period shares one interval
 * timer (a sweep over them all), not one timer each, so a thousand idle
 * sockets cost one wake-up per period. At each sweep a connection that has
 * sent nothing (no frame, not even part of one) for `silenceLimitMs` is
 * closed (1001) and its socket destroyed at once; the others get a ping. A
 * silent peer is therefore dropped between `silenceLimitMs` and
 * `silenceLimitMs + pingIntervalMs` after it was last heard.
 *
 * @module
 */
import {
  decodeClosePayload,
  encodeClosePayload,
  encodeWebSocketFrame,
  WebSocketFrameError,
  WebSocketMessageParser,
  type WsMessage,
  WsOpcode,
} from "../../protocol/websocket_frame.ts";

/** How a connection ended. */
export interface WsCloseInfo {
  /**
   * The close code: ours when this side closed first, the peer's when it did
   * (1005 when its close frame had none), 1006 when the socket ended without
   * a closing handshake (a reset, a write error, end of stream).
   */
  code: number;
  reason: string;
  /** True unless this side started the close. */
  byPeer: boolean;
  /** What a handler threw, when that made this side close 1011. */
  error?: unknown;
}

/** What a {@linkcode WsConnection} needs. */
export interface WsConnectionOptions {
  /** The largest message accepted now (the phase's limit); larger ones close 1009. */
  maxMessageBytes: number;
  /** How often to ping. */
  pingIntervalMs: number;
  /** A peer silent this long is closed (1001 "no answer to pings"). */
  silenceLimitMs: number;
  /** Milliseconds from a clock that never goes back. */
  monotonic: () => number;
}

/** What {@linkcode WsConnection.start} calls. */
export interface WsHandlers {
  /** Each binary message, in order. */
  message(bytes: Uint8Array): void;
  /**
   * Each whole frame of any kind (a pong, a ping, a close, a data message,
   * once for all its fragments): the peer is alive.
   */
  alive?(): void;
  /** Once, when the socket is closed (it must not throw). */
  closed(info: WsCloseInfo): void;
}

/**
 * The part of a `Deno.Conn` (TCP or TLS) a connection uses; any `Deno.Conn`
 * is one.
 */
export type WsByteStream = Pick<Deno.Conn, "read" | "write" | "close">;

/** How long to wait for the peer's close frame after sending ours. */
export const CLOSE_TIMEOUT_MS = 1000;
/** The read buffer: one read takes at most this much from the socket. */
const READ_BUFFER_BYTES = 16 * 1024;

/**
 * A server-side WebSocket.
 *
 * @example
 * ```ts
 * // After writing "HTTP/1.1 101 Switching Protocols" on conn:
 * const ws = new WsConnection(conn, bytesReadPastTheHead, {
 *   maxMessageBytes: 4096,
 *   pingIntervalMs: 15_000,
 *   silenceLimitMs: 45_000,
 *   monotonic: () => performance.now(),
 * });
 * ws.start({
 *   message: (bytes) => ws.send(bytes), // an echo
 *   closed: ({ code, reason }) => console.log("closed", code, reason),
 * });
 * ```
 */
export class WsConnection {
  /** Every started, unfinished connection, by ping period: one sweep timer each. */
  static #sweeps = new Map<
    number,
    { connections: Set<WsConnection>; timer: ReturnType<typeof setInterval> }
  >();

  #conn: WsByteStream;
  #leftover: Uint8Array;
  #options: WsConnectionOptions;
  #parser: WebSocketMessageParser;
  #handlers: WsHandlers | null = null;
  #lastHeardAt: number;
  /** open; closing (a close frame queued or sent); done (the socket is closed). */
  #state: "open" | "closing" | "done" = "open";
  /** Set when this side sent the first close frame. */
  #ourClose: { code: number; reason: string; error?: unknown } | null = null;
  /** Set when the peer sent the first close frame. */
  #peerClose: { code: number; reason: string } | null = null;
  /** The read loop and the write under way: `closed` waits for both to end after the socket. */
  #reading: Promise<void> = Promise.resolve();
  #write: Promise<void> = Promise.resolve();
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Close the socket once the queue has been written (the closing handshake is done). */
  #endWhenWritten = false;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #inFlightBytes = 0;
  #writing = false;
  #flushScheduled = false;
  #resolveClosed!: (info: WsCloseInfo) => void;
  /** Resolves once, when the socket is closed. */
  readonly closed: Promise<WsCloseInfo>;

  /** Wraps an upgraded connection; `leftover` is what was read past the request head. */
  constructor(conn: WsByteStream, leftover: Uint8Array, options: WsConnectionOptions) {
    this.#conn = conn;
    this.#leftover = leftover;
    this.#options = options;
    this.#parser = new WebSocketMessageParser({ maxMessageBytes: options.maxMessageBytes });
    this.#lastHeardAt = options.monotonic();
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** The largest message accepted from the next frame on (settable: phase limits). */
  get maxMessageBytes(): number {
    return this.#parser.maxMessageBytes;
  }

  set maxMessageBytes(bytes: number) {
    this.#parser.maxMessageBytes = bytes;
  }

  /** Bytes queued or being written (the part not yet taken by the socket). */
  get bufferedAmount(): number {
    return this.#queuedBytes + this.#inFlightBytes;
  }

  /**
   * When the peer was last heard (the monotonic clock's milliseconds): the
   * last read that brought bytes, a whole frame of any kind or part of one.
   */
  get lastHeardAt(): number {
    return this.#lastHeardAt;
  }

  /** True until a close frame is queued either way (then sends are refused). */
  get isOpen(): boolean {
    return this.#state === "open";
  }

  /** Starts reading and pinging; call once. */
  start(handlers: WsHandlers): void {
    if (this.#handlers !== null) throw new Error("WsConnection.start was called twice");
    this.#handlers = handlers;
    if (this.#state === "done") return;
    WsConnection.#watch(this);
    this.#reading = this.#readLoop();
  }

  /**
   * Queues one binary message; it is written in a microtask, together with
   * whatever else was queued by then, and never waits for the peer. False
   * when the connection is closing or closed (the message is dropped).
   */
  send(bytes: Uint8Array): boolean {
    if (this.#state !== "open") return false;
    this.#enqueue(encodeWebSocketFrame(WsOpcode.BINARY, bytes));
    return true;
  }

  /** Starts writing what is queued now rather than in the coming microtask. */
  flush(): void {
    if (this.#writing || this.#queue.length === 0 || this.#state === "done") return;
    this.#writing = true;
    const bytes = this.#queue.length === 1 ? this.#queue[0]! : joinFrames(this.#queue);
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#inFlightBytes = bytes.length;
    this.#write = this.#writeAll(bytes).then(() => {
      this.#writing = false;
      if (this.#queue.length > 0) this.flush();
      else if (this.#endWhenWritten) this.#end();
    }, () => {
      this.#writing = false;
      this.#end(); // a reset or a closed socket: nothing more can be said
    });
  }

  /**
   * Starts the closing handshake: no more sends, the close frame after what
   * is queued, then the socket closes when the peer's close frame comes or
   * after {@linkcode CLOSE_TIMEOUT_MS}. Later calls do nothing.
   */
  close(code: number, reason: string): void {
    this.#closeWith({ code, reason });
  }

  #closeWith(close: { code: number; reason: string; error?: unknown }): void {
    if (this.#state !== "open") return;
    this.#state = "closing";
    this.#ourClose = close;
    this.#enqueue(
      encodeWebSocketFrame(WsOpcode.CLOSE, encodeClosePayload(close.code, close.reason)),
    );
    this.#closeTimer = setTimeout(() => this.#end(), CLOSE_TIMEOUT_MS);
  }

  #enqueue(frame: Uint8Array): void {
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    if (this.#flushScheduled || this.#writing) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.flush();
    });
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) {
      const n = await this.#conn.write(bytes.subarray(written));
      written += n;
      if (this.#state !== "done") this.#inFlightBytes -= n; // #end already counted it out
    }
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    try {
      if (this.#leftover.length > 0) this.#receive(this.#leftover);
      this.#leftover = new Uint8Array(0);
      while (this.#state !== "done") {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        // Part of a frame is news of the peer too: a long message trickling in is not silence.
        this.#lastHeardAt = this.#options.monotonic();
        this.#receive(buffer.subarray(0, n));
      }
    } catch {
      // A reset, or the socket closed under the read: #end says how it ended.
    }
    this.#end();
  }

  /** Bytes from the peer: each message the parser completes is dealt with in order. */
  #receive(bytes: Uint8Array): void {
    let messages: WsMessage[];
    try {
      messages = this.#parser.push(bytes);
    } catch (error) {
      if (!(error instanceof WebSocketFrameError)) throw error;
      return this.#closeWith({ code: error.closeCode, reason: error.message });
    }
    for (const message of messages) {
      if (this.#state === "done") return;
      try {
        this.#handle(message);
      } catch (error) {
        // A handler's bug: the peer learns only that the server failed.
        this.#closeWith({ code: 1011, reason: "server error", error });
      }
    }
  }

  #handle({ opcode, payload }: WsMessage): void {
    this.#handlers!.alive?.();
    switch (opcode) {
      case WsOpcode.BINARY:
        // After our close frame, data is dropped (RFC 6455 section 1.4).
        if (this.#state === "open") this.#handlers!.message(payload);
        return;
      case WsOpcode.TEXT:
        return this.close(1003, "text messages are not accepted");
      case WsOpcode.PING:
        if (this.#state === "open") this.#enqueue(encodeWebSocketFrame(WsOpcode.PONG, payload));
        return;
      case WsOpcode.CLOSE:
        return this.#peerClosed(payload);
    }
    // PONG: being alive is all it says.
  }

  /** The peer's close frame: the answer to ours, or its own close to echo. */
  #peerClosed(payload: Uint8Array): void {
    if (this.#state === "open") {
      const { code, reason } = decodeClosePayload(payload);
      this.#state = "closing";
      this.#peerClose = { code, reason };
      // Echo its code (none if it gave none); the server closes the TCP connection first.
      const echo = code === 1005 ? new Uint8Array(0) : encodeClosePayload(code, "");
      this.#enqueue(encodeWebSocketFrame(WsOpcode.CLOSE, echo));
      this.#closeTimer = setTimeout(() => this.#end(), CLOSE_TIMEOUT_MS);
    }
    this.#endWhenWritten = true;
    if (!this.#writing && this.#queue.length === 0) this.#end();
  }

  /**
   * Closes the socket (once) and tells how the connection ended, after the
   * read and the write under way have ended too (closing the socket ends
   * them), so that nothing of this connection runs once `closed` resolves.
   */
  #end(): void {
    if (this.#state === "done") return;
    this.#state = "done";
    clearTimeout(this.#closeTimer);
    WsConnection.#unwatch(this);
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#inFlightBytes = 0;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    const info: WsCloseInfo = this.#ourClose !== null
      ? { ...this.#ourClose, byPeer: false }
      : this.#peerClose !== null
      ? { ...this.#peerClose, byPeer: true }
      : { code: 1006, reason: "", byPeer: true };
    Promise.all([this.#reading, this.#write]).then(() => {
      this.#resolveClosed(info);
      this.#handlers?.closed(info);
    });
  }

  /** Nothing heard for the silence limit: closed with 1001, the socket destroyed at once. */
  #sweep(now: number): void {
    if (now - this.#lastHeardAt >= this.#options.silenceLimitMs) {
      this.close(1001, "no answer to pings");
      this.flush(); // the close frame goes if the socket takes it, but nothing waits for it
      this.#end();
    } else if (this.#state === "open") {
      this.#enqueue(encodeWebSocketFrame(WsOpcode.PING, new Uint8Array(0)));
    }
  }

  static #watch(connection: WsConnection): void {
    const period = connection.#options.pingIntervalMs;
    let sweep = WsConnection.#sweeps.get(period);
    if (sweep === undefined) {
      const connections = new Set<WsConnection>();
      const timer = setInterval(() => {
        for (const each of connections) each.#sweep(each.#options.monotonic());
      }, period);
      sweep = { connections, timer };
      WsConnection.#sweeps.set(period, sweep);
    }
    sweep.connections.add(connection);
  }

  static #unwatch(connection: WsConnection): void {
    const period = connection.#options.pingIntervalMs;
    const sweep = WsConnection.#sweeps.get(period);
    if (sweep === undefined || !sweep.connections.delete(connection)) return;
    if (sweep.connections.size > 0) return;
    clearInterval(sweep.timer);
    WsConnection.#sweeps.delete(period);
  }
}

function joinFrames(frames: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const frame of frames) size += frame.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const frame of frames) {
    out.set(frame, at);
    at += frame.length;
  }
  return out;
}
