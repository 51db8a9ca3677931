/**
 * The two clocks the server reads. Durations (timeouts, rates, deadlines)
 * come from a monotonic clock, so a step of the system clock neither drops
 * live members nor keeps silent ones; the wall clock only stamps events for
 * people to read.
 *
 * @module
 */

/** The clocks a server component reads; tests pass fakes. */
export interface Clocks {
  /** Milliseconds from an arbitrary origin that never goes back: every duration. */
  monotonic(): number;
  /** Milliseconds since the Unix epoch, as the system says (it may step): event times only. */
  wall(): number;
}

/**
 * `performance.now()` and `Date.now()`.
 *
 * @example
 * ```ts
 * const started = systemClocks.monotonic();
 * const elapsedMs = systemClocks.monotonic() - started; // never negative
 * ```
 */
export const systemClocks: Clocks = {
  monotonic: () => performance.now(),
  wall: () => Date.now(),
};
