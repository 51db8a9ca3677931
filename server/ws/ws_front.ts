/**
 * The WebSocket front end (docs/protocol.md 7.3): what each binary message
 * of a `/ws` socket must be, phase by phase, and what the server does with
 * it. The sealed protocol runs unchanged over it: the sealed TCRP exchange
 * (sealed_exchange.ts, as over TCP) and then sealed member datagrams
 * (sealed/sealed_front.ts, as over UDP), one per message both ways.
 *
 * - first message: a sealed TCRP operation (byte 1 is 0x11-0x13) starts a
 *   handshake; a sealed member datagram (0x00 0x01) is a resume; a plain
 *   TCRP request is refused (sealed only) and closed 1000; anything else
 *   is closed 4400.
 * - handshake: through the handshake gate and the request rate, within the
 *   request timeout and the exchange deadline, one whole TCRP frame per
 *   message; a list or a refusal is answered and closed 1000; an admission
 *   makes this socket the session's endpoint, and the gate slot is released.
 * - datagrams: one sealed member datagram of this socket's session per
 *   message, at most 4096 bytes. Anything else closes 4400; a session the
 *   server no longer knows gets a stateless reset and 1000.
 * - resume: a datagram that opens and carries the highest counter moves the
 *   session here; the old socket closes 4409.
 *
 * Any frame (a pong too) is the member's sign of life (`registry.touch`); a
 * socket that closes leaves its member disconnected for the grace period
 * (`registry.disconnect`), unless the session moved on or is gone.
 *
 * @module
 */
import type { AbuseReporter } from "../abuse_log.ts";
import type { Peer } from "../endpoint.ts";
import type { EndpointRouter } from "../endpoint_router.ts";
import type { Handshake } from "../handshake.ts";
import type { Logger } from "../log.ts";
import type { RoomRegistry } from "../registry.ts";
import type { SealedServerKeys } from "../sealed_responder.ts";
import type { SealedFrontEnd } from "../sealed/sealed_front.ts";
import type { SealedUdpTransport } from "../sealed/sealed_transport.ts";
import type { SealedSession, SealedSessions } from "../sealed/sessions.ts";
import { WsPeerSocket } from "./ws_peer_socket.ts";
import {
  newWsLinkStats,
  type WsBufferLimits,
  WsCloseCode,
  WsLink,
  type WsLinkStats,
  type WsSocket,
} from "./ws_link.ts";

/** How a socket ended, as the connection reports it (server/http/ws_connection.ts). */
export interface WsCloseInfo {
  code: number;
  reason: string;
  byPeer: boolean;
}

/** The WebSocket connection the front end drives (server/http/ws_connection.ts's WsConnection). */
export interface WsConnectionLike extends WsSocket {
  /** The largest message the connection reads (settable between messages: the phase's limit). */
  maxMessageBytes: number;
  start(handlers: {
    message(bytes: Uint8Array): void;
    alive?(): void;
    closed(info: WsCloseInfo): void;
  }): void;
  readonly closed: Promise<WsCloseInfo>;
}

/** One upgraded `/ws` socket, as the HTTP front hands it over. */
export interface WsArrival {
  ws: WsConnectionLike;
  /** The remote address (after --trust-proxy), and its per-address key. */
  peer: Peer;
  subprotocol: string;
}

/** The part of the registry a WebSocket member's liveness needs. */
export type WsRegistry = Pick<RoomRegistry, "touch" | "disconnect" | "reconnect">;

/** What the WebSocket front end needs. */
export interface WsFrontOptions {
  handshake: Handshake;
  keys: SealedServerKeys;
  sessions: SealedSessions;
  front: SealedFrontEnd;
  transport: SealedUdpTransport;
  router: EndpointRouter;
  registry: WsRegistry;
  report: AbuseReporter;
  log: Logger;
  monotonic: () => number;
  /** --max-payload: a handshake message may hold a frame with a payload up to this. */
  maxPayloadBytes: number;
  /** --request-timeout: the first message, and a handshake's both frames, within this. */
  requestTimeoutMs: number;
  /** --handshake-timeout: a handshake done (answer written) within this. */
  exchangeTimeoutMs: number;
  /** --ws-grace: how long a member whose socket closed stays, disconnected. */
  graceMs: number;
  /** --ws-buffer-soft, --ws-buffer-hard. */
  limits: WsBufferLimits;
  /** Told the status of each refusal written (the metrics count them by status). */
  onRefused?: (status: number) => void;
}

/** Counters of the WebSocket front end (the links' own are in `links`). */
export interface WsFrontStats {
  /** Sockets handed over, and open now. */
  accepted: number;
  open: number;
  /** Sealed handshakes started; admitted ones; lists answered; refusals (early or sealed). */
  handshakes: number;
  admitted: number;
  lists: number;
  refused: number;
  /** Plain TCRP requests refused (sealed only). */
  plainRefused: number;
  /** Sessions resumed on a new socket; old sockets closed 4409. */
  resumed: number;
  replaced: number;
  /** Sockets closed 4400 (a message the phase does not take). */
  badMessages: number;
  /** Sockets closed for a request or exchange timeout. */
  timeouts: number;
  /** Sockets closed 1000 after a stateless reset (an unknown session). */
  resets: number;
  /** Datagrams (messages of the datagram phase) in, and their bytes. */
  datagramsIn: number;
  bytesIn: number;
  links: WsLinkStats;
}

/** Serves the `/ws` sockets the HTTP front hands over. */
export class WsFrontEnd {
  readonly stats: WsFrontStats = {
    accepted: 0,
    open: 0,
    handshakes: 0,
    admitted: 0,
    lists: 0,
    refused: 0,
    plainRefused: 0,
    resumed: 0,
    replaced: 0,
    badMessages: 0,
    timeouts: 0,
    resets: 0,
    datagramsIn: 0,
    bytesIn: 0,
    links: newWsLinkStats(),
  };
  #options: WsFrontOptions;
  #sockets = new Set<WsPeerSocket>();
  /** Sessions admitted or resumed here (pruned of ended ones when counted). */
  #members = new Set<SealedSession>();
  #closing = false;

  /** A front end with no sockets yet. */
  constructor(options: WsFrontOptions) {
    this.#options = options;
  }

  /** Takes over one upgraded socket (HttpFrontOptions.onWebSocket). */
  onWebSocket(arrival: WsArrival): void {
    if (this.#closing) {
      arrival.ws.close(WsCloseCode.GOING_AWAY, "the server is shutting down");
      return;
    }
    this.stats.accepted++;
    const socket = new WsPeerSocket(arrival, this.#options, this.stats, {
      member: (session) => this.#members.add(session),
      gone: () => {
        this.#sockets.delete(socket);
        this.stats.open = this.#sockets.size;
      },
    });
    this.#sockets.add(socket);
    this.stats.open = this.#sockets.size;
    socket.start();
  }

  /**
   * A session's endpoint moved to another socket (SealedFrontOptions.onLinkMoved):
   * the member is connected again, and the old socket closes 4409.
   */
  linkMoved(session: SealedSession, from: WsLink, _to: WsLink): void {
    this.#options.registry.reconnect(session.token);
    this.stats.resumed++;
    if (from.open) this.stats.replaced++;
    from.close(WsCloseCode.REPLACED, "continued on a newer connection");
  }

  /**
   * A takeover replaced `old` with a new session (SealedSessionsOptions.onReplaced):
   * its socket, if it came by WebSocket and is still open, closes 4409.
   */
  sessionReplaced(old: SealedSession): void {
    this.#members.delete(old);
    const link = old.endpoint?.link;
    if (link === undefined || link === null) return;
    if (link.open) this.stats.replaced++;
    link.close(WsCloseCode.REPLACED, "continued on a newer connection");
  }

  /**
   * The registry removed a member whose session was `session`: its socket
   * (if it still has one open) closes 1000 once what is queued (its CLOSED)
   * has gone. Not during shutdown, which closes every socket 1001.
   */
  sessionEnded(session: SealedSession): void {
    this.#members.delete(session);
    const link = session.endpoint?.link;
    if (link === undefined || link === null || this.#closing) return;
    // After the registry's output (the CLOSED) is queued on the link.
    queueMicrotask(() => link.close(WsCloseCode.DONE, "membership ended"));
  }

  /** Members whose session came by WebSocket, connected or in their grace (a metric). */
  get memberCount(): number {
    this.#forgetEnded();
    return this.#members.size;
  }

  /** Bytes queued on every open socket now (a metric). */
  get bufferedBytes(): number {
    let sum = 0;
    for (const socket of this.#sockets) sum += socket.bufferedAmount;
    return sum;
  }

  /**
   * Closes sockets that stayed over the soft limit too long, and forgets
   * sessions that ended some other way; call it from the server's sweep.
   */
  sweep(): void {
    for (const socket of this.#sockets) socket.checkSlow();
    this.#forgetEnded();
  }

  #forgetEnded(): void {
    for (const session of this.#members) if (session.closed) this.#members.delete(session);
  }

  /**
   * Shutdown: refuses new sockets and stops closing ended memberships one by
   * one; call before the registry's CLOSED 4 goes out.
   */
  beginShutdown(): void {
    this.#closing = true;
  }

  /** Closes every socket 1001 (after what is queued, CLOSED 4 included) and waits for them. */
  async close(): Promise<void> {
    this.#closing = true;
    const closed = [...this.#sockets].map((socket) => socket.closeForShutdown());
    await Promise.allSettled(closed);
  }
}
