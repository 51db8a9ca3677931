/**
 * What a failed accept() or receive means for the loop that called it, and
 * the back-off it waits when the machine is out of something.
 *
 * One failed call must not end a front end: at the open-files limit Deno
 * throws a plain `Error` with `code` "EMFILE" from accept(), and a single
 * throw used to end the TCRP loop for good while UDP kept answering. The
 * rule, as Go's net/http Server applies it:
 *
 * - `closed`: the listener or socket was closed (shutdown): stop quietly;
 * - `exhausted`: EMFILE, ENFILE, ENOBUFS, ENOMEM: wait 5 ms, doubling up to
 *   1 s while it lasts, then try again;
 * - `transient`: one peer's trouble (a connection reset before accept, an
 *   ICMP error surfacing on a UDP socket): try again at once;
 * - `fatal`: anything else: the loop ends and the server shuts down and exits
 *   non-zero instead of running with one protocol dead.
 *
 * @module
 */

/** What a failed accept() or receive means; see the module doc. */
export type IoErrorKind = "closed" | "exhausted" | "transient" | "fatal";

const EXHAUSTED = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);
const TRANSIENT = new Set([
  "ECONNABORTED",
  "ECONNRESET",
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPROTO",
  "ETIMEDOUT",
  "EINTR",
  "EAGAIN",
]);

/**
 * Classifies an error from accept() or a datagram receive.
 *
 * @example
 * ```ts
 * const emfile = Object.assign(new Error("Too many open files"), { code: "EMFILE" });
 * classifyIoError(emfile); // "exhausted"
 * classifyIoError(new Deno.errors.BadResource()); // "closed"
 * ```
 */
export function classifyIoError(error: unknown): IoErrorKind {
  if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
    return "closed";
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") {
    if (EXHAUSTED.has(code)) return "exhausted";
    if (TRANSIENT.has(code)) return "transient";
  }
  if (
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionRefused
  ) {
    return "transient";
  }
  return "fatal";
}

/**
 * An error for a log line: its code first when it has one ("EMFILE (Too many
 * open files (os error 24))").
 */
export function describeIoError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === "string" && !message.startsWith(code) ? `${code} (${message})` : message;
}

/** Waits 5 ms, then twice as long each time, up to 1 s, until {@linkcode Backoff.reset}. */
export class Backoff {
  #minMs: number;
  #maxMs: number;
  #nextMs: number;

  /** A back-off from `minMs` doubling up to `maxMs`. */
  constructor(minMs = 5, maxMs = 1_000) {
    this.#minMs = minMs;
    this.#maxMs = maxMs;
    this.#nextMs = minMs;
  }

  /** Whether the last call succeeded (no wait pending). */
  get idle(): boolean {
    return this.#nextMs === this.#minMs;
  }

  /** The next wait in milliseconds; each call doubles the one after. */
  next(): number {
    const wait = this.#nextMs;
    this.#nextMs = Math.min(this.#maxMs, wait * 2);
    return wait;
  }

  /** After a success: the next failure waits the shortest time again. */
  reset(): void {
    this.#nextMs = this.#minMs;
  }

  /**
   * Resolves after {@linkcode Backoff.next} milliseconds, or at once when
   * `signal` aborts (so a shutdown never waits for a back-off).
   */
  wait(signal?: AbortSignal): Promise<void> {
    const ms = this.next();
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}

/** What {@linkcode runIoLoop} reports. */
export interface IoLoopOptions {
  /** Ends the loop (and any back-off) when it aborts. */
  signal: AbortSignal;
  /** Monotonic milliseconds, to say how long an episode lasted. */
  monotonic: () => number;
  /** The machine ran out of something: called once when an episode starts. */
  onExhausted: (error: unknown) => void;
  /** A call succeeded again after an episode of `ms` milliseconds. */
  onRecovered?: (ms: number) => void;
}

/**
 * Calls `step` (one accept, one receive) until it resolves false or `signal`
 * aborts, by the rule in the module doc: a closed socket ends the loop
 * quietly, exhaustion backs off, a transient error retries at once, and
 * anything else rejects with that error.
 */
export async function runIoLoop(
  step: () => Promise<boolean>,
  options: IoLoopOptions,
): Promise<void> {
  const { signal, monotonic, onExhausted, onRecovered } = options;
  const backoff = new Backoff();
  let exhaustedSince = 0;
  while (!signal.aborted) {
    let more: boolean;
    try {
      more = await step();
    } catch (error) {
      const kind = classifyIoError(error);
      if (kind === "closed" || signal.aborted) return;
      if (kind === "fatal") throw error;
      if (kind === "exhausted") {
        if (backoff.idle) {
          exhaustedSince = monotonic();
          onExhausted(error);
        }
        await backoff.wait(signal);
      }
      continue;
    }
    if (!backoff.idle) {
      onRecovered?.(Math.round(monotonic() - exhaustedSince));
      backoff.reset();
    }
    if (!more) return;
  }
}
