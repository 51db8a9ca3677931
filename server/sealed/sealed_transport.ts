/**
 * Sealed datagrams as an {@linkcode EndpointTransport} (docs/protocol.md
 * 6.2). The endpoint router hands it plain server datagrams, encoded once,
 * exactly as for plain UDP; sealing happens here, at send time:
 *
 * - an EVENT (room channel) is sealed once under its room's epoch key with
 *   the room's counter and signed once with the server's Ed25519 key, and
 *   the same bytes go to every member; sealed EVENTs are cached per (seq,
 *   epoch), so replays of recent events cost no crypto;
 * - every other kind (member channel) is sealed per member under its
 *   serverKey with its counter; a WELCOME gets the room's epoch and key
 *   inserted after its kind byte;
 * - a room datagram due while a departure's rekey waits for the rate cap is
 *   held and leaves after the rekey, behind a KEY to every remaining member.
 *
 * A member that came by WebSocket is reached through its socket's link
 * (ws/ws_link.ts), one sealed datagram per message, with the link's
 * backpressure rules: past its soft limit EVENTs are shed (the member
 * repairs with RESEND), past its hard limit the socket closes 4008, and
 * nothing is sealed for a socket that is closed (a member in its grace
 * period gets its catch-up when it resumes). Room datagrams are sealed
 * once for the room whatever carries them.
 *
 * Every seal takes a fresh counter: a resent ACK, a replayed EVENT under a
 * new epoch, a KEY, a PATH_CHALLENGE. `onSeal` sees every (key, nonce) the
 * server seals, so a test can prove none repeats.
 *
 * @module
 */
import type { HostPort } from "../../protocol/host_port.ts";
import { MAX_DATAGRAM_BYTES, ServerKind } from "../../protocol/datagram.ts";
import {
  datagramNonce,
  encodeKeyInner,
  encodePathChallengeInner,
  MEMBER_OVERHEAD_BYTES,
  ROOM_OVERHEAD_BYTES,
  sealedWelcomeInner,
  sealMemberDatagram,
  sealRoomDatagram,
} from "../../protocol/sealed_datagram.ts";
import type { CryptoProvider, Ed25519Signer } from "../../protocol/sealed_types.ts";
import type { DatagramSocket } from "../datagram_socket.ts";
import type { Endpoint, EndpointTransport } from "../endpoint.ts";
import type { WsLink } from "../ws/ws_link.ts";
import { type ProbedPath, SealedEndpoint } from "./paths.ts";
import type { RoomChannel, SealedSession } from "./sessions.ts";

/** Told every (key, nonce) the server seals a datagram with (the nonce audit). */
export type NonceAudit = (key: Uint8Array, nonce: Uint8Array) => void;

/** Timers, injectable for tests. */
export interface Timers {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const SYSTEM_TIMERS: Timers = {
  set: (run, ms) => setTimeout(run, ms),
  clear: (handle) => clearTimeout(handle as number),
};

/** What the sealed transport is made with. */
export interface SealedTransportOptions {
  /** The server's one UDP socket (plain and sealed datagrams share it). */
  socket: DatagramSocket;
  crypto: CryptoProvider;
  /** Signs room datagrams (SealedSessions.signer). */
  signer: Ed25519Signer;
  /** Each source IP's per-address key (address_key.ts). */
  addressKeyOf: (ip: string) => string;
  monotonic: () => number;
  timers?: Timers;
  /** The nonce audit: every (key, nonce) sealed. */
  onSeal?: NonceAudit;
}

/** Counters, for tests and figures. */
export interface SealedTransportStats {
  /** Datagrams sealed on a member channel, and on a room channel (each also signed). */
  memberSeals: number;
  roomSeals: number;
  /** Room datagrams sent from the cache instead of sealed again. */
  cacheHits: number;
  /** KEY datagrams sent (one per remaining member per rekey). */
  keysSent: number;
  challengesSent: number;
  resetsSent: number;
  /** Datagrams not sent to an unvalidated address: past 3x the bytes it sent. */
  amplificationDropped: number;
  /** Room datagrams not sent to a member that is gone. */
  departedDropped: number;
  /** Held room datagrams dropped past the bound. */
  heldDropped: number;
  /** Datagrams not sent: a counter or the epochs ran out, or it would be over 4096 bytes. */
  exhausted: number;
  oversized: number;
}

/** The sealed side of the server's UDP socket. */
export class SealedUdpTransport implements EndpointTransport {
  readonly name = "sealed-udp";
  readonly stats: SealedTransportStats = {
    memberSeals: 0,
    roomSeals: 0,
    cacheHits: 0,
    keysSent: 0,
    challengesSent: 0,
    resetsSent: 0,
    amplificationDropped: 0,
    departedDropped: 0,
    heldDropped: 0,
    exhausted: 0,
    oversized: 0,
  };
  #options: SealedTransportOptions;
  #timers: Timers;
  #releases = new Map<RoomChannel, unknown>();
  #lastIp = "";
  #lastKey = "";
  #touchedLinks = new Set<WsLink>();

  /** A transport sending through `options.socket`. */
  constructor(options: SealedTransportOptions) {
    this.#options = options;
    this.#timers = options.timers ?? SYSTEM_TIMERS;
  }

  /** An endpoint of `session` at `at`: its own (`probe` null) or another address's. */
  endpointOf(session: SealedSession, at: HostPort, probe: ProbedPath | null): SealedEndpoint {
    return new SealedEndpoint(this, session, at, this.addressKeyOf(at.hostname), probe);
  }

  /** An endpoint of `session` through a WebSocket's link (the member's own, or a socket's it came by). */
  linkEndpointOf(session: SealedSession, link: WsLink): SealedEndpoint {
    return new SealedEndpoint(
      this,
      session,
      { hostname: link.peer.address, port: 0 },
      link.peer.addressKey,
      null,
      link,
    );
  }

  /**
   * Makes a WebSocket's link the endpoint of a session its handshake just
   * admitted: the socket is the endpoint from the start, which also marks
   * the session as a WebSocket one (never served over UDP).
   */
  bindLink(session: SealedSession, link: WsLink): SealedEndpoint {
    return session.endpoint = this.linkEndpointOf(session, link);
  }

  /** The per-address key of an IP (the last one is remembered: batches come in runs). */
  addressKeyOf(ip: string): string {
    if (ip !== this.#lastIp) {
      this.#lastIp = ip;
      this.#lastKey = this.#options.addressKeyOf(ip);
    }
    return this.#lastKey;
  }

  /** The key authenticated the datagram; the address proves nothing. */
  authenticates(): boolean {
    return true;
  }

  /**
   * Only to the member's own endpoint object: the front end hands the
   * registry that one only when the member may move there (sealed_front.ts).
   */
  movesTo(_current: Endpoint | null, candidate: Endpoint): boolean {
    const endpoint = candidate as SealedEndpoint;
    return endpoint.session.endpoint === endpoint;
  }

  /** False for an unvalidated address that has had its 3x. */
  canSend(endpoint: Endpoint): boolean {
    return (endpoint as SealedEndpoint).mayTake(1);
  }

  queue(bytes: Uint8Array, to: readonly Endpoint[]): void {
    // Only SealedEndpoints reach here: the router groups endpoints by their transport.
    const endpoints = to as readonly SealedEndpoint[];
    if (endpoints.length === 0) return;
    if (bytes[0] === ServerKind.EVENT) {
      this.#queueEvent(bytes, endpoints);
      return;
    }
    for (const endpoint of endpoints) {
      const session = endpoint.session;
      const keys = session.channel.keys;
      const inner = bytes[0] === ServerKind.WELCOME
        ? sealedWelcomeInner(bytes, keys.epoch, keys.key)
        : bytes;
      this.#sealAndSend(session, inner, endpoint);
    }
  }

  /** Sends a PATH_CHALLENGE to an address the member's datagram came from (within its budget). */
  sendPathChallenge(to: SealedEndpoint, challenge: Uint8Array): void {
    if (this.#sealAndSend(to.session, encodePathChallengeInner(challenge), to)) {
      this.stats.challengesSent++;
    }
  }

  /** Sends a stateless reset (built by the front end, shorter than its trigger). */
  sendReset(bytes: Uint8Array, to: HostPort | WsLink): void {
    if ("socket" in to) {
      if (!to.admits(false)) return;
      this.#sendLink(to, bytes);
    } else {
      this.#options.socket.send(bytes, [{ hostname: to.hostname, port: to.port }]);
    }
    this.stats.resetsSent++;
  }

  /** Flushes the UDP socket and every WebSocket link sent to since the last flush. */
  flush(): void {
    this.#options.socket.flush();
    for (const link of this.#touchedLinks) link.flush();
    this.#touchedLinks.clear();
  }

  /** Cancels the timers of held room datagrams (they are dropped): for shutdown. */
  close(): void {
    for (const [channel, handle] of this.#releases) {
      this.#timers.clear(handle);
      channel.keys.takeHeld();
    }
    this.#releases.clear();
  }

  #queueEvent(bytes: Uint8Array, to: readonly SealedEndpoint[]): void {
    const channel = to[0]!.session.channel;
    if (to.every((endpoint) => endpoint.session.channel === channel)) {
      this.#roomDatagram(channel, bytes, to);
      return;
    }
    // One EVENT is one room's; this is only for safety.
    const groups = new Map<RoomChannel, SealedEndpoint[]>();
    for (const endpoint of to) {
      const group = groups.get(endpoint.session.channel);
      if (group === undefined) groups.set(endpoint.session.channel, [endpoint]);
      else group.push(endpoint);
    }
    for (const [group, endpoints] of groups) this.#roomDatagram(group, bytes, endpoints);
  }

  #roomDatagram(channel: RoomChannel, bytes: Uint8Array, to: readonly SealedEndpoint[]): void {
    switch (channel.keys.due()) {
      case "exhausted":
        this.stats.exhausted++;
        return;
      case "hold":
        if (!channel.keys.hold({ bytes, to: [...to] })) this.stats.heldDropped++;
        this.#scheduleRelease(channel);
        return;
      case "rekey":
        this.#rekey(channel);
        break;
      case "seal":
        break;
    }
    this.#sendRoom(channel, bytes, to);
  }

  /** A new epoch: KEY to every remaining member first, then what was held. */
  #rekey(channel: RoomChannel): void {
    const held = channel.keys.takeHeld();
    const timer = this.#releases.get(channel);
    if (timer !== undefined) {
      this.#timers.clear(timer);
      this.#releases.delete(channel);
    }
    channel.keys.rekey();
    const inner = encodeKeyInner(channel.keys.epoch, channel.keys.key);
    for (const session of channel.sessions) {
      // Members without an endpoint get the key in their WELCOME.
      if (session.endpoint === null) continue;
      if (this.#sealAndSend(session, inner, session.endpoint)) this.stats.keysSent++;
    }
    for (const { bytes, to } of held) this.#sendRoom(channel, bytes, to);
  }

  #scheduleRelease(channel: RoomChannel): void {
    if (this.#releases.has(channel)) return;
    const wait = Math.max(1, Math.ceil(channel.keys.rekeyAllowedAt - this.#options.monotonic()));
    this.#releases.set(
      channel,
      this.#timers.set(() => {
        this.#releases.delete(channel);
        this.#release(channel);
      }, wait),
    );
  }

  /** The cap allows the rekey now (or the timer came a little early: wait again). */
  #release(channel: RoomChannel): void {
    if (channel.keys.heldCount === 0) return;
    if (channel.sessions.size === 0) {
      channel.keys.takeHeld();
      return;
    }
    switch (channel.keys.due()) {
      case "hold":
        this.#scheduleRelease(channel);
        return;
      case "exhausted":
        this.stats.exhausted += channel.keys.takeHeld().length;
        return;
      case "rekey":
        this.#rekey(channel);
        break;
      case "seal":
        for (const { bytes, to } of channel.keys.takeHeld()) this.#sendRoom(channel, bytes, to);
        break;
    }
    this.flush();
  }

  #sendRoom(channel: RoomChannel, bytes: Uint8Array, to: readonly SealedEndpoint[]): void {
    const keys = channel.keys;
    const seq = ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0;
    let sealed = keys.cached(seq, bytes);
    if (sealed !== undefined) {
      this.stats.cacheHits++;
    } else {
      if (bytes.length + ROOM_OVERHEAD_BYTES > MAX_DATAGRAM_BYTES) {
        this.stats.oversized++;
        return;
      }
      const counter = keys.takeCounter();
      sealed = sealRoomDatagram(this.#options.crypto, {
        key: keys.key,
        epoch: keys.epoch,
        counter,
        inner: bytes,
        signer: this.#options.signer,
      });
      this.#options.onSeal?.(keys.key, datagramNonce(counter));
      this.stats.roomSeals++;
      keys.remember(seq, bytes, sealed, counter);
    }
    const targets: SealedEndpoint[] = [];
    for (const endpoint of to) {
      if (endpoint.session.closed) {
        // Gone before this left: it could not open it anyway (the room rekeyed).
        this.stats.departedDropped++;
      } else if (endpoint.link !== null) {
        // EVENTs are what a slow reader sheds.
        if (endpoint.link.admits(true)) this.#sendLink(endpoint.link, sealed);
      } else if (this.#charge(endpoint, sealed.length)) {
        targets.push(endpoint);
      }
    }
    if (targets.length > 0) this.#options.socket.send(sealed, targets);
  }

  /**
   * Seals `inner` on the session's member channel and sends it to `to`,
   * unless it would pass an unvalidated address's budget (checked first,
   * so refused bytes cost no crypto).
   */
  #sealAndSend(session: SealedSession, inner: Uint8Array, to: SealedEndpoint): boolean {
    const size = inner.length + MEMBER_OVERHEAD_BYTES;
    if (size > MAX_DATAGRAM_BYTES) {
      this.stats.oversized++;
      return false;
    }
    // A closed or slow socket: refused before any crypto, like an address past its 3x.
    if (to.link !== null ? !to.link.admits(false) : !this.#charge(to, size)) return false;
    const counter = session.takeCounter();
    if (counter < 0) {
      this.stats.exhausted++;
      return false;
    }
    const key = session.serverKey;
    const sealed = sealMemberDatagram(this.#options.crypto, {
      key,
      sessionId: session.id,
      counter,
      inner,
    });
    this.#options.onSeal?.(key, datagramNonce(counter));
    this.stats.memberSeals++;
    if (to.link !== null) this.#sendLink(to.link, sealed);
    else this.#options.socket.send(sealed, [to]);
    return true;
  }

  #sendLink(link: WsLink, bytes: Uint8Array): void {
    link.send(bytes);
    this.#touchedLinks.add(link);
  }

  /** Charges `bytes` to an unvalidated address; false when they would pass its 3x. */
  #charge(to: SealedEndpoint, bytes: number): boolean {
    if (!to.mayTake(bytes)) {
      this.stats.amplificationDropped++;
      return false;
    }
    if (to.probe !== null && !to.probe.validated) to.probe.bytesOut += bytes;
    return true;
  }
}
