/**
 * The client's end of a sealed session's datagrams (docs/protocol.md 6.3):
 * the member channel both ways (this member's keys, an explicit counter and
 * a replay window) and the room channel inward (EVENTs sealed under the
 * room's epoch key and signed by the server). What comes out has been
 * authenticated; everything else is dropped and counted, never answered.
 */
import { decodeServerDatagram, MAX_DATAGRAM_BYTES, type ServerBody } from "../protocol/datagram.ts";
import { ProtocolError } from "../protocol/errors.ts";
import { ReplayWindow } from "../protocol/replay_window.ts";
import {
  decodeSealedServerInner,
  encodeSealedClientBody,
  isSealedDatagram,
  MAX_COUNTER,
  MEMBER_OVERHEAD_BYTES,
  openMemberDatagram,
  openRoomDatagram,
  peekSealedHeader,
  RESET_DATAGRAM_BYTES,
  sameBytes,
  type SealedHeader,
  sealMemberDatagram,
  verifyRoomDatagram,
} from "../protocol/sealed_datagram.ts";
import type { CryptoProvider, SealedSessionParams } from "../protocol/sealed_types.ts";
import type { DatagramChannel } from "./connector.ts";
import type { Scheduler } from "./scheduler.ts";

/** The previous epoch's key opens room datagrams this long after a KEY or WELCOME replaced it. */
export const PREVIOUS_EPOCH_MS = 10_000;
/** Room datagrams of an unknown newer epoch kept until its key arrives; more are dropped. */
export const MAX_UNKNOWN_EPOCH_DATAGRAMS = 64;
/** At most one HELLO this often to ask for a key we missed. */
export const UNKNOWN_EPOCH_HELLO_MS = 1_000;

/** A member-channel body: the plain server kinds, and the sealed room's HEARTBEAT_ACK. */
export type MemberBody =
  | Exclude<ServerBody, { kind: "event" }>
  | { kind: "heartbeatAck"; headSeq: number };

/** An EVENT body. */
export type EventBody = Extract<ServerBody, { kind: "event" }>;

/** What the session gets: authenticated bodies, and the server saying it forgot us. */
export type SealedInbound =
  | { from: "member"; body: MemberBody }
  | { from: "room"; body: EventBody }
  | { from: "reset" };

/** Why a datagram was dropped (counted in {@linkcode SealedChannel.dropped}). */
export type DropReason =
  | "size" // over maxDatagramBytes or under a sealed header
  | "plain" // not a sealed datagram
  | "malformed" // header or inner body did not parse, or a kind not for that channel
  | "session" // another session id
  | "replay" // counter already seen, or below the window
  | "open" // the AEAD tag did not verify
  | "signature" // a room datagram not signed by the server
  | "epoch" // a room datagram of an epoch whose key is gone
  | "buffer" // a room datagram of an unknown epoch, with the buffer full
  | "reset"; // a reset whose token does not match

/** What a {@linkcode SealedChannel} needs. */
export interface SealedChannelOptions {
  /** The connection's channel: bytes as they are on the wire. */
  channel: DatagramChannel;
  /** Keys and tokens from the sealed answer. */
  params: SealedSessionParams;
  crypto: CryptoProvider;
  /** The clock for the previous epoch's lifetime and the HELLO rate. */
  scheduler: Scheduler;
  /** The largest whole datagram the server takes (its answer's maxDatagramBytes). */
  maxDatagramBytes: number;
  /**
   * A room datagram of an unknown newer epoch arrived (we missed a KEY):
   * send HELLO, whose WELCOME carries the current key. Called at most once
   * per {@linkcode UNKNOWN_EPOCH_HELLO_MS}.
   */
  askForKey: () => void;
  /** The member channel's counter is used up: nothing more can be sent on it. */
  exhausted: () => void;
  /** The first counter to send with (tests start near the limit); default 0. */
  firstCounter?: number;
}

interface EpochKey {
  epoch: number;
  key: Uint8Array;
}

interface Buffered {
  header: SealedHeader & { type: "room" };
  bytes: Uint8Array;
}

/**
 * One membership's sealed datagrams. Member datagrams go out under a fresh
 * counter at each {@linkcode send} (so a retransmission is never a replay);
 * {@linkcode receive} hands out only what opened (and, for the room
 * channel, was signed by the server), one at a time, in arrival order.
 *
 * @example
 * ```ts
 * const sealed = new SealedChannel({ channel, params, crypto, scheduler,
 *   maxDatagramBytes: 4096, askForKey: () => sayHello(), exhausted: () => close() });
 * sealed.send(encodeSealedClientBody({ kind: "hello", lastSeq: 0 }));
 * const inbound = await sealed.receive(); // { from: "member", body: WELCOME }...
 * ```
 */
export class SealedChannel {
  #options: SealedChannelOptions;
  #inner: DatagramChannel;
  #params: SealedSessionParams;
  #crypto: CryptoProvider;
  #counter: number;
  #exhausted = false;
  #memberWindow = new ReplayWindow();
  /** One room counter runs across epochs, so one window serves them all. */
  #roomWindow = new ReplayWindow();
  #current: EpochKey | null = null;
  #previous: EpochKey | null = null;
  #previousUntil = 0;
  #unknownEpoch: Buffered[] = [];
  #lastKeyAskAt = -Infinity;
  /** Opened room datagrams of an epoch whose key just arrived, waiting for receive(). */
  #ready: SealedInbound[] = [];
  #heardAt: number;
  #dropped = new Map<DropReason, number>();

  /** Starts with no epoch key: WELCOME brings it. */
  constructor(options: SealedChannelOptions) {
    this.#options = options;
    this.#inner = options.channel;
    this.#params = options.params;
    this.#crypto = options.crypto;
    this.#counter = options.firstCounter ?? 0;
    this.#heardAt = options.scheduler.now();
  }

  /** When an authenticated datagram last arrived (on the scheduler's clock; at first, when opened). */
  get heardAt(): number {
    return this.#heardAt;
  }

  /** The epoch whose key is current; 0 before WELCOME. */
  get epoch(): number {
    return this.#current?.epoch ?? 0;
  }

  /** Datagrams dropped, by reason, or in all. */
  dropped(reason?: DropReason): number {
    if (reason !== undefined) return this.#dropped.get(reason) ?? 0;
    let all = 0;
    for (const count of this.#dropped.values()) all += count;
    return all;
  }

  /** The channel's own address, for fault proxies. */
  get local(): DatagramChannel["local"] {
    return this.#inner.local;
  }

  /**
   * Seals `inner` (a body as `encodeSealedClientBody` wrote it) under the
   * next counter and sends it. Throws RangeError when the whole datagram
   * would be over maxDatagramBytes. Past counter 2^53 - 1 nothing is sent,
   * and `exhausted` is called once.
   */
  send(inner: Uint8Array): void {
    const size = inner.length + MEMBER_OVERHEAD_BYTES;
    if (size > this.#options.maxDatagramBytes) {
      throw new RangeError(
        `sealed datagram of ${size} bytes is over the server's ${this.#options.maxDatagramBytes}`,
      );
    }
    if (this.#counter > MAX_COUNTER) {
      if (!this.#exhausted) {
        this.#exhausted = true;
        this.#options.exhausted();
      }
      return;
    }
    const counter = this.#counter++;
    this.#inner.send(sealMemberDatagram(this.#crypto, {
      key: this.#params.clientKey,
      sessionId: this.#params.sessionId,
      counter,
      inner,
    }));
  }

  /**
   * The next authenticated datagram, or null once the channel is closed.
   * One call at a time. Rejects only when the crypto provider throws.
   */
  async receive(): Promise<SealedInbound | null> {
    while (true) {
      const ready = this.#ready.shift();
      if (ready !== undefined) return ready;
      const bytes = await this.#inner.receive();
      if (bytes === null) return null;
      const inbound = await this.#handle(bytes);
      if (inbound !== null) return inbound;
    }
  }

  /** Closes the underlying channel. */
  close(): void {
    this.#unknownEpoch = [];
    this.#ready = [];
    this.#inner.close();
  }

  async #handle(bytes: Uint8Array): Promise<SealedInbound | null> {
    if (bytes.length > MAX_DATAGRAM_BYTES) return this.#drop("size");
    if (!isSealedDatagram(bytes)) return this.#drop("plain");
    let header: SealedHeader;
    try {
      header = peekSealedHeader(bytes);
    } catch (error) {
      if (error instanceof ProtocolError) return this.#drop("malformed");
      throw error;
    }
    switch (header.type) {
      case "member":
        return this.#onMember(header, bytes);
      case "room":
        return await this.#onRoom(header, bytes);
      case "reset":
        return this.#onReset(header, bytes);
    }
  }

  #onMember(header: SealedHeader & { type: "member" }, bytes: Uint8Array): SealedInbound | null {
    if (!sameBytes(header.sessionId, this.#params.sessionId)) return this.#drop("session");
    if (!this.#memberWindow.canAccept(header.counter)) return this.#drop("replay");
    const inner = openMemberDatagram(this.#crypto, this.#params.serverKey, bytes);
    if (inner === null) return this.#drop("open");
    this.#memberWindow.accept(header.counter);
    this.#heardAt = this.#options.scheduler.now();
    let control;
    try {
      control = decodeSealedServerInner(inner);
    } catch (error) {
      if (error instanceof ProtocolError) return this.#drop("malformed");
      throw error;
    }
    switch (control.kind) {
      case "welcome":
        this.#install(control.epoch, control.epochKey);
        return { from: "member", body: control.welcome };
      case "key":
        this.#install(control.epoch, control.epochKey);
        return null;
      case "pathChallenge":
        // The server saw us from a new address: prove it is ours.
        this.send(encodeSealedClientBody({ kind: "pathResponse", challenge: control.challenge }));
        return null;
      case "body": {
        // EVENTs travel only on the room channel, under the epoch key and the signature.
        const body = control.body as ServerBody | MemberBody;
        if (body.kind === "event") return this.#drop("malformed");
        return { from: "member", body };
      }
    }
  }

  async #onRoom(
    header: SealedHeader & { type: "room" },
    bytes: Uint8Array,
  ): Promise<SealedInbound | null> {
    if (!this.#roomWindow.canAccept(header.counter)) return this.#drop("replay");
    const key = this.#keyFor(header.epoch);
    if (key === "stale") return this.#drop("epoch");
    // The signature first: it is what says the server wrote this, whatever the key.
    if (!(await verifyRoomDatagram(this.#crypto, this.#params.signingKey, bytes))) {
      return this.#drop("signature");
    }
    if (key === "unknown") {
      this.#keep({ header, bytes });
      return null;
    }
    return this.#openRoom(header, bytes, key);
  }

  #onReset(header: SealedHeader & { type: "reset" }, bytes: Uint8Array): SealedInbound | null {
    if (
      bytes.length === RESET_DATAGRAM_BYTES &&
      sameBytes(header.sessionId, this.#params.sessionId) &&
      sameBytes(header.token, this.#params.resetToken) // constant time
    ) {
      return { from: "reset" };
    }
    return this.#drop("reset");
  }

  /** Opens a verified room datagram with `key`; null when it does not open or is not an EVENT. */
  #openRoom(
    header: SealedHeader & { type: "room" },
    bytes: Uint8Array,
    key: Uint8Array,
  ): SealedInbound | null {
    if (!this.#roomWindow.canAccept(header.counter)) return this.#drop("replay");
    const inner = openRoomDatagram(this.#crypto, key, bytes);
    if (inner === null) return this.#drop("open");
    this.#roomWindow.accept(header.counter);
    this.#heardAt = this.#options.scheduler.now();
    let body: ServerBody;
    try {
      body = decodeServerDatagram(inner);
    } catch (error) {
      if (error instanceof ProtocolError) return this.#drop("malformed");
      throw error;
    }
    if (body.kind !== "event") return this.#drop("malformed");
    return { from: "room", body };
  }

  /** The key for `epoch`, "unknown" for a newer one, "stale" for one whose key is gone. */
  #keyFor(epoch: number): Uint8Array | "unknown" | "stale" {
    const now = this.#options.scheduler.now();
    if (this.#previous !== null && now >= this.#previousUntil) this.#previous = null;
    if (this.#current === null || epoch > this.#current.epoch) return "unknown";
    if (epoch === this.#current.epoch) return this.#current.key;
    if (epoch === this.#previous?.epoch) return this.#previous.key;
    return "stale";
  }

  /** Keeps a verified room datagram of an unknown epoch, and asks for the key (rate limited). */
  #keep(datagram: Buffered): void {
    if (this.#unknownEpoch.some((kept) => kept.header.counter === datagram.header.counter)) {
      this.#drop("replay");
      return;
    }
    // A full buffer still asks: the HELLO that should have brought the key may
    // have been lost, and with nothing more kept nothing else would ask again.
    if (this.#unknownEpoch.length >= MAX_UNKNOWN_EPOCH_DATAGRAMS) this.#drop("buffer");
    else this.#unknownEpoch.push(datagram);
    const now = this.#options.scheduler.now();
    // Before WELCOME the HELLOs are under way anyway; they bring the key.
    if (this.#current !== null && now - this.#lastKeyAskAt >= UNKNOWN_EPOCH_HELLO_MS) {
      this.#lastKeyAskAt = now;
      this.#options.askForKey();
    }
  }

  /**
   * A WELCOME or KEY with an epoch key: a newer epoch becomes current, the
   * one it replaces stays usable for {@linkcode PREVIOUS_EPOCH_MS}, and
   * datagrams kept for it are opened now. An older or equal epoch (a
   * reordered KEY, a repeated WELCOME) changes nothing.
   */
  #install(epoch: number, key: Uint8Array): void {
    if (this.#current !== null && epoch <= this.#current.epoch) return;
    if (this.#current !== null) {
      this.#previous = this.#current;
      this.#previousUntil = this.#options.scheduler.now() + PREVIOUS_EPOCH_MS;
    }
    this.#current = { epoch, key };
    const kept = this.#unknownEpoch;
    this.#unknownEpoch = [];
    for (const datagram of kept) {
      const keyNow = this.#keyFor(datagram.header.epoch);
      if (keyNow === "unknown") this.#unknownEpoch.push(datagram);
      else if (keyNow === "stale") this.#drop("epoch");
      else {
        const opened = this.#openRoom(datagram.header, datagram.bytes, keyNow);
        if (opened !== null) this.#ready.push(opened);
      }
    }
  }

  #drop(reason: DropReason): null {
    this.#dropped.set(reason, (this.#dropped.get(reason) ?? 0) + 1);
    return null;
  }
}
