/**
 * The unread count in the tab's title: messages from others that arrive
 * while the page is hidden (history replayed on joining does not count),
 * cleared when it is shown again. Pure: the caller says when visibility
 * changes and sets `document.title` from {@linkcode UnreadCounter.title}.
 *
 * @module
 */

/** Counts unread messages while the page is hidden. */
export class UnreadCounter {
  #hidden = false;
  #count = 0;

  /** How many arrived since the page was last visible. */
  get count(): number {
    return this.#count;
  }

  /** The page became hidden (true) or visible (false, which clears the count). */
  setHidden(hidden: boolean): void {
    this.#hidden = hidden;
    if (!hidden) this.#count = 0;
  }

  /** A message was shown; true when it counted as unread. */
  message(own: boolean, replay: boolean): boolean {
    if (!this.#hidden || own || replay) return false;
    this.#count++;
    return true;
  }

  /** `base` with the count in front while there is one: `(3) general · chat`. */
  title(base: string): string {
    return this.#count === 0 ? base : `(${this.#count}) ${base}`;
  }
}
