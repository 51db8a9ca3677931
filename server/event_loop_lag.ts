/**
 * Event-loop lag: how late a timer fires. Every datagram, WebSocket frame
 * and timeout of the server waits behind whatever runs now, so this is the
 * server's own latency floor; a lag of hundreds of milliseconds means the
 * process is saturated (or a password hash ran on the loop).
 *
 * A timer is set for `intervalMs` (500 ms) ahead; when it fires, the lag is
 * how much later than that it ran. The sampler keeps the last sample and the
 * largest since the previous {@linkcode EventLoopLag.read} (one scrape to
 * the next), so a short stall between two scrapes still shows.
 *
 * @module
 */

/** What {@linkcode EventLoopLag.read} reports, in milliseconds. */
export interface LagReading {
  lastMs: number;
  maxMs: number;
}

/** Options for {@linkcode EventLoopLag}. */
export interface EventLoopLagOptions {
  /** Milliseconds between samples (default 500). */
  intervalMs?: number;
  /** A monotonic clock in milliseconds (default `performance.now`). */
  monotonic?: () => number;
}

/** A lag sampler; it starts at once and runs until {@linkcode EventLoopLag.stop}. */
export class EventLoopLag {
  #intervalMs: number;
  #monotonic: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expected = 0;
  #lastMs = 0;
  #maxMs = 0;
  #stopped = false;

  /** Starts sampling. The timer does not keep the process alive. */
  constructor(options: EventLoopLagOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 500;
    this.#monotonic = options.monotonic ?? (() => performance.now());
    this.#schedule();
  }

  #schedule(): void {
    this.#expected = this.#monotonic() + this.#intervalMs;
    const timer = setTimeout(() => this.#sample(), this.#intervalMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #sample(): void {
    const lag = Math.max(0, this.#monotonic() - this.#expected);
    this.#lastMs = lag;
    this.#maxMs = Math.max(this.#maxMs, lag);
    if (!this.#stopped) this.#schedule();
  }

  /** The last sample and the largest since the previous read (which this read resets). */
  read(): LagReading {
    const reading = { lastMs: this.#lastMs, maxMs: this.#maxMs };
    this.#maxMs = this.#lastMs;
    return reading;
  }

  /** Stops sampling; read() keeps the last values. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
