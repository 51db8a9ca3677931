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
import { MAX_DATAGRAM_BYTES } from "../../protocol/datagram.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import { SEALED_MARKER, SealedType } from "../../protocol/sealed_datagram.ts";
import {
  encodeTcrpResponse,
  isPlainOperation,
  isSealedOperation,
  Operation,
  TCRP_HEADER_BYTES,
} from "../../protocol/tcrp.ts";
import type { AbuseReporter } from "../abuse_log.ts";
import type { Peer } from "../endpoint.ts";
import type { EndpointRouter } from "../endpoint_router.ts";
import { type Handshake, PLAINTEXT_REFUSAL } from "../handshake.ts";
import type { Logger } from "../log.ts";
import type { RoomRegistry } from "../registry.ts";
import { badHeaderReply, runSealedExchange, type SealedHello } from "../sealed_exchange.ts";
import type { SealedServerKeys } from "../sealed_responder.ts";
import type { SealedFrontEnd } from "../sealed/sealed_front.ts";
import type { SealedUdpTransport } from "../sealed/sealed_transport.ts";
import type { SealedSession, SealedSessions } from "../sealed/sessions.ts";
import { HandshakeFrames, NotOneFrame, oneFrame } from "./ws_frames.ts";
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

/** The largest handshake message: one TCRP frame with a 255-byte room name and a full payload. */
export function handshakeMessageLimit(maxPayloadBytes: number): number {
  return TCRP_HEADER_BYTES + 255 + maxPayloadBytes;
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

type Phase = "first" | "handshake" | "datagrams" | "done";

/** What a socket tells its front end. */
interface SocketEvents {
  /** This socket serves `session` now (an admission or a resume). */
  member(session: SealedSession): void;
  /** The socket closed. */
  gone(): void;
}

/** One socket's phases. */
class WsPeerSocket {
  #ws: WsConnectionLike;
  #peer: Peer;
  #options: WsFrontOptions;
  #stats: WsFrontStats;
  #events: SocketEvents;
  #link: WsLink;
  #phase: Phase = "first";
  #frames: HandshakeFrames | null = null;
  #session: SealedSession | null = null;
  #cancel = new AbortController();
  #readTimer: ReturnType<typeof setTimeout> | undefined;
  #exchangeTimer: ReturnType<typeof setTimeout> | undefined;
  #startedAt: number;

  constructor(
    arrival: WsArrival,
    options: WsFrontOptions,
    stats: WsFrontStats,
    events: SocketEvents,
  ) {
    this.#ws = arrival.ws;
    this.#peer = arrival.peer;
    this.#options = options;
    this.#stats = stats;
    this.#events = events;
    this.#link = new WsLink(arrival.ws, arrival.peer, {
      limits: options.limits,
      stats: stats.links,
      monotonic: options.monotonic,
    });
    this.#startedAt = options.monotonic();
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  start(): void {
    const { requestTimeoutMs, maxPayloadBytes } = this.#options;
    this.#ws.maxMessageBytes = handshakeMessageLimit(maxPayloadBytes);
    // The first message (and a handshake's both frames) within the request timeout.
    this.#readTimer = setTimeout(
      () => this.#timeOut("request", requestTimeoutMs),
      requestTimeoutMs,
    );
    this.#ws.start({
      message: (bytes) => this.#message(bytes),
      alive: () => this.#alive(),
      closed: () => this.#closed(),
    });
  }

  checkSlow(): void {
    if (this.#phase === "datagrams") this.#link.checkSlow();
  }

  /** CLOSED 4 went out already (server.ts): close 1001 and wait for the socket. */
  closeForShutdown(): Promise<unknown> {
    this.#cancel.abort(new Error("the server is shutting down"));
    this.#link.close(WsCloseCode.GOING_AWAY, "the server is shutting down");
    return this.#ws.closed;
  }

  #message(bytes: Uint8Array): void {
    try {
      switch (this.#phase) {
        case "first":
          return this.#first(bytes);
        case "handshake":
          if (!this.#frames!.push(bytes)) this.#bad("a message after the handshake's last frame");
          return;
        case "datagrams":
          return this.#datagram(bytes);
        case "done":
          return;
      }
    } catch (error) {
      this.#options.log.error(`ws ${this.#peer.address}: ${(error as Error).stack ?? error}`);
      this.#end(WsCloseCode.SERVER_ERROR, "server error");
    }
  }

  #first(bytes: Uint8Array): void {
    if (bytes.length >= 2 && isSealedOperation(bytes[1]!)) return this.#handshake(bytes);
    if (bytes[0] === SEALED_MARKER && bytes[1] === SealedType.MEMBER) return this.#resume(bytes);
    if (bytes.length >= 2 && isPlainOperation(bytes[1]!)) return this.#plain(bytes);
    this.#bad("neither a sealed TCRP frame nor a sealed member datagram");
  }

  /** A plain request: this profile takes sealed sessions only (even with --allow-plaintext). */
  #plain(bytes: Uint8Array): void {
    let frame;
    try {
      frame = oneFrame(bytes, this.#options.maxPayloadBytes);
    } catch {
      return this.#bad("a plain TCRP request that is not one whole frame");
    }
    this.#stats.plainRefused++;
    this.#options.onRefused?.(400);
    this.#ws.send(
      encodeTcrpResponse(frame.operation, frame.roomName, {
        status: 400,
        error: PLAINTEXT_REFUSAL,
      }),
    );
    this.#end(WsCloseCode.DONE, "sealed sessions only");
  }

  #handshake(bytes: Uint8Array): void {
    const { handshake, maxPayloadBytes, exchangeTimeoutMs, report } = this.#options;
    let hello;
    try {
      hello = oneFrame(bytes, maxPayloadBytes) as SealedHello;
    } catch (error) {
      if (error instanceof ProtocolError) {
        // A bad header before any key work: a plain state-2 refusal, as over TCP.
        const reply = badHeaderReply(error, bytes[1]!, false, this.#peer, report);
        if (reply !== null) this.#refuse(reply, error.status);
        return this.#end(WsCloseCode.DONE, "refused");
      }
      return this.#bad((error as Error).message);
    }
    this.#phase = "handshake";
    this.#stats.handshakes++;
    const admission = handshake.open(
      this.#peer,
      () => this.#end(WsCloseCode.TRY_AGAIN_LATER, "evicted: the server is full of handshakes"),
    );
    if (!admission.ok) {
      this.#refuse(
        encodeTcrpResponse(Operation.LIST_ROOMS, new Uint8Array(0), admission.refusal),
        admission.refusal.status,
      );
      return this.#end(WsCloseCode.DONE, "refused");
    }
    const slot = admission.slot;
    const remaining = exchangeTimeoutMs - (this.#options.monotonic() - this.#startedAt);
    this.#exchangeTimer = setTimeout(
      () => this.#timeOut("exchange", exchangeTimeoutMs),
      Math.max(0, remaining),
    );
    const frames = this.#frames = new HandshakeFrames(this.#ws, maxPayloadBytes);
    let keyed = false;
    runSealedExchange(hello, frames, {
      handshake,
      keys: this.#options.keys,
      report,
      peer: this.#peer,
      slot,
      requestRead: () => clearTimeout(this.#readTimer),
      keyed: () => keyed = true,
      signal: this.#cancel.signal,
      deadline: this.#startedAt + exchangeTimeoutMs,
      ...(this.#options.onRefused ? { onRefused: this.#options.onRefused } : {}),
    }).then(
      (end) => {
        switch (end.kind) {
          case "closed":
            return this.#end(WsCloseCode.DONE, "closed");
          case "refused-early":
            this.#stats.refused++;
            return this.#end(WsCloseCode.DONE, "refused");
          case "unanswerable":
            return this.#bad(end.reason);
          case "answered": {
            const { outcome } = end;
            if (outcome.kind === "refused") {
              this.#stats.refused++;
              return this.#end(WsCloseCode.DONE, "refused");
            }
            if (outcome.kind === "rooms") {
              // One list per socket: a page may pass 4096 bytes, and nothing follows it.
              this.#stats.lists++;
              return this.#end(WsCloseCode.DONE, "listed");
            }
            return this.#admitted(outcome.session!.sessionId, outcome.token);
          }
        }
      },
      (error) => {
        if (this.#phase === "done") return; // closed, timed out or shut down meanwhile
        if (error instanceof NotOneFrame) return this.#bad(error.message);
        if (error instanceof ProtocolError) {
          const reply = badHeaderReply(error, hello.operation, keyed, this.#peer, report);
          if (reply === null) return this.#bad(error.message);
          this.#refuse(reply, error.status);
          return this.#end(WsCloseCode.DONE, "refused");
        }
        this.#options.log.error(`ws ${this.#peer.address}: ${(error as Error).stack ?? error}`);
        this.#end(WsCloseCode.SERVER_ERROR, "server error");
      },
    ).finally(() => {
      // The handshake is over: the socket counts only against the HTTP limits now.
      slot.close();
      clearTimeout(this.#readTimer);
      clearTimeout(this.#exchangeTimer);
    });
  }

  /** The answer admitting the member went out: this socket is its endpoint now. */
  #admitted(sessionId: Uint8Array, token: Uint8Array): void {
    const session = this.#options.sessions.byId(sessionId);
    if (session === undefined || this.#phase === "done") {
      // Gone meanwhile (the socket closed as the answer went out): nobody will use it.
      this.#options.handshake.revoke(token);
      return;
    }
    this.#stats.admitted++;
    this.#options.transport.bindLink(session, this.#link);
    this.#enterDatagrams(session);
  }

  #enterDatagrams(session: SealedSession): void {
    this.#events.member(session);
    this.#session = session;
    this.#phase = "datagrams";
    this.#ws.maxMessageBytes = MAX_DATAGRAM_BYTES;
  }

  /** A first message that is a datagram: a session continuing on this new socket. */
  #resume(bytes: Uint8Array): void {
    clearTimeout(this.#readTimer);
    this.#ws.maxMessageBytes = MAX_DATAGRAM_BYTES;
    this.#phase = "datagrams";
    const received = this.#receive(bytes);
    if (received === null) return;
    const session = received.session;
    if (session === undefined || session.endpoint?.link !== this.#link) {
      return this.#bad("a first datagram that did not move its session here");
    }
    this.#events.member(session);
    this.#session = session;
  }

  #datagram(bytes: Uint8Array): void {
    // One session per socket: another's datagram is a bad message, never a move.
    const session = this.#session!;
    const id = bytes.subarray(2, 10);
    if (bytes.length < 10 || !id.every((byte, i) => byte === session.id[i])) {
      return this.#bad("not a datagram of this socket's session");
    }
    this.#receive(bytes);
  }

  /** Hands a datagram to the sealed front end; null when the socket was closed for it. */
  #receive(bytes: Uint8Array) {
    const { front, router } = this.#options;
    this.#stats.datagramsIn++;
    this.#stats.bytesIn += bytes.length;
    const received = front.handleFromLink(bytes, this.#link);
    router.send(received.outgoing);
    if (received.verdict === "unknownSession") {
      this.#link.flush(); // the stateless reset, if the rate let one go
      this.#stats.resets++;
      this.#end(WsCloseCode.DONE, "unknown session");
      return null;
    }
    if (received.verdict !== "dispatched") {
      this.#bad(`a datagram dropped as ${received.verdict}`);
      return null;
    }
    return received;
  }

  /** A plain refusal frame (the gate's, a bad header's), counted. */
  #refuse(frame: Uint8Array, status: number): void {
    this.#stats.refused++;
    this.#options.onRefused?.(status);
    this.#ws.send(frame);
  }

  #alive(): void {
    const session = this.#session;
    if (session !== null && !session.closed && session.endpoint?.link === this.#link) {
      this.#options.registry.touch(session.token);
    }
  }

  #closed(): void {
    this.#phase = "done";
    this.#cancel.abort(new Error("the socket closed"));
    this.#frames?.end();
    clearTimeout(this.#readTimer);
    clearTimeout(this.#exchangeTimer);
    const session = this.#session;
    // Still this member's socket (not replaced, not gone): it stays, disconnected, for the grace.
    if (session !== null && !session.closed && session.endpoint?.link === this.#link) {
      this.#options.registry.disconnect(session.token, this.#options.graceMs);
    }
    this.#events.gone();
  }

  #timeOut(what: string, ms: number): void {
    if (this.#phase === "done" || this.#phase === "datagrams") return;
    this.#stats.timeouts++;
    this.#options.report(
      "handshake-timeout",
      this.#peer.addressKey,
      `WebSocket ${what} not done within ${ms / 1000} s`,
    );
    this.#end(WsCloseCode.GOING_AWAY, `the ${what} timed out`);
  }

  #bad(detail: string): void {
    this.#stats.badMessages++;
    this.#options.report("ws-bad-message", this.#peer.addressKey, detail);
    this.#end(WsCloseCode.BAD_MESSAGE, "bad message");
  }

  /** Closes the socket (after what is queued); the handshake, if running, is abandoned. */
  #end(code: number, reason: string): void {
    this.#phase = "done";
    clearTimeout(this.#readTimer);
    clearTimeout(this.#exchangeTimer);
    this.#cancel.abort(new Error(`closed ${code}`));
    this.#frames?.end();
    this.#link.close(code, reason);
  }
}
