/**
 * The anti-replay window of one receiving key (docs/protocol.md section 6):
 * which explicit datagram counters were already accepted, in the manner of
 * RFC 6479. A counter is accepted once; one that is `size` or more below the
 * highest accepted is too old to tell and is refused, so a late datagram
 * within the window still gets through but no datagram gets through twice.
 *
 * @module
 */

/** Counters tracked below the highest accepted one (at least the 1,024 the issue asks for). */
export const REPLAY_WINDOW_SIZE = 2048;

/**
 * A sliding window over accepted counters.
 *
 * Use: `canAccept` before opening (cheap, so a replay costs no AEAD work),
 * `accept` only after the open succeeded (so a forged datagram moves
 * nothing). When anything asynchronous runs between the two, call
 * `canAccept` again just before `accept`: `accept` ignores a counter the
 * window would refuse and answers false, like for a counter that is not the
 * new highest.
 *
 * @example
 * ```ts
 * const window = new ReplayWindow();
 * if (window.canAccept(counter) && open(bytes) !== null) window.accept(counter);
 * ```
 */
export class ReplayWindow {
  #size: number;
  #bits: Uint32Array; // bit (counter % size) is set when that counter was accepted
  #highest = -1;

  /** `size` counters are remembered, the highest accepted included. */
  constructor(size: number = REPLAY_WINDOW_SIZE) {
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new RangeError(`replay window size must be a positive integer, not ${size}`);
    }
    this.#size = size;
    this.#bits = new Uint32Array(Math.ceil(size / 32));
  }

  /** Highest accepted counter, -1 before any. */
  get highest(): number {
    return this.#highest;
  }

  /** Cheap, before opening: false for a counter already accepted or too far below highest. */
  canAccept(counter: number): boolean {
    if (!Number.isSafeInteger(counter) || counter < 0) return false;
    if (counter > this.#highest) return true;
    if (this.#highest - counter >= this.#size) return false;
    return !this.#isSet(counter);
  }

  /** After a successful open: records it; true when it is the new highest. */
  accept(counter: number): boolean {
    if (!this.canAccept(counter)) return false;
    if (counter <= this.#highest) {
      this.#set(counter);
      return false;
    }
    // Slide: forget the counters that leave the window, which share bits with the new ones.
    if (counter - this.#highest >= this.#size) {
      this.#bits.fill(0);
    } else {
      for (let c = this.#highest + 1; c < counter; c++) this.#clear(c);
    }
    this.#set(counter);
    this.#highest = counter;
    return true;
  }

  #isSet(counter: number): boolean {
    const bit = counter % this.#size;
    return (this.#bits[bit >>> 5]! & (1 << (bit & 31))) !== 0;
  }

  #set(counter: number): void {
    const bit = counter % this.#size;
    this.#bits[bit >>> 5]! |= 1 << (bit & 31);
  }

  #clear(counter: number): void {
    const bit = counter % this.#size;
    this.#bits[bit >>> 5]! &= ~(1 << (bit & 31));
  }
}
