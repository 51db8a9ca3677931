/**
 * The msgIds a member sent most recently, each with the seq of the event that
 * relayed it, so a retransmitted MESSAGE is acknowledged again instead of
 * relayed twice. A revision-2 msgId refused for good is kept as minus its
 * REFUSED code (-410, -413; seqs are never negative), so a repeat gets the
 * same answer.
 *
 * A `Map<number, number>` did this at 57 KB a member once full: after its
 * first eviction V8 keeps 2048 entries of three 8-byte words plus buckets.
 * Here a ring of msgIds (4 bytes each) and seqs (8 bytes), indexed by an
 * open-addressing hash table of 2-byte ring positions, holds the same 1024
 * in 17 KB (`deno task bench:memory`), and grows from nothing as the member
 * sends.
 */

const FIRST_CAPACITY = 16;
// Shared by every instance before its first add: an empty typed array still
// costs about 200 bytes (the view and its ArrayBuffer), and most members of a
// room never send.
const NO_IDS = new Uint32Array(0);
const NO_SEQS = new Float64Array(0);
const NO_SLOTS = new Uint16Array(0);

/** The newest `limit` msgIds added, with their seqs; the oldest is forgotten first. */
export class RecentMsgIds {
  readonly #limit: number;
  /** Ring, in the order added: msgIds (u32, as the datagram carries them) and their seqs. */
  #ids = NO_IDS;
  #seqs = NO_SEQS;
  /**
   * Linear probing hash table, a power of two at least twice the ring: a ring
   * position plus 1, or 0 for an empty slot.
   */
  #slots = NO_SLOTS;
  #shift = 32;
  #oldest = 0;
  #size = 0;

  /** Remembers at most `limit` msgIds (1-65535, so ring positions fit the table's 16 bits). */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1 || limit > 0xffff) {
      throw new RangeError("limit must be 1-65535");
    }
    this.#limit = limit;
  }

  /** MsgIds remembered now. */
  get size(): number {
    return this.#size;
  }

  /** The seq `msgId` was relayed as, if it is remembered. */
  get(msgId: number): number | undefined {
    const mask = this.#slots.length - 1;
    if (mask < 0) return undefined;
    for (let slot = this.#home(msgId);; slot = (slot + 1) & mask) {
      const entry = this.#slots[slot]!;
      if (entry === 0) return undefined;
      if (this.#ids[entry - 1] === msgId) return this.#seqs[entry - 1];
    }
  }

  /**
   * Remembers `msgId` (a u32 not remembered now) as relayed with `seq`,
   * forgetting the oldest when `limit` are remembered already.
   */
  add(msgId: number, seq: number): void {
    const capacity = this.#ids.length;
    if (this.#size === capacity) {
      if (capacity < this.#limit) this.#grow(Math.min(this.#limit, capacity * 2 || FIRST_CAPACITY));
      else this.#forgetOldest();
    }
    const position = (this.#oldest + this.#size) % this.#ids.length;
    this.#ids[position] = msgId;
    this.#seqs[position] = seq;
    this.#index(position);
    this.#size++;
  }

  /** Fibonacci hashing: the top bits of msgId times 2^32 / φ pick the slot. */
  #home(msgId: number): number {
    return Math.imul(msgId, 0x9e3779b1) >>> this.#shift;
  }

  #index(position: number): void {
    const mask = this.#slots.length - 1;
    let slot = this.#home(this.#ids[position]!);
    while (this.#slots[slot] !== 0) slot = (slot + 1) & mask;
    this.#slots[slot] = position + 1;
  }

  #forgetOldest(): void {
    const mask = this.#slots.length - 1;
    const position = this.#oldest;
    let hole = this.#home(this.#ids[position]!);
    while (this.#slots[hole] !== position + 1) hole = (hole + 1) & mask;
    // Backward-shift deletion: move up each later entry of the probe run that
    // may not sit past the hole, so lookups need no tombstones.
    for (let slot = (hole + 1) & mask; this.#slots[slot] !== 0; slot = (slot + 1) & mask) {
      const home = this.#home(this.#ids[this.#slots[slot]! - 1]!);
      // The entry stays when its home lies cyclically in (hole, slot].
      const stays = hole <= slot ? hole < home && home <= slot : hole < home || home <= slot;
      if (stays) continue;
      this.#slots[hole] = this.#slots[slot]!;
      hole = slot;
    }
    this.#slots[hole] = 0;
    this.#oldest = (position + 1) % this.#ids.length;
    this.#size--;
  }

  /** Moves the ring (full, so oldest first from #oldest) into bigger arrays and reindexes. */
  #grow(capacity: number): void {
    const ids = new Uint32Array(capacity);
    const seqs = new Float64Array(capacity);
    for (let i = 0; i < this.#size; i++) {
      const from = (this.#oldest + i) % this.#ids.length;
      ids[i] = this.#ids[from]!;
      seqs[i] = this.#seqs[from]!;
    }
    this.#ids = ids;
    this.#seqs = seqs;
    this.#oldest = 0;
    const bits = Math.ceil(Math.log2(capacity * 2));
    this.#slots = new Uint16Array(2 ** bits);
    this.#shift = 32 - bits;
    for (let i = 0; i < this.#size; i++) this.#index(i);
  }
}
