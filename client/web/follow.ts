/**
 * Whether the log follows new entries: it does while the reader is at the
 * bottom; once they scroll up to read history, new entries only count up a
 * "new messages" button, which takes them back down. Pure: the view says
 * where the reader is and what arrived.
 *
 * @module
 */

/** How close to the bottom (in CSS pixels) still counts as at the bottom. */
export const BOTTOM_SLACK_PX = 48;

/** True when a scroll position is at the bottom, within {@linkcode BOTTOM_SLACK_PX}. */
export function atBottom(scrollTop: number, clientHeight: number, scrollHeight: number): boolean {
  return scrollHeight - scrollTop - clientHeight <= BOTTOM_SLACK_PX;
}

/** The log's following state. */
export class Follow {
  #following = true;
  #unseen = 0;

  /** New entries arrived below while not following. */
  get unseen(): number {
    return this.#unseen;
  }

  /** True while new entries scroll into view. */
  get following(): boolean {
    return this.#following;
  }

  /** The reader scrolled: `bottom` says whether they are now at the bottom. */
  scrolled(bottom: boolean): void {
    this.#following = bottom;
    if (bottom) this.#unseen = 0;
  }

  /** An entry arrived; true when the view scrolls to it (else the button counts it). */
  arrived(): boolean {
    if (this.#following) return true;
    this.#unseen++;
    return false;
  }

  /** The reader pressed the button (or sent a message): back to the bottom. */
  jump(): void {
    this.scrolled(true);
  }
}
