/**
 * A budget of failures per key (a source address, a session): each failure
 * costs a token, tokens come back at a rate, and a key with none left is
 * refused BEFORE the work that could fail is tried. Unlike a rate limiter,
 * asking costs nothing: only failures are charged, so a source that sends
 * datagrams that open is never slowed by this.
 *
 * @module
 */

/** Rates and bounds of a {@linkcode FailureBudget}. */
export interface FailureBudgetOptions {
  /** Failures a second forgiven, on average. */
  ratePerSecond: number;
  /** Failures allowed at once. */
  burst: number;
  /** Monotonic milliseconds. */
  clock: () => number;
  /**
   * Most keys tracked; past it, keys not tracked share one overflow entry,
   * so a spoofed-source flood cannot grow the map without bound (and costs
   * only the other spoofers).
   */
  maxKeys?: number;
}

interface Entry {
  tokens: number;
  updatedAt: number;
}

/** The overflow entry's key. */
const OVERFLOW = "\u0000overflow";

/** Failure budgets by key. */
export class FailureBudget {
  #options: Required<FailureBudgetOptions>;
  #entries = new Map<string, Entry>();

  /** Nothing charged yet. */
  constructor(options: FailureBudgetOptions) {
    this.#options = { maxKeys: 10_000, ...options };
  }

  /** Whether `key` may try once more (it has a failure left). Charges nothing. */
  allows(key: string): boolean {
    const entry = this.#entries.get(key) ??
      (this.#entries.size >= this.#options.maxKeys ? this.#entries.get(OVERFLOW) : undefined);
    return entry === undefined || this.#refill(entry) >= 1;
  }

  /** Charges one failure to `key`. */
  charge(key: string): void {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      if (this.#entries.size >= this.#options.maxKeys) this.sweep();
      const overflow = this.#entries.size >= this.#options.maxKeys;
      if (overflow) key = OVERFLOW;
      entry = this.#entries.get(key);
      if (entry === undefined) {
        entry = { tokens: this.#options.burst, updatedAt: this.#options.clock() };
        this.#entries.set(key, entry);
      }
    }
    this.#refill(entry);
    entry.tokens = Math.max(0, entry.tokens - 1);
  }

  /** Forgets keys whose budgets are whole again, so memory follows failures. */
  sweep(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#refill(entry) >= this.#options.burst) this.#entries.delete(key);
    }
  }

  /** Keys tracked now. */
  get size(): number {
    return this.#entries.size;
  }

  #refill(entry: Entry): number {
    const now = this.#options.clock();
    const { ratePerSecond, burst } = this.#options;
    const elapsed = Math.max(0, now - entry.updatedAt);
    entry.tokens = Math.min(burst, entry.tokens + (elapsed / 1000) * ratePerSecond);
    entry.updatedAt = now;
    return entry.tokens;
  }
}
