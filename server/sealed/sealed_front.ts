/**
 * The receive side of sealed datagrams (docs/protocol.md 6.2): what the UDP
 * front end does with a datagram whose first byte is 0x00. In order, each
 * step cheaper than the next, so junk is turned away before it costs
 * anything:
 *
 * 1. size and header (no crypto); anything but a member datagram is dropped;
 * 2. an unknown session id gets a stateless reset, shorter than the
 *    datagram and within a per-source rate, and nothing else;
 * 3. failed-open budgets, per session and per source, are checked BEFORE
 *    opening: a source or session past them is dropped unopened (except the
 *    member's own endpoint, so others' failures cannot silence it);
 * 4. the replay window (before opening: a replay costs no crypto);
 * 5. open; a failure is charged to both budgets; the window accepts the
 *    counter only now;
 * 6. the inner body; PATH_RESPONSE ends here;
 * 7. the path: which endpoint the registry sees (sessions.ts, paths.ts);
 * 8. `registry.handleDatagram` with the member's token, which never leaves
 *    the server.
 *
 * A datagram dropped at any step is counted and never answered, and moves
 * no endpoint, no liveness and no window.
 *
 * The same steps serve a WebSocket's messages (`handleFromLink`), but for
 * the path: the socket is the endpoint (docs/protocol.md 7.3).
 *
 * @module
 */
import type { HostPort } from "../../protocol/host_port.ts";
import { MAX_DATAGRAM_BYTES } from "../../protocol/datagram.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import {
  decodeSealedClientBody,
  encodeResetDatagram,
  openMemberDatagram,
  peekSealedHeader,
  RESET_DATAGRAM_BYTES,
  type SealedClientBody,
} from "../../protocol/sealed_datagram.ts";
import type { AbuseKind, AbuseReporter } from "../abuse_log.ts";
import type { Outgoing } from "../endpoint.ts";
import type { KeyedRateLimiter } from "../rate_limit.ts";
import type { RoomRegistry } from "../registry.ts";
import { FailureBudget } from "./failure_budget.ts";
import type { SealedEndpoint } from "./paths.ts";
import type { SealedUdpTransport } from "./sealed_transport.ts";
import type { SealedSession, SealedSessions } from "./sessions.ts";
import type { WsLink } from "../ws/ws_link.ts";

/** Failed opens forgiven per source address (key): a second, and at once. */
export const SOURCE_FAILED_OPENS = { ratePerSecond: 20, burst: 40 } as const;
/** Failed opens forgiven per session: a second, and at once. */
export const SESSION_FAILED_OPENS = { ratePerSecond: 10, burst: 20 } as const;

/** What the sealed front end needs. */
export interface SealedFrontOptions {
  sessions: SealedSessions;
  transport: SealedUdpTransport;
  /** Only `handleDatagram` is used: the registry never learns a datagram was sealed. */
  registry: Pick<RoomRegistry, "handleDatagram">;
  /** Stateless resets per source address key (past it, unknown sessions get nothing). */
  resets: KeyedRateLimiter;
  monotonic: () => number;
  report: AbuseReporter;
  /** Failed-open budgets; the defaults are above. */
  sourceFailedOpens?: { ratePerSecond: number; burst: number };
  sessionFailedOpens?: { ratePerSecond: number; burst: number };
  /**
   * A WebSocket session's endpoint moved from one socket's link to another
   * (a resume): told before the registry sees the datagram that moved it.
   */
  onLinkMoved?: (session: SealedSession, from: WsLink, to: WsLink) => void;
}

/**
 * What became of one datagram: `dispatched` (opened and handed to the
 * registry, or a PATH_RESPONSE), else the counter it was dropped under.
 */
export type ReceiveVerdict = Exclude<
  keyof SealedFrontStats,
  "received" | "pathValidated" | "pathIgnored" | "moved" | "stale"
>;

/** One datagram's verdict, what the registry says to send, and its session when it opened. */
export interface LinkReceived {
  verdict: ReceiveVerdict;
  outgoing: Outgoing[];
  session?: SealedSession;
}

/** Counters: every datagram lands in exactly one of the drop counters or `dispatched`. */
export interface SealedFrontStats {
  received: number;
  /** Too long, a header that does not parse, or not a member datagram. */
  malformed: number;
  unknownSession: number;
  /** Dropped unopened: the source or the session is past its failed-open budget. */
  overBudget: number;
  /** Already accepted, or below the replay window. */
  replayed: number;
  /** Did not open: tampered, forged, or sealed under another key. */
  failedOpen: number;
  /** Opened, but the inner body is malformed. */
  badInner: number;
  /** PATH_RESPONSEs: ones that validated their address, and ones that did not. */
  pathValidated: number;
  pathIgnored: number;
  /** The member's endpoint moved (a NAT rebinding, or a validated new address). */
  moved: number;
  /** A WebSocket session's datagram by UDP, or a UDP session's by WebSocket. */
  wrongTransport: number;
  /** Handed to the registry. */
  dispatched: number;
  /** Opened for a session the registry no longer knows (it is then forgotten). */
  stale: number;
}

/** Sealed datagrams in, registry calls out. */
export class SealedFrontEnd {
  readonly stats: SealedFrontStats = {
    received: 0,
    malformed: 0,
    unknownSession: 0,
    overBudget: 0,
    replayed: 0,
    failedOpen: 0,
    badInner: 0,
    pathValidated: 0,
    pathIgnored: 0,
    moved: 0,
    wrongTransport: 0,
    dispatched: 0,
    stale: 0,
  };
  #options: SealedFrontOptions;
  #bySource: FailureBudget;
  #bySession: FailureBudget;

  /** A front end over a session table and its transport. */
  constructor(options: SealedFrontOptions) {
    this.#options = options;
    const clock = options.monotonic;
    this.#bySource = new FailureBudget({
      ...(options.sourceFailedOpens ?? SOURCE_FAILED_OPENS),
      clock,
    });
    this.#bySession = new FailureBudget({
      ...(options.sessionFailedOpens ?? SESSION_FAILED_OPENS),
      clock,
      maxKeys: 100_000,
    });
  }

  /** Forgets budgets that are whole again; call it from the server's sweep. */
  sweep(): void {
    this.#bySource.sweep();
    this.#bySession.sweep();
  }

  /**
   * Handles one sealed datagram of `size` bytes on the wire (`bytes` may be
   * cut) from `source`; returns what the registry says to send. With
   * `plainFallback` (a server that also takes plain datagrams), a datagram
   * whose header is not a sealed layout at all is not counted here and the
   * answer is null: it goes to the plain front end, which answers it as the
   * plain protocol always has (a plain datagram with RoomNameSize 0 is a
   * 400), so that protocol stays unchanged.
   */
  handle(
    bytes: Uint8Array,
    size: number,
    source: HostPort,
    plainFallback = false,
  ): Outgoing[] | null {
    const received = this.#receive(bytes, size, source, null, plainFallback);
    return received === null ? null : received.outgoing;
  }

  /**
   * Handles one message of a WebSocket link as a sealed datagram (docs/protocol.md
   * 7.3), with the same steps as UDP but for the path: a link needs no
   * validation, and the session's endpoint moves to it only when the datagram
   * carries the highest counter (a resume; `options.onLinkMoved` is told
   * before the registry sees the datagram). A WebSocket session is never
   * served over UDP nor a UDP session over a WebSocket: dropped and counted.
   * The verdict says what the front end should do with the socket.
   */
  handleFromLink(bytes: Uint8Array, link: WsLink): LinkReceived {
    const source = { hostname: link.peer.address, port: 0 };
    return this.#receive(bytes, bytes.length, source, link, false)!;
  }

  #receive(
    bytes: Uint8Array,
    size: number,
    source: HostPort,
    via: WsLink | null,
    plainFallback: boolean,
  ): LinkReceived | null {
    const { sessions, transport } = this.#options;
    const addressKey = via?.peer.addressKey ?? transport.addressKeyOf(source.hostname);
    let header;
    try {
      if (size > MAX_DATAGRAM_BYTES || size !== bytes.length) {
        throw new ProtocolError(`sealed datagram over ${MAX_DATAGRAM_BYTES} bytes`, 413);
      }
      header = peekSealedHeader(bytes);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      if (plainFallback) return null;
      this.stats.received++;
      return this.#drop("malformed", "sealed-malformed", addressKey, error.message);
    }
    this.stats.received++;
    if (header.type !== "member") {
      return this.#drop("malformed", "sealed-malformed", addressKey, `a ${header.type} datagram`);
    }
    const session = sessions.byId(header.sessionId);
    if (session === undefined) {
      return this.#unknown(header.sessionId, size, via, source, addressKey);
    }
    const own = session.endpoint;
    // A WebSocket session has its endpoint (its socket's link) from its admission on.
    if ((own !== null && own.link !== null) !== (via !== null)) {
      const detail = via === null ? "a WebSocket session's datagram by UDP" : "a UDP session's";
      return this.#drop("wrongTransport", "sealed-wrong-transport", addressKey, detail);
    }
    const fromOwn = own !== null &&
      (via !== null
        ? own.link === via
        : own.hostname === source.hostname && own.port === source.port);
    if (
      !fromOwn &&
      (!this.#bySession.allows(session.idHex) || !this.#bySource.allows(addressKey))
    ) {
      return this.#drop("overBudget", "sealed-budget", addressKey, "past its failed-open budget");
    }
    if (!session.window.canAccept(header.counter)) {
      return this.#drop("replayed", "sealed-replayed", addressKey, `counter ${header.counter}`);
    }
    const inner = openMemberDatagram(sessions.crypto, session.clientKey, bytes);
    if (inner === null) {
      this.#bySession.charge(session.idHex);
      this.#bySource.charge(addressKey);
      return this.#drop("failedOpen", "sealed-forged", addressKey, "did not open");
    }
    const highest = session.window.accept(header.counter);
    let body: SealedClientBody;
    try {
      body = decodeSealedClientBody(inner);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return this.#drop("badInner", "sealed-malformed", addressKey, error.message);
    }
    if (body.kind === "pathResponse") {
      // No challenge is ever sent to a link: there is nothing for it to answer.
      if (via === null && session.paths.respond(source, body.challenge)) {
        this.stats.pathValidated++;
        if (highest && own !== null) this.#move(session, own, source);
      } else {
        this.stats.pathIgnored++;
      }
      return { verdict: "dispatched", outgoing: [], session };
    }
    const from = via === null
      ? this.#endpointFor(session, source, highest, size)
      : this.#linkEndpointFor(session, own!, via, highest);
    this.stats.dispatched++;
    const outgoing = this.#options.registry.handleDatagram(
      from,
      { roomName: session.roomName, token: session.token, body },
      () => {
        // The member is gone but its session lingered: forget it (its next datagram is reset).
        this.stats.stale++;
        sessions.onRemoved(session);
        return [];
      },
    );
    return { verdict: "dispatched", outgoing, session };
  }

  /**
   * The endpoint the registry sees for an authenticated datagram that came
   * by `via`: the session's own, moved there first when the datagram carries
   * the highest counter; else one of that link's that the registry does not keep.
   */
  #linkEndpointFor(
    session: SealedSession,
    own: SealedEndpoint,
    via: WsLink,
    highest: boolean,
  ): SealedEndpoint {
    const from = own.link!;
    if (from === via) return own;
    if (!highest) return this.#options.transport.linkEndpointOf(session, via);
    own.moveToLink(via);
    this.stats.moved++;
    this.#options.onLinkMoved?.(session, from, via);
    return own;
  }

  /** The endpoint the registry sees for an authenticated datagram from `source`. */
  #endpointFor(
    session: SealedSession,
    source: HostPort,
    highest: boolean,
    size: number,
  ): SealedEndpoint {
    const { transport, monotonic } = this.#options;
    const now = monotonic();
    const own = session.endpoint;
    const step = session.paths.step(own, source, highest, size, now);
    switch (step.kind) {
      case "bind":
        return session.endpoint = transport.endpointOf(session, source, null);
      case "current":
        return own!;
      case "move":
        this.#move(session, own!, source);
        return own!;
      case "other":
        return transport.endpointOf(session, source, step.path);
      case "probe": {
        const probe = transport.endpointOf(session, source, step.path);
        if (step.challenge) {
          step.path.challengedAt = now;
          transport.sendPathChallenge(probe, step.path.challenge);
        }
        return probe;
      }
    }
  }

  #move(session: SealedSession, own: SealedEndpoint, to: HostPort): void {
    const from = { hostname: own.hostname, port: own.port };
    own.moveTo(to, this.#options.transport.addressKeyOf(to.hostname));
    session.paths.moved(from, to);
    this.stats.moved++;
  }

  /**
   * An unknown session: a stateless reset, if the datagram is longer and,
   * over UDP, the source within its rate. A WebSocket's reset is not
   * budgeted: it goes back on a socket the peer opened itself (the TCP
   * handshake proved the address, so it cannot aim it at anyone), and the
   * socket closes after it; a class behind one address resuming after a
   * restart must all get theirs at once.
   */
  #unknown(
    sessionId: Uint8Array,
    size: number,
    via: WsLink | null,
    source: HostPort,
    addressKey: string,
  ): LinkReceived {
    const { sessions, transport, resets, report } = this.#options;
    this.stats.unknownSession++;
    report("sealed-unknown-session", addressKey, "a sealed datagram for an unknown session");
    if (size > RESET_DATAGRAM_BYTES && (via !== null || resets.take(addressKey))) {
      transport.sendReset(
        encodeResetDatagram(sessionId, sessions.resetTokenFor(sessionId)),
        via ?? source,
      );
    }
    return { verdict: "unknownSession", outgoing: [] };
  }

  #drop(
    counter: Exclude<ReceiveVerdict, "dispatched">,
    kind: AbuseKind,
    addressKey: string,
    detail: string,
  ): LinkReceived {
    this.stats[counter]++;
    this.#options.report(kind, addressKey, detail);
    return { verdict: counter, outgoing: [] };
  }
}
