/**
 * A load generator member's WebSocket, as the generator's {@linkcode BenchSocket}:
 * Deno's built-in WebSocket client (the standard API a page has), binary
 * messages only, offering the `chat.ws.1` subprotocol (docs/protocol.md 7).
 *
 * Before {@linkcode WsBenchSocket.receiveLoop} is called, messages queue and
 * are read one at a time ({@linkcode WsBenchSocket.frameStream} reads the
 * sealed TCRP handshake that way, one whole frame per message); after it,
 * each goes to the loop's callback (queued ones first).
 *
 * @module
 */
import type { FrameStream } from "../../client/sealed_exchange.ts";
import { type TcrpFrame, TcrpFrameParser } from "../../protocol/tcrp.ts";
import type { BenchSocket } from "./socket.ts";

/** The subprotocol bench clients offer (no page build: ws.md decision 2). */
export const WS_SUBPROTOCOL = "chat.ws.1";

/** How a socket closed (1006 when it never opened or died without a close frame). */
export interface WsClosed {
  code: number;
  reason: string;
}

/** A handshake answer (a LIST answer included) fits in this; anything larger is refused. */
const MAX_HANDSHAKE_FRAME = 64 * 1024;

/** One member's WebSocket. */
export class WsBenchSocket implements BenchSocket {
  readonly port = 0;
  #ws: WebSocket;
  #queue: Uint8Array[] = [];
  #wake: (() => void) | null = null;
  #handler: ((bytes: Uint8Array) => void) | null = null;
  #closedInfo: WsClosed | null = null;
  #sendErrors = 0;
  /** Resolves once the socket has closed, for whatever reason. */
  readonly closed: Promise<WsClosed>;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    let resolveClosed: (info: WsClosed) => void = () => {};
    this.closed = new Promise((resolve) => (resolveClosed = resolve));
    ws.onmessage = (event: MessageEvent) => {
      if (!(event.data instanceof ArrayBuffer)) return; // the server sends binary only
      const bytes = new Uint8Array(event.data);
      if (this.#handler !== null) this.#handler(bytes);
      else {
        this.#queue.push(bytes);
        this.#wakeUp();
      }
    };
    ws.onclose = (event: CloseEvent) => {
      this.#closedInfo = { code: event.code, reason: event.reason };
      this.#wakeUp();
      resolveClosed(this.#closedInfo);
    };
    ws.onerror = () => {}; // a close event follows
  }

  /**
   * Opens a WebSocket to `url` and waits until it is open; rejects with the
   * close code when it does not open within `timeoutMs`.
   */
  static open(url: string, timeoutMs = 10_000): Promise<WsBenchSocket> {
    const ws = new WebSocket(url, [WS_SUBPROTOCOL]);
    const socket = new WsBenchSocket(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.close();
        reject(new Error(`WebSocket ${url}: not open after ${timeoutMs} ms`));
      }, timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve(socket);
      };
      socket.closed.then((info) => {
        clearTimeout(timer);
        reject(new Error(`WebSocket ${url} closed before it opened (${info.code} ${info.reason})`));
      });
    });
  }

  /** Null while open; how it closed after. */
  get closedInfo(): WsClosed | null {
    return this.#closedInfo;
  }

  /** Bytes queued in the client and not yet sent. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  get sendErrors(): number {
    return this.#sendErrors;
  }

  /** One binary message (`_to` is for UDP sockets: the socket is the endpoint). */
  send(bytes: Uint8Array, _to?: unknown): void {
    if (this.#ws.readyState !== WebSocket.OPEN) {
      this.#sendErrors++;
      return;
    }
    this.#ws.send(bytes);
  }

  /** The next queued message, or null once the socket closed (or `timeoutMs` passed). */
  async nextMessage(timeoutMs = 10_000): Promise<Uint8Array | null> {
    const deadline = performance.now() + timeoutMs;
    while (this.#queue.length === 0) {
      if (this.#closedInfo !== null) return null;
      const left = deadline - performance.now();
      if (left <= 0) return null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = null;
    }
    return this.#queue.shift()!;
  }

  /**
   * The socket as a {@linkcode FrameStream} for client/sealed_exchange.ts:
   * each message written is whole frames, each message read one whole frame.
   */
  frameStream(): FrameStream {
    return {
      write: (bytes) => {
        this.send(bytes);
        return Promise.resolve();
      },
      read: async (): Promise<TcrpFrame | null> => {
        const message = await this.nextMessage();
        if (message === null) return null;
        const frames = new TcrpFrameParser({ maxPayloadBytes: MAX_HANDSHAKE_FRAME }).push(message);
        if (frames.length !== 1) throw new Error(`a handshake message of ${frames.length} frames`);
        return frames[0]!;
      },
    };
  }

  /** Puts a message read by {@linkcode nextMessage} back in front of the queue. */
  unshift(bytes: Uint8Array): void {
    this.#queue.unshift(bytes);
  }

  /** Hands every message (queued ones first) to `onDatagram` until the socket closes. */
  async receiveLoop(onDatagram: (bytes: Uint8Array) => void): Promise<void> {
    for (const bytes of this.#queue.splice(0)) onDatagram(bytes);
    this.#handler = onDatagram;
    await this.closed;
  }

  /** Closes it (1000); the receive loop then ends. */
  close(): void {
    try {
      this.#ws.close(1000, "bench done");
    } catch { /* already closing */ }
  }

  #wakeUp(): void {
    this.#wake?.();
  }
}
