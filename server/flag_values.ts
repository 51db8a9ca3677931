/**
 * Parsers for command-line and environment values: text in, a value out, or
 * an error whose message says what was expected, for a person ("expected a
 * whole number from 0 to 65535"). No command-line library here: main.ts wraps
 * these for commander.
 *
 * @module
 */

/** A flag value's parser; throws a TypeError or RangeError that says what was expected. */
export type FlagParser<T> = (text: string) => T;

/** A whole number from `min` to `max` (digits only: no sign, no fraction, no exponent). */
export function wholeNumber(min: number, max: number): FlagParser<number> {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
      throw new RangeError(`expected a whole number from ${min} to ${max}`);
    }
    return value;
  };
}

/** Seconds above 0 and at most a day; fractions allowed ("0.5"). */
export function positiveSeconds(text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0 || value > 86_400) {
    throw new RangeError("expected seconds above 0 (fractions allowed)");
  }
  return value;
}

/** One of `choices`, exactly. */
export function oneOf<T extends string>(choices: readonly T[]): FlagParser<T> {
  const list = choices.length === 1
    ? choices[0]
    : `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
  return (text) => {
    if (!(choices as readonly string[]).includes(text)) throw new TypeError(`expected ${list}`);
    return text as T;
  };
}

/** An IP address or a host name: not empty, no white space (resolving it is for later). */
export function hostName(text: string): string {
  if (!/^[^\s]+$/.test(text)) throw new TypeError("expected an IP address or a host name");
  return text;
}
