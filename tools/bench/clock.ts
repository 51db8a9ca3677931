/**
 * The clock every bench process stamps and reads: wall-clock microseconds
 * since the Unix epoch, with sub-millisecond resolution.
 *
 * `performance.timeOrigin` is the system (realtime) clock read once when the
 * process started, and `performance.now()` a monotonic clock since then; their
 * sum is comparable across processes on one machine, to within how far the
 * realtime clock was adjusted (NTP slewing) between the processes' starts:
 * microseconds, far below the milliseconds measured. Date.now() would give
 * whole milliseconds only.
 */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
