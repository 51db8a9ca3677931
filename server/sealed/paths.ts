/**
 * Where a sealed member is reached, and when that may change (roaming with
 * path validation, docs/protocol.md 6.2). A datagram that opens under the
 * member's key is the member's, but its source address may be anyone's: an
 * on-path host can send a captured datagram from elsewhere before the
 * original arrives. So the member's endpoint moves only on a datagram with
 * the highest counter so far, and only to an address known to reach the
 * member: the same IP (a NAT that changed the port) or one that answered a
 * PATH_CHALLENGE. Until then the new address gets at most
 * {@linkcode AMPLIFICATION_FACTOR} times the bytes it sent, so it cannot
 * turn the server against a third party.
 *
 * A member that came by WebSocket (docs/protocol.md 7.3) is reached through
 * its socket's link instead of an address: TCP proved the address, so there
 * is no path validation and no amplification limit, and the endpoint moves
 * to another socket only on an authenticated datagram with the highest
 * counter (that is how a resume works).
 *
 * @module
 */
import type { HostPort } from "../../protocol/host_port.ts";
import { sameBytes } from "../../protocol/sealed_datagram.ts";
import type { Endpoint, EndpointTransport } from "../endpoint.ts";
import type { WsLink } from "../ws/ws_link.ts";
import type { SealedSession } from "./sessions.ts";

/** An unvalidated address gets at most this many times the bytes it sent (QUIC's rule). */
export const AMPLIFICATION_FACTOR = 3;
/** Addresses tracked per session besides its endpoint; the oldest is forgotten past it. */
export const MAX_PROBED_PATHS = 4;
/** A PATH_CHALLENGE is sent again to an address that keeps sending, at most this often. */
export const CHALLENGE_INTERVAL_MS = 1_000;
/** Bytes of a PATH_CHALLENGE's challenge. */
export const CHALLENGE_BYTES = 16;

/** An address other than the member's endpoint that sent it authenticated datagrams. */
export interface ProbedPath {
  readonly hostname: string;
  readonly port: number;
  /** Its PATH_CHALLENGE: the PATH_RESPONSE must echo it, from this address. */
  readonly challenge: Uint8Array;
  /** It answered the challenge (or was the member's endpoint before a move). */
  validated: boolean;
  /** Bytes of authenticated datagrams from it, and bytes sent to it, while unvalidated. */
  bytesIn: number;
  bytesOut: number;
  /** When its challenge was last sent (monotonic ms); -Infinity before. */
  challengedAt: number;
}

/**
 * One sealed member as the registry reaches it. The member's own endpoint
 * (`probe` null) is one object for the whole session: when the member
 * roams it moves in place, so what the registry holds, and replays waiting
 * in the router, follow. A datagram from another address gets an endpoint
 * of its own that the registry never keeps (the transport says it does not
 * move the member), with the probe's byte budget when it is not validated.
 */
export class SealedEndpoint implements Endpoint, HostPort {
  readonly transport: EndpointTransport;
  /** The session it reaches. */
  readonly session: SealedSession;
  /** null for the member's own endpoint; the address's record otherwise. */
  readonly probe: ProbedPath | null;
  /** The WebSocket it is reached through; null for UDP (then `hostname` and `port` are where). */
  link: WsLink | null;
  hostname: string;
  port: number;
  addressKey: string;

  /** An endpoint of `session` at `at`. */
  constructor(
    transport: EndpointTransport,
    session: SealedSession,
    at: HostPort,
    addressKey: string,
    probe: ProbedPath | null = null,
    link: WsLink | null = null,
  ) {
    this.transport = transport;
    this.session = session;
    this.hostname = at.hostname;
    this.port = at.port;
    this.addressKey = addressKey;
    this.probe = probe;
    this.link = link;
  }

  /** The IP, for logs (a sealed member is not bound to one). */
  get address(): string {
    return this.hostname;
  }

  /** Moves the member's own endpoint to `to` (roaming). */
  moveTo(to: HostPort, addressKey: string): void {
    this.hostname = to.hostname;
    this.port = to.port;
    this.addressKey = addressKey;
  }

  /**
   * Moves the member's own endpoint to another socket (a resume). Its
   * address becomes that socket's peer: it is what per-address limits count.
   */
  moveToLink(link: WsLink): void {
    this.link = link;
    this.hostname = link.peer.address;
    this.port = 0;
    this.addressKey = link.peer.addressKey;
  }

  /** Whether `bytes` more may go to this endpoint under the amplification limit. */
  mayTake(bytes: number): boolean {
    const probe = this.probe;
    if (probe === null || probe.validated) return true;
    return probe.bytesOut + bytes <= AMPLIFICATION_FACTOR * probe.bytesIn;
  }
}

/**
 * What an authenticated datagram from an address means for the member's
 * endpoint: `bind` (its first), `current` (from the endpoint), `move` (the
 * endpoint moves there), `other` (a known address, the endpoint stays), or
 * `probe` (unvalidated: answers within its budget, and a PATH_CHALLENGE
 * when `challenge` is set).
 */
export type PathStep =
  | { kind: "bind" | "current" | "move" }
  | { kind: "other"; path: ProbedPath | null }
  | { kind: "probe"; path: ProbedPath; challenge: boolean };

/** The addresses one session has been heard from, and which of them are validated. */
export class SessionPaths {
  #probes = new Map<string, ProbedPath>();
  #random: (size: number) => Uint8Array;

  /** Challenges come from `random`. */
  constructor(random: (size: number) => Uint8Array) {
    this.#random = random;
  }

  /**
   * The step for an authenticated datagram of `size` bytes from `source`,
   * given the member's endpoint (null before its first datagram) and
   * whether the datagram carried the highest counter so far.
   */
  step(
    current: HostPort | null,
    source: HostPort,
    highest: boolean,
    size: number,
    now: number,
  ): PathStep {
    if (current === null) return { kind: "bind" };
    if (source.hostname === current.hostname) {
      if (source.port === current.port) return { kind: "current" };
      // The same IP: a NAT that changed the port. It reaches the member as surely as the old one.
      return highest ? { kind: "move" } : { kind: "other", path: null };
    }
    const key = pathKey(source);
    let path = this.#probes.get(key);
    if (path?.validated) return highest ? { kind: "move" } : { kind: "other", path };
    if (path === undefined) {
      path = {
        hostname: source.hostname,
        port: source.port,
        challenge: this.#random(CHALLENGE_BYTES),
        validated: false,
        bytesIn: 0,
        bytesOut: 0,
        challengedAt: -Infinity,
      };
      this.#remember(key, path);
    }
    path.bytesIn += size;
    const challenge = now - path.challengedAt >= CHALLENGE_INTERVAL_MS;
    return { kind: "probe", path, challenge };
  }

  /**
   * A PATH_RESPONSE from `source`: true when it echoes the challenge sent
   * to that very address, which is then validated.
   */
  respond(source: HostPort, challenge: Uint8Array): boolean {
    const path = this.#probes.get(pathKey(source));
    if (path === undefined || path.validated) return false;
    if (challenge.length !== CHALLENGE_BYTES || !sameBytes(path.challenge, challenge)) return false;
    path.validated = true;
    return true;
  }

  /**
   * The member's endpoint moved from `from` to `to`: `to` needs no record
   * now, and `from` stays validated (it did reach the member), so moving
   * back needs no new challenge.
   */
  moved(from: HostPort, to: HostPort): void {
    this.#probes.delete(pathKey(to));
    const key = pathKey(from);
    this.#probes.delete(key);
    this.#remember(key, {
      hostname: from.hostname,
      port: from.port,
      challenge: new Uint8Array(CHALLENGE_BYTES),
      validated: true,
      bytesIn: 0,
      bytesOut: 0,
      challengedAt: -Infinity,
    });
  }

  /** Addresses tracked now (at most {@linkcode MAX_PROBED_PATHS}). */
  get size(): number {
    return this.#probes.size;
  }

  #remember(key: string, path: ProbedPath): void {
    if (this.#probes.size >= MAX_PROBED_PATHS) {
      const oldest = this.#probes.keys().next().value;
      if (oldest !== undefined) this.#probes.delete(oldest);
    }
    this.#probes.set(key, path);
  }
}

function pathKey(at: HostPort): string {
  return `${at.hostname}|${at.port}`;
}
