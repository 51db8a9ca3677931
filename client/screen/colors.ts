/**
 * Name colours for one room, handed out in join order so the first eight
 * members never share one. The palette is eight mid-brightness colours of
 * the 256-colour cube: a terminal theme does not remap them (it remaps only
 * the first 16), and each is readable on a black and on a white background,
 * where bright yellow or dark blue is not.
 */

/** SGR parameters of the palette, in the order they are given out. */
export const NAME_PALETTE: readonly string[] = [
  "38;5;160", // red
  "38;5;28", // green
  "38;5;26", // blue
  "38;5;130", // orange-brown
  "38;5;127", // magenta
  "38;5;30", // teal
  "38;5;91", // purple
  "38;5;100", // olive
];

/** The colour of each name in one room. */
export class RoomColors {
  #assigned = new Map<string, string>();
  #next = 0;

  /**
   * The colour of `name` (case-insensitive, as the server compares names):
   * the one it was given, or the next in the palette. Past eight names the
   * palette starts again.
   */
  of(name: string): string {
    const key = name.toLowerCase();
    let color = this.#assigned.get(key);
    if (color === undefined) {
      color = NAME_PALETTE[this.#next % NAME_PALETTE.length]!;
      this.#next++;
      this.#assigned.set(key, color);
    }
    return color;
  }

  /**
   * Gives colours to `members` in order (the WELCOME's list is in join
   * order); names already coloured keep theirs.
   */
  assign(members: readonly string[]): void {
    for (const name of members) this.of(name);
  }
}
