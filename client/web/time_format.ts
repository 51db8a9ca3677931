/**
 * Times in the log, in the reader's local time, and the day separators, by
 * the terminal's rule (client/screen/chat_view.ts): a separator before the
 * first event of each new day, but none before the first event shown when
 * that is today. Pure: no DOM; the clock is given.
 *
 * @module
 */

/** `hh:mm` in local time, as the terminal shows it. */
export function clock(time: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(time.getHours())}:${two(time.getMinutes())}`;
}

/** The separator's words: `Wednesday 2 December 2026` (the terminal's, without its dashes). */
export function dayLabel(time: Date): string {
  return time.toLocaleDateString("en-GB", {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
  }).replace(",", "");
}

/** A local calendar day as `yyyy-mm-dd`, for a separator's `<time datetime>`. */
export function localDay(time: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${time.getFullYear()}-${two(time.getMonth() + 1)}-${two(time.getDate())}`;
}

/** Decides where day separators go, one event at a time, in log order. */
export class DaySeparators {
  #lastDay: string | null = null;
  #today: () => Date;

  /** `today`: the wall clock (a test passes a fixed one). */
  constructor(today: () => Date) {
    this.#today = today;
  }

  /** True when a separator for `time`'s day goes before an event at `time`. */
  before(time: Date): boolean {
    const day = localDay(time);
    const first = this.#lastDay === null;
    if (day === this.#lastDay) return false;
    this.#lastDay = day;
    return !(first && day === localDay(this.#today()));
  }
}
