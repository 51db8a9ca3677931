/**
 * Password derivations (scrypt, 16 MiB and tens of milliseconds each) run a
 * few at a time, not one per request: without a bound, eight addresses
 * within their limits drove both cores and hundreds of MiB. Waiting jobs
 * leave the queue when their exchange's cancel signal fires, and give up
 * with {@linkcode HashQueueBusy} when their deadline passes before a slot
 * frees up.
 *
 * @module
 */

/** A job waited past its deadline without a slot: the server is too busy (503). */
export class HashQueueBusy extends Error {
  /** Says how long it waited. */
  constructor(message: string) {
    super(message);
    this.name = "HashQueueBusy";
  }
}

/** Limits of a {@linkcode HashQueue}. */
export interface HashQueueOptions {
  /** Jobs running at once (at least 1). */
  concurrency: number;
  /** Monotonic milliseconds, for deadlines. */
  monotonic: () => number;
}

/** When a queued job stops waiting. */
export interface HashJobOptions {
  /** The exchange was cancelled: a waiting job is dropped, rejecting with the signal's reason. */
  signal?: AbortSignal;
  /** Monotonic time by which the job must have started, else HashQueueBusy. */
  deadline?: number;
}

interface Waiting {
  start: () => void;
}

/** A FIFO of expensive async jobs with a bound on how many run at once. */
export class HashQueue {
  #options: HashQueueOptions;
  #running = 0;
  #waiting: Waiting[] = [];

  /** An empty queue. */
  constructor(options: HashQueueOptions) {
    this.#options = { ...options, concurrency: Math.max(1, Math.floor(options.concurrency)) };
  }

  /** Jobs running now. */
  get running(): number {
    return this.#running;
  }

  /** Jobs waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `job` once a slot is free and resolves with its result. A job that
   * has started runs to its end: whoever awaits it checks its own signal
   * before committing what the job computed.
   */
  async run<T>(job: () => Promise<T>, options: HashJobOptions = {}): Promise<T> {
    await this.#slot(options);
    try {
      return await job();
    } finally {
      this.#running--;
      this.#waiting.shift()?.start();
    }
  }

  #slot({ signal, deadline }: HashJobOptions): Promise<void> {
    signal?.throwIfAborted();
    if (this.#running < this.#options.concurrency) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waitMs = deadline === undefined ? Infinity : deadline - this.#options.monotonic();
      const leave = (error: unknown) => {
        const index = this.#waiting.indexOf(entry);
        if (index >= 0) this.#waiting.splice(index, 1);
        cleanup();
        reject(error);
      };
      const onAbort = () => leave(signal!.reason);
      const timer = Number.isFinite(waitMs)
        ? setTimeout(
          () =>
            leave(
              new HashQueueBusy(
                `no password check slot free within ${Math.max(0, Math.round(waitMs))} ms`,
              ),
            ),
          Math.max(0, waitMs),
        )
        : undefined;
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const entry: Waiting = {
        start: () => {
          cleanup();
          this.#running++;
          resolve();
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }
}
