/**
 * One `/ws` socket's life (docs/protocol.md 7.3), for the WebSocket front
 * end (ws_front.ts): the first message decides between a handshake and a
 * resume; the handshake runs the same sealed exchange as TCP, one TCRP frame
 * per message, within the request timeout and the exchange deadline; an
 * admission makes the socket its session's endpoint, and from then on each
 * message is one sealed datagram. Junk closes the socket (4400), never an
 * ERROR datagram.
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
} from "../../protocol/tcrp.ts";
import type { Peer } from "../endpoint.ts";
import { PLAINTEXT_REFUSAL } from "../handshake.ts";
import { badHeaderReply, runSealedExchange, type SealedHello } from "../sealed_exchange.ts";
import type { SealedSession } from "../sealed/sessions.ts";
import { HandshakeFrames, handshakeMessageLimit, NotOneFrame, oneFrame } from "./ws_frames.ts";
import { WsCloseCode, WsLink } from "./ws_link.ts";
import type { WsArrival, WsConnectionLike, WsFrontOptions, WsFrontStats } from "./ws_front.ts";

type Phase = "first" | "handshake" | "datagrams" | "done";

/** What a socket tells its front end. */
export interface SocketEvents {
  /** This socket serves `session` now (an admission or a resume). */
  member(session: SealedSession): void;
  /** The socket closed. */
  gone(): void;
}

/** One socket's phases. */
export class WsPeerSocket {
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
