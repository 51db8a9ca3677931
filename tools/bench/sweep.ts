/**
 * The sweep: which offered rate to try next. Doubles from the start rate
 * while steps hold, then bisects between the best rate that held and the
 * lowest that did not, until they are within `precision` of each other; halves
 * when even the start rate fails.
 */

/** A tried rate and whether it held. */
export interface Tried {
  rate: number;
  held: boolean;
}

/** Limits of a sweep. */
export interface SweepOptions {
  start: number;
  maxSteps: number;
  /** Stop once the lowest failing rate is within this share above the best held one. */
  precision: number;
  minRate: number;
  maxRate: number;
}

/** The next rate to try, or null when the sweep is done. */
export function nextRate(tried: Tried[], options: SweepOptions): number | null {
  if (tried.length === 0) return options.start;
  if (tried.length >= options.maxSteps) return null;
  const held = tried.filter((t) => t.held).map((t) => t.rate);
  const failed = tried.filter((t) => !t.held).map((t) => t.rate);
  const best = held.length > 0 ? Math.max(...held) : null;
  const worst = failed.length > 0 ? Math.min(...failed) : null;
  let next: number;
  if (worst === null) next = Math.min(best! * 2, options.maxRate);
  else if (best === null) next = worst / 2;
  else if (worst <= best * (1 + options.precision)) return null;
  else next = (best + worst) / 2;
  next = Math.round(next);
  if (next < options.minRate || tried.some((t) => t.rate === next)) return null;
  return next;
}

/** The highest rate that held, or null. */
export function saturation(tried: Tried[]): number | null {
  const held = tried.filter((t) => t.held).map((t) => t.rate);
  return held.length > 0 ? Math.max(...held) : null;
}
