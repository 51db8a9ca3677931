/**
 * The sealed sessions of a server (docs/protocol.md 6.2): one per admitted
 * member of a sealed room, found by its session id, holding the member's
 * keys, counters and paths, and the room channel it shares with the rest of
 * its room. {@linkcode SealedSessions} is the issuer the sealed handshake
 * calls after the registry admits a member, and it forgets a session when
 * the registry removes the member (RegistryOptions.onRemoved), which also
 * makes the room rekey before its next room datagram.
 *
 * The registry stays ignorant of all this: a session speaks to it with the
 * member's token, which never leaves the server.
 *
 * @module
 */
import { canonicalKey } from "../../protocol/names.ts";
import { ReplayWindow } from "../../protocol/replay_window.ts";
import { bytesToHex } from "../../protocol/bytes.ts";
import { MAX_COUNTER, resetTokenOf, SESSION_ID_BYTES } from "../../protocol/sealed_datagram.ts";
import type {
  CryptoProvider,
  Ed25519Signer,
  IssuedSession,
  SealedSessionIssuer,
} from "../../protocol/sealed_types.ts";
import { tokenKey } from "../registry.ts";
import { SealedEndpoint, SessionPaths } from "./paths.ts";
import { RoomKeys, type RoomKeysOptions } from "./room_keys.ts";

/** A room datagram waiting for a rekey: its plain EVENT bytes and where it goes. */
export interface HeldRoomDatagram {
  bytes: Uint8Array;
  to: SealedEndpoint[];
}

/** The room channel of one sealed room instance, shared by its members' sessions. */
export class RoomChannel {
  /** Canonical key of the room's name. */
  readonly key: string;
  readonly keys: RoomKeys<HeldRoomDatagram>;
  /** The sessions of the room's members now. */
  readonly sessions = new Set<SealedSession>();

  /** A channel at epoch 1. */
  constructor(key: string, options: RoomKeysOptions) {
    this.key = key;
    this.keys = new RoomKeys(options);
  }
}

/** One member's sealed session. */
export class SealedSession {
  /** 8 bytes, public, and their hex (the table's key). */
  readonly id: Uint8Array;
  readonly idHex: string;
  /** The member's registry token, and its hex (as the registry keys it). */
  readonly token: Uint8Array;
  readonly tokenKey: string;
  /** The room as the member named it in the handshake. */
  readonly roomName: string;
  /** Opens client -> server datagrams; seals server -> client ones. */
  readonly clientKey: Uint8Array;
  readonly serverKey: Uint8Array;
  readonly resetToken: Uint8Array;
  readonly channel: RoomChannel;
  /** Counters accepted under clientKey. */
  readonly window = new ReplayWindow();
  readonly paths: SessionPaths;
  /** The member's own endpoint, from its first authenticated datagram on. */
  endpoint: SealedEndpoint | null = null;
  /** Set when the member is gone: datagrams to it may still be sealed (its CLOSED). */
  closed = false;
  #counter = 0;
  #counterLimit: number;

  /** A session; see {@linkcode SealedSessions.issue}. */
  constructor(fields: {
    id: Uint8Array;
    token: Uint8Array;
    roomName: string;
    clientKey: Uint8Array;
    serverKey: Uint8Array;
    resetToken: Uint8Array;
    channel: RoomChannel;
    random: (size: number) => Uint8Array;
    counterLimit: number;
  }) {
    this.id = fields.id;
    this.idHex = bytesToHex(fields.id);
    this.token = fields.token;
    this.tokenKey = tokenKey(fields.token);
    this.roomName = fields.roomName;
    this.clientKey = fields.clientKey;
    this.serverKey = fields.serverKey;
    this.resetToken = fields.resetToken;
    this.channel = fields.channel;
    this.paths = new SessionPaths(fields.random);
    this.#counterLimit = fields.counterLimit;
  }

  /**
   * The counter for the next datagram sealed under serverKey, or -1 once
   * the limit is passed: the member channel never wraps; the session is
   * then silent and the member rejoins when it stops hearing the server.
   */
  takeCounter(): number {
    if (this.#counter > this.#counterLimit) return -1;
    return this.#counter++;
  }
}

/** What the session table is made with; the limits are for tests. */
export interface SealedSessionsOptions {
  crypto: CryptoProvider;
  /** The server's static X25519 private key: reset tokens derive from it. */
  staticPrivateKey: Uint8Array;
  /** The per-process Ed25519 key that signs room datagrams (default: a fresh one). */
  signer?: Ed25519Signer;
  monotonic: () => number;
  /** Last counter of a member channel (default 2^53 − 1). */
  memberCounterLimit?: number;
  /** Options of each room's keys besides random and monotonic (limits, for tests). */
  roomKeys?: Omit<RoomKeysOptions, "random" | "monotonic">;
  /**
   * Called after {@linkcode SealedSessions.replace} with the session a
   * takeover replaced: its socket, if a WebSocket's, should close 4409.
   */
  onReplaced?: (old: SealedSession) => void;
}

/** Sealed sessions by session id, and the issuer the sealed handshake calls. */
export class SealedSessions implements SealedSessionIssuer {
  /** Signs every room datagram; its public half goes in every sealed answer. */
  readonly signer: Ed25519Signer;
  readonly crypto: CryptoProvider;
  #options: SealedSessionsOptions;
  #byId = new Map<string, SealedSession>();
  #byToken = new Map<string, SealedSession>();
  #channels = new Map<string, RoomChannel>();

  /** An empty table. */
  constructor(options: SealedSessionsOptions) {
    this.#options = options;
    this.crypto = options.crypto;
    this.signer = options.signer ?? options.crypto.ed25519Signer();
  }

  /** The Ed25519 public key of room datagrams (32 bytes), for the sealed answer. */
  get signingKey(): Uint8Array {
    return this.signer.publicKey;
  }

  /** Sessions now. */
  get size(): number {
    return this.#byId.size;
  }

  /** Room channels now. */
  get channelCount(): number {
    return this.#channels.size;
  }

  /**
   * Opens the session of a member the registry just admitted to the sealed
   * room `roomName`: fresh random id and keys, and the reset token for the id.
   */
  issue(memberToken: Uint8Array, roomName: string): IssuedSession {
    const { crypto } = this.#options;
    const memberKey = tokenKey(memberToken);
    const previous = this.#byToken.get(memberKey);
    if (previous !== undefined) this.#forget(previous);
    let id: Uint8Array;
    do id = crypto.randomBytes(SESSION_ID_BYTES); while (this.#byId.has(bytesToHex(id)));
    const channel = this.#channelOf(roomName);
    const session = new SealedSession({
      id,
      token: memberToken.slice(),
      roomName,
      clientKey: crypto.randomBytes(32),
      serverKey: crypto.randomBytes(32),
      resetToken: resetTokenOf(crypto, this.#options.staticPrivateKey, id),
      channel,
      random: (size) => crypto.randomBytes(size),
      counterLimit: this.#options.memberCounterLimit ?? MAX_COUNTER,
    });
    this.#byId.set(session.idHex, session);
    this.#byToken.set(memberKey, session);
    channel.sessions.add(session);
    return {
      sessionId: session.id,
      clientKey: session.clientKey,
      serverKey: session.serverKey,
      resetToken: session.resetToken,
    };
  }

  /**
   * A takeover (docs/protocol.md 7.4): the member of `old` continues under a
   * new session (fresh id and keys) for the room `roomName`; `old` is
   * forgotten (its datagrams now earn stateless resets), its room rekeys
   * before the next room datagram (the old holder's epoch key opens nothing
   * newer), and {@linkcode SealedSessionsOptions.onReplaced} is told.
   */
  replace(old: SealedSession, roomName: string): IssuedSession {
    if (this.#byId.get(old.idHex) !== old) throw new Error("only a live session can be replaced");
    this.#forget(old);
    old.channel.keys.markDeparture();
    const issued = this.issue(old.token, roomName);
    this.#options.onReplaced?.(old);
    return issued;
  }

  /** The session named by a datagram's 8-byte session id. */
  byId(sessionId: Uint8Array): SealedSession | undefined {
    return this.#byId.get(bytesToHex(sessionId));
  }

  /** The session of a member token (hex, as the registry keys members). */
  byTokenKey(tokenKey: string): SealedSession | undefined {
    return this.#byToken.get(tokenKey);
  }

  /**
   * The registry removed a member (RegistryOptions.onRemoved): its session
   * is forgotten (a later datagram of it earns a stateless reset) and its
   * room rekeys before the next room datagram. Members of plain rooms have
   * no session and are ignored.
   */
  onRemoved(member: { tokenKey: string }): void {
    const session = this.#byToken.get(member.tokenKey);
    if (session === undefined) return;
    this.#forget(session);
    session.channel.keys.markDeparture();
  }

  /** The stateless reset token for an unknown session id (HMAC of the static key). */
  resetTokenFor(sessionId: Uint8Array): Uint8Array {
    return resetTokenOf(this.#options.crypto, this.#options.staticPrivateKey, sessionId);
  }

  #forget(session: SealedSession): void {
    session.closed = true;
    this.#byId.delete(session.idHex);
    this.#byToken.delete(session.tokenKey);
    const channel = session.channel;
    channel.sessions.delete(session);
    if (channel.sessions.size === 0) {
      // The room instance is over (or has nobody to seal for): a new one starts fresh.
      if (this.#channels.get(channel.key) === channel) this.#channels.delete(channel.key);
      channel.keys.takeHeld();
    }
  }

  #channelOf(roomName: string): RoomChannel {
    const key = canonicalKey(roomName);
    let channel = this.#channels.get(key);
    if (channel === undefined) {
      const { crypto, monotonic } = this.#options;
      channel = new RoomChannel(key, {
        ...this.#options.roomKeys,
        random: (size) => crypto.randomBytes(size),
        monotonic,
      });
      this.#channels.set(key, channel);
    }
    return channel;
  }
}
