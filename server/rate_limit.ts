/**
 * A token bucket: `ratePerSecond` on average, up to `burst` at once.
 * Time is passed in, so it is as testable as the registry that uses it.
 */
export class TokenBucket {
  #rate: number;
  #burst: number;
  #tokens: number;
  #updatedAt: number;

  /** A full bucket at time `nowMs`. */
  constructor(ratePerSecond: number, burst: number, nowMs: number) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#updatedAt = nowMs;
  }

  /** Takes one token if there is one; false means "over the limit". */
  take(nowMs: number): boolean {
    return this.takeUpTo(nowMs, 1) === 1;
  }

  /** Takes up to `count` whole tokens; returns how many it took (0 means "over the limit"). */
  takeUpTo(nowMs: number, count: number): number {
    const elapsed = Math.max(0, nowMs - this.#updatedAt);
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed / 1000) * this.#rate);
    this.#updatedAt = nowMs;
    const taken = Math.min(count, Math.floor(this.#tokens));
    this.#tokens -= taken;
    return taken;
  }

  /** True when the bucket has refilled completely (so it can be forgotten). */
  isFull(nowMs: number): boolean {
    return this.#tokens + ((nowMs - this.#updatedAt) / 1000) * this.#rate >= this.#burst;
  }
}

/** Options for {@linkcode KeyedRateLimiter}. */
export interface KeyedRateLimiterOptions {
  ratePerSecond: number;
  burst: number;
  clock: () => number;
  /** Most keys tracked; past it, full buckets are swept and new keys refused. */
  maxKeys?: number;
}

/** One token bucket per key (an address key, say); 0 as the rate turns it off. */
export class KeyedRateLimiter {
  #options: KeyedRateLimiterOptions;
  #buckets = new Map<string, TokenBucket>();

  /** Creates an empty limiter. */
  constructor(options: KeyedRateLimiterOptions) {
    this.#options = options;
  }

  /** Takes one token for `key`; false means "over the limit". */
  take(key: string): boolean {
    return this.takeUpTo(key, 1) === 1;
  }

  /**
   * Takes up to `count` whole tokens for `key` and returns how many it got
   * (0 means "over the limit"; all of them when the rate is 0).
   */
  takeUpTo(key: string, count: number): number {
    const { ratePerSecond, burst, clock, maxKeys = 100_000 } = this.#options;
    if (ratePerSecond <= 0) return count;
    const now = clock();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= maxKeys) this.sweep();
      if (this.#buckets.size >= maxKeys) return 0;
      bucket = new TokenBucket(ratePerSecond, burst, now);
      this.#buckets.set(key, bucket);
    }
    return bucket.takeUpTo(now, count);
  }

  /** Forgets keys whose buckets are full again, so memory follows activity. */
  sweep(): void {
    const now = this.#options.clock();
    for (const [key, bucket] of this.#buckets) {
      if (bucket.isFull(now)) this.#buckets.delete(key);
    }
  }

  /** Keys tracked now. */
  get size(): number {
    return this.#buckets.size;
  }
}
