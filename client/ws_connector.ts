/**
 * The session library's connector for a browser (docs/protocol.md 7): one
 * WebSocket carries the sealed TCRP exchange (one TCRP frame per binary
 * message, `sealed_exchange.ts`, the same code as over TCP) and then the
 * sealed datagrams of the membership (one per message). The channel is
 * reliable, and when its socket closes the session resumes on a new one
 * ({@linkcode WebSocketConnector.reconnect}): no new request, its first
 * datagram (HELLO with lastSeq) is the resume.
 *
 * Only the standard WebSocket API (no Deno API, no global timers: the
 * deadlines run on the injected scheduler), so it runs in a browser; tests
 * inject the WebSocket constructor.
 *
 * @module
 */
import { ProtocolError } from "../protocol/errors.ts";
import type { CryptoProvider, ServerKeyCheck } from "../protocol/sealed_types.ts";
import {
  type ListRequest,
  Operation,
  type RoomList,
  type RoomRequest,
  type TcrpFrame,
  TcrpFrameParser,
} from "../protocol/tcrp.ts";
import {
  type ChannelCloseInfo,
  ChatClosedError,
  type Connection,
  type ConnectOptions,
  type Connector,
  type DatagramChannel,
  describeFatalClose,
  isFatalClose,
  keepFirstServerKey,
} from "./connector.ts";
import { ChatTransportError } from "./errors.ts";
import { type Scheduler, systemScheduler, type TimerId } from "./scheduler.ts";
import {
  type FrameStream,
  type SealedExchangeOptions,
  sealedListExchange,
  sealedRoomExchange,
} from "./sealed_exchange.ts";

/** The WebSocket subprotocol of this profile (bots, tests, the bench). */
export const WS_SUBPROTOCOL = "chat.ws.1";

/** The subprotocol to offer: `chat.ws.1`, or `chat.ws.1.build.<build>` for a page of that build. */
export function subprotocolFor(build?: string): string {
  return build === undefined ? WS_SUBPROTOCOL : `${WS_SUBPROTOCOL}.build.${build}`;
}

/** What the connector needs of a WebSocket class: the standard constructor. */
export type WebSocketConstructor = new (url: string, protocols: string[]) => WebSocket;

/** A server's room list answer may be long (a page of 200 rooms with long names); past this it is garbage. */
const MAX_FRAME_PAYLOAD_BYTES = 16 * 1024 * 1024;

/** Messages kept for a reader that is behind; past this they are dropped like lost datagrams. */
const RECEIVE_QUEUE_MESSAGES = 4_096;

/** Options of {@linkcode WebSocketConnector} and {@linkcode listRoomsOverWebSocket}. */
export interface WebSocketConnectorOptions {
  /** The server's WebSocket, e.g. `wss://chat.example/ws`. */
  url: string;
  /** Seals the exchange (and, passed to the session, the datagrams). */
  crypto: CryptoProvider;
  /**
   * Judges the server's key: the page trusts the key it was served with.
   * The connector holds every later request (a rejoin) to the first key
   * that passed.
   */
  checkServerKey: ServerKeyCheck;
  /** The page's build id (12 hex): offered as `chat.ws.1.build.<build>`. */
  build?: string;
  /** The WebSocket class; default the global one. */
  WebSocket?: WebSocketConstructor;
  /** The clock for the deadlines; default the system's. */
  scheduler?: Scheduler;
}

/**
 * Connects over a WebSocket: each membership request is a sealed exchange
 * on a new socket, and the same socket then carries the membership's
 * datagrams (`reliable: true`).
 *
 * A socket the server closes with 4403 (origin refused) or 4426 (page out
 * of date) rejects with {@linkcode ChatClosedError} (final, its reason to
 * show); any other close before the answer is a `ChatTransportError`
 * naming the code (retried like an unreachable server).
 *
 * @example
 * ```ts
 * const connector = new WebSocketConnector({ url: "ws://127.0.0.1:8080/ws", crypto, checkServerKey });
 * const session = await ChatSession.open({ connector, crypto, create: false, room: "general", username: "ann" });
 * ```
 */
export class WebSocketConnector implements Connector {
  /** The server's WebSocket URL. */
  readonly url: string;
  /** The subprotocol every socket offers. */
  readonly subprotocol: string;
  #exchange: SealedExchangeOptions;
  #WebSocket: WebSocketConstructor;
  #scheduler: Scheduler;

  /** A connector for the server at `options.url`. */
  constructor(options: WebSocketConnectorOptions) {
    this.url = options.url;
    this.subprotocol = subprotocolFor(options.build);
    this.#exchange = {
      crypto: options.crypto,
      checkServerKey: keepFirstServerKey(options.checkServerKey),
    };
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.#scheduler = options.scheduler ?? systemScheduler;
  }

  /** The sealed exchange on a new socket; the socket stays open as the membership's channel. */
  connect(request: RoomRequest, options: ConnectOptions): Promise<Connection> {
    return this.#withSocket(options, async (socket, stream) => {
      const membership = await sealedRoomExchange(stream, request, this.#exchange);
      return {
        accepted: membership.accepted,
        token: new Uint8Array(0),
        sealed: membership.session,
        channel: socket.channel(),
        reliable: true,
      };
    }, { keepOpen: true });
  }

  /**
   * A new socket for `connection`'s membership, open and unused: the
   * session's first datagram on it is the resume.
   */
  reconnect(connection: Connection, options: ConnectOptions): Promise<DatagramChannel> {
    if (!connection.reliable || connection.sealed === undefined) {
      return Promise.reject(new TypeError("only a sealed WebSocket connection can be resumed"));
    }
    return this.#withSocket(options, (socket) => Promise.resolve(socket.channel()), {
      keepOpen: true,
    });
  }

  /** One LIST page on its own socket (the server closes it after the answer). */
  list(request: ListRequest, options: ConnectOptions): Promise<RoomList> {
    return this.#withSocket(options, async (_socket, stream) => {
      const { list } = await sealedListExchange(stream, request, this.#exchange);
      return list;
    }, { keepOpen: false });
  }

  /**
   * Opens a socket and runs `talk` over it within `timeoutMs` and the
   * signal; the socket is closed when `talk` fails, or when it is done
   * unless `keepOpen`.
   */
  async #withSocket<T>(
    options: ConnectOptions,
    talk: (socket: WsSocket, stream: FrameStream) => Promise<T>,
    { keepOpen }: { keepOpen: boolean },
  ): Promise<T> {
    const { signal, timeoutMs } = options;
    if (signal?.aborted) throw new ChatTransportError("cancelled before connecting");
    let socket: WsSocket;
    try {
      socket = new WsSocket(new this.#WebSocket(this.url, [this.subprotocol]), this.subprotocol);
    } catch (error) {
      // A malformed URL, or a page not allowed to open it (mixed content, say).
      throw new ChatTransportError(`cannot open a WebSocket to ${this.url}: ${describe(error)}`, {
        cause: error,
      });
    }
    let timer: TimerId | undefined;
    let onAbort = () => {};
    const stopped = new Promise<never>((_, reject) => {
      timer = this.#scheduler.setTimeout(
        () => reject(new ChatTransportError(`no answer from ${this.url} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      onAbort = () => reject(new ChatTransportError("cancelled"));
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const result = await Promise.race([
        socket.opened.then(() => talk(socket, socket.frames())),
        stopped,
      ]);
      if (!keepOpen) socket.close();
      return result;
    } catch (error) {
      socket.close();
      throw asConnectError(error);
    } finally {
      this.#scheduler.clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

/** What {@linkcode listRoomsOverWebSocket} takes: the connector's options and one page's request. */
export interface WebSocketListOptions extends WebSocketConnectorOptions {
  /** The page after this cursor (a previous answer's `next`); absent: the first page. */
  cursor?: string | null;
  /** Rooms per page (the server's default when absent). */
  limit?: number | null;
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * One page of the room list over a sealed exchange on its own WebSocket,
 * for the page's room chooser: `next` in the answer names the following
 * page. Rejects as {@linkcode WebSocketConnector.connect} does.
 */
export function listRoomsOverWebSocket(options: WebSocketListOptions): Promise<RoomList> {
  const request: ListRequest = { operation: Operation.LIST_ROOMS };
  if (options.cursor !== undefined && options.cursor !== null) request.cursor = options.cursor;
  if (options.limit !== undefined && options.limit !== null) request.limit = options.limit;
  return new WebSocketConnector(options).list(request, {
    timeoutMs: options.timeoutMs ?? 10_000,
    signal: options.signal,
  });
}

/** What went wrong, as the session library's kinds. */
function asConnectError(error: unknown): unknown {
  if (error instanceof ProtocolError) {
    return new ChatTransportError(`the server sent a malformed answer: ${error.message}`, {
      cause: error,
    });
  }
  return error; // ChatRefusedError, ChatTransportError, a failed key check: as they are
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The words and kind for a socket that closed under us. */
function closedError(info: ChannelCloseInfo, when: string): Error {
  if (isFatalClose(info.code)) return new ChatClosedError(info.code, describeFatalClose(info));
  const reason = info.reason === "" ? "" : `: ${info.reason}`;
  return new ChatTransportError(`the server closed the WebSocket ${when} (${info.code}${reason})`);
}

/**
 * One WebSocket, as a queue of binary messages: the handshake reads frames
 * from it, then the membership's channel reads datagrams. Nothing is lost
 * between the two: both read the same queue.
 */
class WsSocket {
  /** Resolves once open; rejects when the socket closes first. */
  readonly opened: Promise<void>;
  #ws: WebSocket;
  #queue: (Uint8Array | string)[] = [];
  #waiting: ((message: Uint8Array | string | null) => void) | null = null;
  /** How the other end (or the network) closed it; null while open or when we closed it. */
  #closeInfo: ChannelCloseInfo | null = null;
  #closed = false;

  constructor(ws: WebSocket, subprotocol: string) {
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    this.opened = new Promise((resolve, reject) => {
      ws.onopen = () => {
        if (ws.protocol !== subprotocol) {
          // A server that does not speak this profile (or an old one) would misread everything.
          reject(
            new ChatTransportError(
              `the server did not accept the WebSocket subprotocol ${subprotocol}` +
                (ws.protocol === "" ? "" : ` (it chose ${ws.protocol})`),
            ),
          );
          return;
        }
        resolve();
      };
      ws.onclose = (event) => {
        if (!this.#closed) this.#closeInfo = { code: event.code, reason: event.reason };
        // What came before the close is still read (a CLOSED, a reset): only our close drops it.
        this.#closed = true;
        reject(closedError(this.#closeInfo ?? { code: event.code, reason: "" }, "on opening"));
        this.#wake(null);
      };
    });
    this.opened.catch(() => {}); // the caller races it; a late rejection is no one's
    ws.onerror = () => {}; // a close event follows, with the code
    ws.onmessage = (event) => {
      if (this.#closed) return;
      const data = event.data;
      const message = data instanceof ArrayBuffer ? new Uint8Array(data) : String(data);
      if (this.#waiting !== null) this.#wake(message);
      else if (this.#queue.length < RECEIVE_QUEUE_MESSAGES) this.#queue.push(message);
    };
  }

  /** The next message (a string for a text message), or null once closed. */
  next(): Promise<Uint8Array | string | null> {
    const next = this.#queue.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  get closeInfo(): ChannelCloseInfo | null {
    return this.#closeInfo;
  }

  send(bytes: Uint8Array): void {
    // Closing or closed: the session finds out from receive(); a send never throws.
    if (this.#closed || this.#ws.readyState !== 1) return;
    this.#ws.send(bytes);
  }

  /** Closes it (1000); what waits for a message gets null. Closing twice is harmless. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#wake(null);
    try {
      this.#ws.close(1000);
    } catch { /* closing anyway */ }
  }

  /** The handshake's view: each binary message exactly one whole TCRP frame. */
  frames(): FrameStream {
    const parser = new TcrpFrameParser({ maxPayloadBytes: MAX_FRAME_PAYLOAD_BYTES });
    return {
      write: (bytes) => {
        this.send(bytes);
        return Promise.resolve();
      },
      read: async (): Promise<TcrpFrame | null> => {
        const message = await this.next();
        if (message === null) {
          throw closedError(
            this.#closeInfo ?? { code: 1006, reason: "" },
            "before answering in full",
          );
        }
        if (typeof message === "string") {
          throw new ChatTransportError("the server sent a text message where a frame belongs");
        }
        const frames = parser.push(message); // a bad header throws ProtocolError
        if (frames.length !== 1 || parser.pendingBytes !== 0) {
          throw new ChatTransportError("a WebSocket message from the server is not one TCRP frame");
        }
        return frames[0]!;
      },
    };
  }

  /** The membership's view: one sealed datagram per binary message; text is dropped as garbage. */
  channel(): DatagramChannel {
    const closeInfo = () => this.#closeInfo;
    return {
      send: (bytes) => this.send(bytes),
      receive: async () => {
        while (true) {
          const message = await this.next();
          if (message === null || typeof message !== "string") return message;
        }
      },
      close: () => this.close(),
      get closeInfo() {
        return closeInfo();
      },
    };
  }

  #wake(message: Uint8Array | string | null): void {
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.(message);
  }
}
