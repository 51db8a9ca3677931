/**
 * Password derivations (scrypt, 16 MiB and tens of milliseconds each) run a
 * few at a time, not one per request: without a bound, eight addresses
 * within their limits drove both cores and hundreds of MiB.
 *
 * Waiting is fair per address: each address has its own line, and a free
 * slot goes to the address served least recently (round robin), so one
 * address with a hundred requests waiting delays another address's one
 * request by at most one derivation per address ahead of it, not by a
 * hundred.
 *
 * Waiting is short: a job that has not started within `maxWaitMs` (about
 * 2 s, well inside the client's 10 s TCRP timeout) or by its exchange's
 * deadline gives up with {@linkcode HashQueueBusy} (503, "try again"), so a
 * busy server answers at once instead of letting clients time out. Waiting
 * jobs leave the queue when their exchange's cancel signal fires.
 *
 * @module
 */

/**
 * How long the server lets a password check wait for a slot: well inside the
 * reference client's 10 s TCRP timeout (client/tcrp_client.ts), so a client
 * hears 503 and can try again instead of timing out.
 */
export const HASH_WAIT_MS = 2_000;

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
  /** Longest a job waits for a slot, whatever its deadline (default: no bound but the deadline). */
  maxWaitMs?: number;
}

/** When a queued job stops waiting, and whose turn it takes. */
export interface HashJobOptions {
  /** The exchange was cancelled: a waiting job is dropped, rejecting with the signal's reason. */
  signal?: AbortSignal;
  /** Monotonic time by which the job must have started, else HashQueueBusy. */
  deadline?: number;
  /** Whose line it waits in (an address key); jobs without one share a line. */
  key?: string;
}

interface Waiting {
  key: string;
  start: () => void;
}

/** Expensive async jobs with a bound on how many run at once, started round robin by key. */
export class HashQueue {
  #options: HashQueueOptions;
  #running = 0;
  /** Each key's waiting jobs, oldest first; the Map's order breaks ties. */
  #lines = new Map<string, Waiting[]>();
  #waiting = 0;
  /** Per key with a job running or waiting: jobs running, and when it last started one. */
  #keys = new Map<string, { running: number; lastStart: number }>();
  #starts = 0;

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
    return this.#waiting;
  }

  /**
   * Runs `job` once a slot is free and resolves with its result. A job that
   * has started runs to its end: whoever awaits it checks its own signal
   * before committing what the job computed.
   */
  async run<T>(job: () => Promise<T>, options: HashJobOptions = {}): Promise<T> {
    const key = options.key ?? "";
    await this.#slot(options, key);
    try {
      return await job();
    } finally {
      this.#running--;
      const served = this.#keys.get(key)!;
      served.running--;
      this.#forgetIfIdle(key);
      this.#next()?.start();
    }
  }

  /** Takes the first job of the key that started one least recently (ties: first in line). */
  #next(): Waiting | undefined {
    let chosen: string | undefined;
    let oldest = Infinity;
    for (const key of this.#lines.keys()) {
      const lastStart = this.#keys.get(key)?.lastStart ?? 0;
      if (lastStart < oldest) [chosen, oldest] = [key, lastStart];
    }
    if (chosen === undefined) return undefined;
    const line = this.#lines.get(chosen)!;
    const entry = line.shift()!;
    if (line.length === 0) this.#lines.delete(chosen);
    this.#waiting--;
    return entry;
  }

  #started(key: string): void {
    this.#running++;
    const served = this.#keys.get(key) ?? { running: 0, lastStart: 0 };
    served.running++;
    served.lastStart = ++this.#starts;
    this.#keys.set(key, served);
  }

  // Memory follows work: a key with nothing running or waiting is forgotten.
  #forgetIfIdle(key: string): void {
    if (this.#keys.get(key)?.running === 0 && !this.#lines.has(key)) this.#keys.delete(key);
  }

  #remove(entry: Waiting): void {
    const line = this.#lines.get(entry.key);
    const index = line?.indexOf(entry) ?? -1;
    if (index < 0) return;
    line!.splice(index, 1);
    if (line!.length === 0) this.#lines.delete(entry.key);
    this.#waiting--;
    this.#forgetIfIdle(entry.key);
  }

  /** Keys with a job running or waiting (for tests: memory follows work). */
  get keys(): number {
    return this.#keys.size;
  }

  #slot({ signal, deadline }: HashJobOptions, key: string): Promise<void> {
    signal?.throwIfAborted();
    if (this.#running < this.#options.concurrency) {
      this.#started(key);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const untilDeadline = deadline === undefined
        ? Infinity
        : deadline - this.#options.monotonic();
      const waitMs = Math.min(untilDeadline, this.#options.maxWaitMs ?? Infinity);
      const leave = (error: unknown) => {
        this.#remove(entry);
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
        key,
        start: () => {
          cleanup();
          this.#started(key);
          resolve();
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const line = this.#lines.get(key);
      if (line === undefined) this.#lines.set(key, [entry]);
      else line.push(entry);
      this.#waiting++;
    });
  }
}
