/**
 * The room channel's keys for one sealed room instance (docs/protocol.md
 * 6.2): its epochs, its one counter, the cache of sealed EVENTs, and the
 * room datagrams held while a rekey waits.
 *
 * - Each epoch has a fresh random key, never derived from anything. Epochs
 *   are numbered from 1.
 * - One counter for the room instance, across epochs, so no (key, nonce)
 *   pair can repeat even if a key did. Only a rekey for the counter limit
 *   starts it again (under a fresh key).
 * - A member's departure makes the next room datagram wait for a rekey, so
 *   the departed member's key opens nothing sent after it left. Rekeys are
 *   at most one per {@linkcode REKEY_INTERVAL_MS} per room, so join and
 *   leave churn cannot make the server send KEY to everyone at will; a room
 *   datagram due meanwhile is held (bounded) and leaves after the rekey.
 *   Joins do not rekey: a joiner sees the last 50 events anyway.
 * - Sealed EVENTs are cached per seq for the current epoch (bounded): a
 *   replay of a recent event to many members costs one seal and one
 *   signature, not one per member. A rekey empties the cache.
 *
 * Pure state with injected time and randomness; the transport
 * (sealed_transport.ts) seals, signs and sends.
 *
 * @module
 */
import { sameBytes } from "../../protocol/bytes.ts";
import { MAX_COUNTER } from "../../protocol/sealed_datagram.ts";

/** Shortest time between two departure rekeys of one room: at most 2 a second. */
export const REKEY_INTERVAL_MS = 500;
/** Room datagrams held per room while a rekey waits; past it the oldest is dropped. */
export const MAX_HELD_ROOM_DATAGRAMS = 256;
/** Sealed EVENTs cached per room, at most. */
export const ROOM_CACHE_ENTRIES = 64;
/**
 * Bytes cached per room (each entry's plain and sealed bytes), at most: 128
 * MiB across the default 1,000 rooms in the worst case, about 25 KB a room
 * for 64 short messages.
 */
export const ROOM_CACHE_BYTES = 128 * 1024;
/**
 * A cached EVENT whose counter is this far behind the room's goes out sealed
 * afresh instead: a client keeps a window of 2048 room counters
 * (protocol/replay_window.ts) and drops anything older unopened, so an old
 * cached copy would be a replay nobody can read, and the gap it should repair
 * would never close while the epoch lasts.
 */
export const CACHE_COUNTER_SPAN = 1024;
/** The last epoch number (u32 on the wire). */
export const MAX_EPOCH = 0xffff_ffff;
/** Bytes of an epoch key. */
export const EPOCH_KEY_BYTES = 32;

/** What a room datagram must do now: be sealed, wait for a rekey done first, or be held. */
export type RoomDue = "seal" | "rekey" | "hold" | "exhausted";

/** What a room's keys are made with; the limits are for tests. */
export interface RoomKeysOptions {
  random: (size: number) => Uint8Array;
  monotonic: () => number;
  /** The last counter sealed under one key (default 2^53 − 1). */
  counterLimit?: number;
  /** The last epoch number (default 2^32 − 1). */
  epochLimit?: number;
  rekeyIntervalMs?: number;
  maxHeld?: number;
  cacheEntries?: number;
  cacheBytes?: number;
}

/** Counters for tests and figures. */
export interface RoomKeysStats {
  rekeys: number;
  held: number;
  heldDropped: number;
}

/** The keys, counter, cache and held datagrams of one room instance. */
export class RoomKeys<Held> {
  readonly stats: RoomKeysStats = { rekeys: 0, held: 0, heldDropped: 0 };
  #options: Required<RoomKeysOptions>;
  #epoch = 0;
  #key: Uint8Array = new Uint8Array(0);
  #counter = 0;
  #pending = false;
  #lastRekeyAt = -Infinity;
  #cache = new Map<number, { plain: Uint8Array; sealed: Uint8Array; counter: number }>();
  #cacheBytes = 0;
  #held: Held[] = [];

  /** A room at epoch 1 with a fresh key. */
  constructor(options: RoomKeysOptions) {
    this.#options = {
      counterLimit: MAX_COUNTER,
      epochLimit: MAX_EPOCH,
      rekeyIntervalMs: REKEY_INTERVAL_MS,
      maxHeld: MAX_HELD_ROOM_DATAGRAMS,
      cacheEntries: ROOM_CACHE_ENTRIES,
      cacheBytes: ROOM_CACHE_BYTES,
      ...options,
    };
    this.#newEpoch();
  }

  /** The current epoch number. */
  get epoch(): number {
    return this.#epoch;
  }

  /** The current epoch's key. */
  get key(): Uint8Array {
    return this.#key;
  }

  /** Whether a departure is waiting for its rekey. */
  get rekeyPending(): boolean {
    return this.#pending;
  }

  /** When (monotonic ms) the cap allows the next departure rekey. */
  get rekeyAllowedAt(): number {
    return this.#lastRekeyAt + this.#options.rekeyIntervalMs;
  }

  /** A member left: the next room datagram goes under a new key. */
  markDeparture(): void {
    this.#pending = true;
  }

  /** What a room datagram due now must do first. */
  due(): RoomDue {
    const needsKey = this.#pending || this.#counter > this.#options.counterLimit;
    if (!needsKey) return "seal";
    if (this.#epoch >= this.#options.epochLimit) return "exhausted";
    if (this.#counter > this.#options.counterLimit) return "rekey"; // the limit waits for no cap
    return this.#options.monotonic() >= this.rekeyAllowedAt ? "rekey" : "hold";
  }

  /**
   * A new epoch with a fresh key: for a departure (within the cap) or the
   * counter limit. The counter goes on across epochs, except past the limit.
   */
  rekey(): void {
    if (this.#epoch >= this.#options.epochLimit) throw new RangeError("room epochs exhausted");
    if (this.#counter > this.#options.counterLimit) this.#counter = 0;
    this.#pending = false;
    this.#lastRekeyAt = this.#options.monotonic();
    this.#newEpoch();
    this.stats.rekeys++;
  }

  /** The counter for the next room datagram (call {@linkcode due} first). */
  takeCounter(): number {
    return this.#counter++;
  }

  /**
   * The sealed EVENT of seq `seq` under the current epoch, if cached and
   * sealed from exactly `plain` (a seq names one event of one room
   * instance; comparing costs far less than a seal, and keeps a stale
   * entry from ever going out), and sealed within the last
   * {@linkcode CACHE_COUNTER_SPAN} counters.
   */
  cached(seq: number, plain: Uint8Array): Uint8Array | undefined {
    const entry = this.#cache.get(seq);
    if (entry === undefined || this.#counter - entry.counter > CACHE_COUNTER_SPAN) return undefined;
    return sameBytes(entry.plain, plain) ? entry.sealed : undefined;
  }

  /** Caches a sealed EVENT under the current epoch; the oldest go past the bounds. */
  remember(seq: number, plain: Uint8Array, sealed: Uint8Array, counter: number): void {
    const { cacheEntries, cacheBytes } = this.#options;
    const size = plain.length + sealed.length;
    if (size > cacheBytes) return;
    const old = this.#cache.get(seq);
    if (old !== undefined) {
      this.#cache.delete(seq);
      this.#cacheBytes -= old.plain.length + old.sealed.length;
    }
    this.#cache.set(seq, { plain, sealed, counter });
    this.#cacheBytes += size;
    for (const [oldSeq, entry] of this.#cache) {
      if (this.#cache.size <= cacheEntries && this.#cacheBytes <= cacheBytes) break;
      this.#cache.delete(oldSeq);
      this.#cacheBytes -= entry.plain.length + entry.sealed.length;
    }
  }

  /** Bytes (plain and sealed) cached now. */
  get cacheBytes(): number {
    return this.#cacheBytes;
  }

  /** Sealed EVENTs cached now. */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /** Holds a room datagram until the rekey; false when that dropped the oldest held one. */
  hold(item: Held): boolean {
    this.#held.push(item);
    this.stats.held++;
    if (this.#held.length <= this.#options.maxHeld) return true;
    this.#held.shift();
    this.stats.heldDropped++;
    return false;
  }

  /** Held room datagrams now. */
  get heldCount(): number {
    return this.#held.length;
  }

  /** The held datagrams, oldest first; none are held afterwards. */
  takeHeld(): Held[] {
    const held = this.#held;
    this.#held = [];
    return held;
  }

  #newEpoch(): void {
    this.#epoch++;
    this.#key = this.#options.random(EPOCH_KEY_BYTES);
    this.#cache.clear();
    this.#cacheBytes = 0;
  }
}
