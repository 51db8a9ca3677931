/**
 * One WebSocket as the sealed transport reaches a member through it
 * (docs/protocol.md 7.3): one sealed datagram per binary message, and the
 * backpressure rules of a reliable transport. A browser that stops reading
 * (a frozen tab, a phone on a bad link) makes the socket's buffer grow
 * without bound, since a WebSocket send never blocks; so before each send
 * the link looks at `bufferedAmount`:
 *
 * - over the soft limit, EVENTs are shed (counted): the member repairs the
 *   gap with RESEND once it reads again;
 * - over the hard limit, or over the soft one for {@linkcode SLOW_READER_MS},
 *   the socket is closed 4008 (counted): the member is disconnected (grace)
 *   and catches up when it resumes on a new socket;
 * - anything else (ACK, WELCOME, KEY, CLOSED...) is sent while under hard.
 *
 * @module
 */
import type { Peer } from "../endpoint.ts";

/** WebSocket close codes of the chat profile (docs/protocol.md 7.2, 7.3). */
export const WsCloseCode = {
  /** Done: a list answered, a refusal, an unknown session, a membership ended. */
  DONE: 1000,
  /** The server is shutting down (after CLOSED 4), or the peer went silent. */
  GOING_AWAY: 1001,
  /** The server failed unexpectedly. */
  SERVER_ERROR: 1011,
  /** The handshake gate evicted an unfinished handshake for a newer one: try again later. */
  TRY_AGAIN_LATER: 1013,
  /** The socket's reader is too slow (hard backpressure). */
  SLOW_READER: 4008,
  /** A message that is not what the phase takes. */
  BAD_MESSAGE: 4400,
  /** The session continued on a newer socket. */
  REPLACED: 4409,
} as const;

/** The part of a WebSocket connection a link needs (server/http/ws_connection.ts has it). */
export interface WsSocket {
  /** Queues one binary message; false when the socket is closed. */
  send(bytes: Uint8Array): boolean;
  /** Writes what is queued now. */
  flush(): void;
  close(code: number, reason: string): void;
  /** Bytes queued or being written. */
  readonly bufferedAmount: number;
  readonly isOpen: boolean;
}

/** Backpressure limits (serve --ws-buffer-soft, --ws-buffer-hard). */
export interface WsBufferLimits {
  softBytes: number;
  hardBytes: number;
  /** How long a socket may stay over the soft limit (default {@linkcode SLOW_READER_MS}; tests). */
  slowReaderMs?: number;
}

/** How long a socket may stay over the soft limit before it is closed as a slow reader. */
export const SLOW_READER_MS = 10_000;

/** Counters every link of a front end shares. */
export interface WsLinkStats {
  /** Datagrams (messages) sent, and their bytes. */
  datagramsOut: number;
  bytesOut: number;
  /** EVENTs skipped over the soft limit. */
  shed: number;
  /** Sockets closed 4008: over the hard limit, or over the soft one too long. */
  slowClosed: number;
  /** Datagrams not sent because the socket was closed (a member in its grace period). */
  toClosed: number;
}

/** A fresh set of link counters. */
export function newWsLinkStats(): WsLinkStats {
  return { datagramsOut: 0, bytesOut: 0, shed: 0, slowClosed: 0, toClosed: 0 };
}

/** What a link is made with. */
export interface WsLinkOptions {
  limits: WsBufferLimits;
  stats: WsLinkStats;
  monotonic: () => number;
}

/** One socket as a sealed member's endpoint reaches it. */
export class WsLink {
  readonly socket: WsSocket;
  /** Who opened it (the remote address, after --trust-proxy). */
  readonly peer: Peer;
  #options: WsLinkOptions;
  #overSoftSince = -1;
  #closedBy = 0;

  /** A link over `socket`. */
  constructor(socket: WsSocket, peer: Peer, options: WsLinkOptions) {
    this.socket = socket;
    this.peer = peer;
    this.#options = options;
  }

  /** Open, and not being closed by us. */
  get open(): boolean {
    return this.#closedBy === 0 && this.socket.isOpen;
  }

  /** The close code we closed it with, or 0. */
  get closedWith(): number {
    return this.#closedBy;
  }

  /**
   * Whether one more datagram may go now: `sheddable` (an EVENT) only
   * under the soft limit, anything else under the hard one. Past the hard
   * limit, or over the soft one for too long, the socket is closed 4008.
   */
  admits(sheddable: boolean): boolean {
    if (!this.open) {
      this.#options.stats.toClosed++;
      return false;
    }
    if (!this.#checkSlow()) return false;
    if (sheddable && this.#overSoftSince >= 0) {
      this.#options.stats.shed++;
      return false;
    }
    return true;
  }

  /**
   * Applies the limits without sending (the server's sweep): false when the
   * socket was closed as a slow reader, now or before.
   */
  checkSlow(): boolean {
    return this.open && this.#checkSlow();
  }

  /** Sends one datagram (call {@linkcode admits} first). */
  send(bytes: Uint8Array): void {
    if (!this.socket.send(bytes)) return;
    this.#options.stats.datagramsOut++;
    this.#options.stats.bytesOut += bytes.length;
  }

  flush(): void {
    if (this.socket.isOpen) this.socket.flush();
  }

  /** Closes the socket once (later calls are ignored: the first reason stands). */
  close(code: number, reason: string): void {
    if (this.#closedBy !== 0) return;
    this.#closedBy = code;
    this.socket.close(code, reason);
  }

  #checkSlow(): boolean {
    const { limits, stats, monotonic } = this.#options;
    const buffered = this.socket.bufferedAmount;
    if (buffered <= limits.softBytes) {
      this.#overSoftSince = -1;
      return true;
    }
    const now = monotonic();
    if (this.#overSoftSince < 0) this.#overSoftSince = now;
    const patience = limits.slowReaderMs ?? SLOW_READER_MS;
    if (buffered > limits.hardBytes || now - this.#overSoftSince >= patience) {
      stats.slowClosed++;
      this.close(WsCloseCode.SLOW_READER, "too slow reading: reconnect later");
      return false;
    }
    return true;
  }
}
