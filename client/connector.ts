/**
 * How the session library reaches a server, as interfaces: a
 * {@linkcode Connector} asks for a membership (CREATE_ROOM or JOIN_ROOM) and
 * hands back the answer together with the {@linkcode DatagramChannel} the
 * session then talks over. TCP + UDP is one implementation
 * (`client/tcp_udp_connector.ts`); tests pass a fake, and a browser can pass
 * one over a WebSocket.
 */
import type { JoinAccepted, RoomRequest } from "../protocol/tcrp.ts";
import type { HostPort } from "../protocol/host_port.ts";
import { bytesToHex, sameBytes } from "../protocol/bytes.ts";
import {
  type SealedSessionParams,
  type ServerKeyCheck,
  ServerKeyMismatchError,
} from "../protocol/sealed_types.ts";
import { ChatRefusedError, ChatTransportError } from "./errors.ts";
import type { Scheduler, TimerId } from "./scheduler.ts";

export type { JoinAccepted, RoomRequest, SealedSessionParams };

/**
 * Chat datagrams to and from one server, for one membership, as bytes on
 * the wire: plain ones as `protocol/datagram.ts` encodes them, sealed ones
 * as `protocol/sealed_datagram.ts` does (the session seals, opens, decodes
 * and drops garbage; the channel only carries).
 */
export interface DatagramChannel {
  /** Sends one datagram; never waits. Loss is the session's business, not an error. */
  send(bytes: Uint8Array): void;
  /**
   * The next datagram from the server, or null once the channel is closed
   * (by {@linkcode close} or by the other end). One call at a time. A
   * rejection is a failure the session cannot explain: it closes as lost.
   */
  receive(): Promise<Uint8Array | null>;
  /** Closes the channel; a pending receive resolves null. Closing twice is harmless. */
  close(): void;
  /** Our end of the channel, when it has an address (a fault proxy can single it out). */
  readonly local?: HostPort;
  /**
   * How a reliable channel ended, once {@linkcode receive} has resolved null
   * because the other end (or the network) closed it: the WebSocket close
   * code and reason (1006 when the socket dropped without a close frame).
   * Null while open, or when we closed it ourselves; absent on channels
   * that have no such thing (UDP).
   */
  readonly closeInfo?: ChannelCloseInfo | null;
}

/** Why a reliable channel closed: a WebSocket close code and its reason text. */
export interface ChannelCloseInfo {
  code: number;
  reason: string;
}

/**
 * Close codes after which a session does not resume (docs/protocol.md 7.2,
 * 7.5): 4403 the page's origin is refused, 4409 the session continued on a
 * newer connection (another tab or a reload took it over), 4426 the page is
 * out of date. Every other code is retried with backoff.
 */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([4403, 4409, 4426]);

/** True when a socket that closed with `code` must not be resumed. */
export function isFatalClose(code: number): boolean {
  return FATAL_CLOSE_CODES.has(code);
}

/**
 * The server closed the socket with a code that retrying cannot change
 * ({@linkcode FATAL_CLOSE_CODES}): a refusal, final like a sealed one, whose
 * `status` is the close code and whose message is the text to show (the
 * server's reason, or ours when it gave none).
 */
export class ChatClosedError extends ChatRefusedError {
  /** The close code (also `status`). */
  readonly closeCode: number;

  /** `closeCode` and the text to show. */
  constructor(closeCode: number, message: string) {
    super(closeCode, message);
    this.name = "ChatClosedError";
    this.closeCode = closeCode;
  }
}

/** The words for a fatal close: the server's reason, or what the code means. */
export function describeFatalClose(info: ChannelCloseInfo): string {
  if (info.reason.trim() !== "") return info.reason;
  switch (info.code) {
    case 4403:
      return "the server refused this page's origin";
    case 4409:
      return "continued on a newer connection";
    case 4426:
      return "this page is out of date: reload it";
    default:
      return `the connection closed (${info.code})`;
  }
}

/** What a successful {@linkcode Connector.connect} yields. */
export interface Connection {
  /** The server's answer: where datagrams go, their size limit, heartbeat and idle periods. */
  accepted: JoinAccepted;
  /** The member's token, carried by every plain datagram; empty for a sealed connection. */
  token: Uint8Array;
  /**
   * Present when the membership is sealed (docs/protocol.md 6): the keys,
   * reset token and server keys from the sealed answer. The session then
   * seals every datagram and accepts only authenticated ones; absent, it
   * speaks the plain protocol.
   */
  sealed?: SealedSessionParams;
  /** The channel for this membership's datagrams. */
  channel: DatagramChannel;
  /**
   * True when the channel neither loses nor reorders (a WebSocket, say): the
   * session then sends each HELLO and MESSAGE once per connection instead of
   * repeating it. UDP is not.
   */
  reliable: boolean;
}

/** How long a {@linkcode Connector.connect} may take, and how to cancel it. */
export interface ConnectOptions {
  /** Aborting gives up on the request (the promise rejects). */
  signal?: AbortSignal;
  /** Give up after this many milliseconds. */
  timeoutMs: number;
}

/**
 * Asks a server for a membership.
 *
 * A connector for sealed sessions checks the server's static key before it
 * sends anything secret, and keeps the key it first accepted: every later
 * request (a rejoin) must meet that same key, whatever a pin store says by
 * then, and one that meets another is stopped before the request goes out
 * (`ServerKeyMismatchError`). A rejoin never pins a new key.
 *
 * @example A connector that counts its calls around another one
 * ```ts
 * let calls = 0;
 * const counting: Connector = {
 *   connect: (request, options) => {
 *     calls++;
 *     return inner.connect(request, options);
 *   },
 * };
 * ```
 */
export interface Connector {
  /**
   * Sends one CREATE_ROOM or JOIN_ROOM. Resolves with the answer and an open
   * channel; rejects with `ChatRefusedError` when the server says no
   * (`status` is its code; for a sealed request, only a sealed refusal),
   * `ChatTransportError` when it cannot be reached, answers with garbage,
   * in time or at all, or refuses before the handshake completes (a plain
   * refusal, with its `status`: anyone could have sent it), and
   * `ServerKeyMismatchError` when the server proved another key.
   */
  connect(request: RoomRequest, options: ConnectOptions): Promise<Connection>;
  /**
   * For a reliable connection whose channel can close and be resumed (a
   * WebSocket): opens a new channel to the same server for the same
   * membership, without a new request. The session's first datagram on it
   * (HELLO with its lastSeq, sealed under the same keys and the next
   * counter) is the resume. Rejects with `ChatTransportError` when the
   * server cannot be reached in time (retried), or `ChatClosedError` when
   * it closed the socket with a fatal code (final).
   */
  reconnect?(connection: Connection, options: ConnectOptions): Promise<DatagramChannel>;
}

/**
 * How long past `timeoutMs` a connector has to give its own answer (an
 * error that names the server, say) before the library gives up on it.
 */
export const CONNECT_GRACE_MS = 1_000;

/**
 * {@linkcode Connector.connect} with a deadline on the library's own clock,
 * so a connector that ignores `timeoutMs` cannot hang the session: at the
 * deadline (`timeoutMs` plus {@linkcode CONNECT_GRACE_MS}) the request's
 * signal aborts and this rejects with `ChatTransportError`; a connection
 * that arrives after that is closed.
 */
export function connectWithin(
  connector: Connector,
  request: RoomRequest,
  options: ConnectOptions & { scheduler: Scheduler },
): Promise<Connection> {
  return withinDeadline(
    (attempt) => connector.connect(request, attempt),
    (connection) => connection.channel.close(),
    { ...options, late: `no answer from the server within ${options.timeoutMs} ms` },
  );
}

/**
 * `start` with a deadline on the library's clock (`timeoutMs` plus
 * {@linkcode CONNECT_GRACE_MS}): then the attempt's signal aborts and this
 * rejects with `ChatTransportError(late)`; what the attempt yields after
 * that goes to `discard`, since nobody will use it. What
 * {@linkcode connectWithin} and a session's resume both use.
 */
export function withinDeadline<T>(
  start: (attempt: ConnectOptions) => Promise<T>,
  discard: (late: T) => void,
  options: ConnectOptions & { scheduler: Scheduler; late: string },
): Promise<T> {
  const { scheduler, timeoutMs } = options;
  const abort = new AbortController();
  const signal = options.signal === undefined
    ? abort.signal
    : AbortSignal.any([abort.signal, options.signal]);
  let timer: TimerId | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = scheduler.setTimeout(() => {
      abort.abort();
      reject(new ChatTransportError(options.late));
    }, timeoutMs + CONNECT_GRACE_MS);
  });
  const attempt = start({ signal, timeoutMs });
  attempt.then((value) => {
    if (abort.signal.aborted) discard(value);
  }, () => {});
  return Promise.race([attempt, deadline]).finally(() => scheduler.clearTimeout(timer));
}

/**
 * `check` for the first key a connector meets, then that key only: what a
 * connector for sealed sessions uses, so a rejoin never pins a new key
 * (whatever the pin store says by then, after a `chat trust` or a first-use
 * pin by another client). A later key that differs is refused with
 * {@linkcode ServerKeyMismatchError} (both keys whole, in hex), before the
 * exchange sends its request. A first check that throws keeps nothing.
 *
 * @example
 * ```ts
 * const check = keepFirstServerKey((key) => pins.check(server, key));
 * await check(keyA); // pins.check ran (it may pin on first use)
 * await check(keyA); // the kept key: no pin store involved
 * await check(keyB); // throws ServerKeyMismatchError
 * ```
 */
export function keepFirstServerKey(
  check: ServerKeyCheck,
  describeChange: (kept: Uint8Array, actual: Uint8Array) => string = describeKeyChange,
): ServerKeyCheck {
  let kept: Uint8Array | null = null;
  return async (serverStaticKey) => {
    if (kept === null) {
      await check(serverStaticKey);
      kept ??= serverStaticKey.slice();
      return;
    }
    if (!sameBytes(kept, serverStaticKey)) {
      throw new ServerKeyMismatchError(
        kept,
        serverStaticKey.slice(),
        describeChange(kept, serverStaticKey),
      );
    }
  };
}

/** The default words for a changed key: both keys in full, in hex. */
function describeKeyChange(kept: Uint8Array, actual: Uint8Array): string {
  return `the server's key changed since this session first connected (was ${bytesToHex(kept)}, ` +
    `now ${bytesToHex(actual)}); nothing was sent. If the server's key was replaced ` +
    "on purpose, trust the new one and join again";
}
