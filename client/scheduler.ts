/**
 * Time for the session library: one monotonic clock for every duration and
 * deadline, and the timers that fire on it. The library reads time and arms
 * timers only through a {@linkcode Scheduler}, so a test can drive it with
 * virtual time (`testing/virtual_time.ts`) and a step of the wall clock (NTP,
 * a person fixing the date) cannot stretch or cut a timeout.
 */

declare const timerIdBrand: unique symbol;

/**
 * What {@linkcode Scheduler.setTimeout} hands back, to cancel the timer with:
 * opaque, since each scheduler has its own (a number, a Node.js object...).
 */
export type TimerId = { readonly [timerIdBrand]: true };

/**
 * A monotonic clock and one-shot timers. Intervals are built on them
 * ({@linkcode repeat}).
 *
 * @example A scheduler that logs every timer it arms
 * ```ts
 * const logging: Scheduler = {
 *   now: () => systemScheduler.now(),
 *   setTimeout: (callback, ms) => {
 *     console.log(`timer in ${ms} ms`);
 *     return systemScheduler.setTimeout(callback, ms);
 *   },
 *   clearTimeout: (id) => systemScheduler.clearTimeout(id),
 * };
 * ```
 */
export interface Scheduler {
  /** Milliseconds since an arbitrary origin; never goes backwards. Not a date. */
  now(): number;
  /** Calls `callback` once, `ms` milliseconds from now (on this scheduler's clock). */
  setTimeout(callback: () => void, ms: number): TimerId;
  /** Cancels a timer; an unknown, fired or undefined id is ignored. */
  clearTimeout(id: TimerId | undefined): void;
}

/** The real thing: `performance.now()` and the global timers (a browser has both too). */
export const systemScheduler: Scheduler = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms) as unknown as TimerId,
  clearTimeout: (id) => globalThis.clearTimeout(id as unknown as number | undefined),
};

/**
 * Calls `callback` every `ms` milliseconds until the returned function is
 * called. Each period starts when the previous callback ran, so a late
 * callback delays the next one rather than bunching them up.
 */
export function repeat(scheduler: Scheduler, ms: number, callback: () => void): () => void {
  let id: TimerId | undefined;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    id = scheduler.setTimeout(tick, ms);
    callback();
  };
  id = scheduler.setTimeout(tick, ms);
  return () => {
    stopped = true;
    scheduler.clearTimeout(id);
  };
}

/** Resolves after `ms`, or at once when `signal` aborts; never leaves a timer behind. */
export function sleep(scheduler: Scheduler, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      scheduler.clearTimeout(id);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const id = scheduler.setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Resolves after `ms`, or as soon as `promise` settles (either way);
 * never leaves a timer behind.
 */
export function raceTimeout(
  scheduler: Scheduler,
  promise: Promise<unknown>,
  ms: number,
): Promise<void> {
  let id: TimerId | undefined;
  return Promise.race([
    promise.then(() => {}, () => {}),
    new Promise<void>((resolve) => (id = scheduler.setTimeout(resolve, ms))),
  ]).finally(() => scheduler.clearTimeout(id));
}

/**
 * The same scheduler, with every callback run inside a try: a throw goes to
 * `onError` instead of becoming an uncaught exception in a timer (which
 * would end the whole program).
 */
export function guardedScheduler(
  scheduler: Scheduler,
  onError: (error: unknown) => void,
): Scheduler {
  return {
    now: () => scheduler.now(),
    setTimeout: (callback, ms) =>
      scheduler.setTimeout(() => {
        try {
          callback();
        } catch (error) {
          onError(error);
        }
      }, ms),
    clearTimeout: (id) => scheduler.clearTimeout(id),
  };
}
