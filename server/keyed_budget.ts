/**
 * A budget per key that is checked before the work and charged after it,
 * for costs known only afterwards: the bytes of a room list, or whether a
 * password turned out wrong. Each key has a bucket that refills at `rate`
 * a second up to `burst`; `allows` says whether it holds at least one unit,
 * and `charge` takes what the work cost, into debt if need be, so that work
 * let in together (two pages, ten guesses hashing at once) is still paid for
 * and delays the next.
 *
 * Memory follows activity: full buckets are forgotten by `sweep`, and at
 * most `maxKeys` are tracked; past that, a charge to a new key is not
 * recorded (the caller decides whether its other limits cover that).
 *
 * @module
 */

/** Options for {@linkcode KeyedBudget}. */
export interface KeyedBudgetOptions {
  /** Units a second a bucket refills. */
  ratePerSecond: number;
  /** Most units a bucket holds; a new key starts full. */
  burst: number;
  /** Monotonic milliseconds. */
  clock: () => number;
  /** Most keys tracked at once (default 100,000). */
  maxKeys?: number;
}

interface Bucket {
  units: number;
  at: number;
}

/** One refilling budget per key, checked before and charged after. */
export class KeyedBudget {
  #options: KeyedBudgetOptions;
  #buckets = new Map<string, Bucket>();

  /** Every key starts with a full budget. */
  constructor(options: KeyedBudgetOptions) {
    this.#options = options;
  }

  /** Units `key` holds now (`burst` for a key never charged or forgotten). */
  available(key: string): number {
    const bucket = this.#buckets.get(key);
    return bucket === undefined ? this.#options.burst : this.#refill(bucket, this.#options.clock());
  }

  /** Whether `key` holds at least one unit, so the work may start. */
  allows(key: string): boolean {
    return this.available(key) >= 1;
  }

  /**
   * Takes `units` from `key`'s budget, into debt down to −burst. False when
   * the key could not be tracked (too many keys), so nothing was recorded.
   */
  charge(key: string, units: number): boolean {
    const { burst, clock, maxKeys = 100_000 } = this.#options;
    const now = clock();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= maxKeys) this.sweep();
      if (this.#buckets.size >= maxKeys) return false;
      bucket = { units: burst, at: now };
      this.#buckets.set(key, bucket);
    }
    bucket.units = Math.max(-burst, this.#refill(bucket, now) - units);
    bucket.at = now;
    return true;
  }

  /** Gives `units` back (up to `burst`), for work that turned out free. */
  refund(key: string, units: number): void {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return;
    const now = this.#options.clock();
    bucket.units = Math.min(this.#options.burst, this.#refill(bucket, now) + units);
    bucket.at = now;
  }

  /** Forgets keys whose budget is full again. */
  sweep(): void {
    const now = this.#options.clock();
    for (const [key, bucket] of this.#buckets) {
      if (this.#refill(bucket, now) >= this.#options.burst) this.#buckets.delete(key);
    }
  }

  /** Keys tracked now. */
  get size(): number {
    return this.#buckets.size;
  }

  #refill(bucket: Bucket, now: number): number {
    const elapsed = Math.max(0, now - bucket.at);
    return Math.min(
      this.#options.burst,
      bucket.units + (elapsed / 1000) * this.#options.ratePerSecond,
    );
  }
}
