/**
 * Virtual time for tests: a {@linkcode Scheduler} whose clock moves only when
 * the test says so. Timers fire in due order as the test advances time, and
 * the promise chains they start settle before the next one fires, so code
 * that waits seconds runs in microseconds, the same way every run, with no
 * real sleep. Also a way to step the wall clock (`Date.now`) inside a test,
 * to show that code does not depend on it.
 */
import type { Scheduler, TimerId } from "../client/scheduler.ts";

interface VirtualTimer {
  due: number;
  callback: () => void;
}

/**
 * Microtask turns given to promise chains after each timer. Chains in the
 * code under test are a few awaits deep; this leaves ample room. Code that
 * waits for real I/O does not settle this way, and is not for this clock.
 */
const SETTLE_TURNS = 200;

/**
 * A clock that starts at 0 and moves only through {@linkcode advance} and
 * {@linkcode runUntil}.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * let fired = false;
 * clock.setTimeout(() => (fired = true), 10_000);
 * await clock.advance(9_999); // fired is still false
 * await clock.advance(1); // fired is true, and clock.now() is 10_000
 * ```
 */
export class VirtualClock implements Scheduler {
  #now = 0;
  #nextId = 1;
  #timers = new Map<number, VirtualTimer>();

  /** Virtual milliseconds since the clock was made. */
  now(): number {
    return this.#now;
  }

  /** Arms a timer on the virtual clock (a negative or NaN delay counts as 0). */
  setTimeout(callback: () => void, ms: number): TimerId {
    const id = this.#nextId++;
    this.#timers.set(id, { due: this.#now + (ms > 0 ? ms : 0), callback });
    return id as unknown as TimerId;
  }

  /** Cancels a timer. */
  clearTimeout(id: TimerId | undefined): void {
    if (id !== undefined) this.#timers.delete(id as unknown as number);
  }

  /** Timers armed and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Lets promise chains that are ready to run do so, without moving the clock. */
  async settle(): Promise<void> {
    for (let i = 0; i < SETTLE_TURNS; i++) await Promise.resolve();
  }

  /**
   * Moves the clock forward by `ms`, firing every timer that falls due on
   * the way in order (ties in the order they were armed), each at its own
   * time, settling promise chains after each. A timer armed by one of them
   * fires too if it falls due within the same stretch.
   */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    await this.settle();
    while (this.#fireNext(until)) await this.settle();
    this.#now = until;
    await this.settle();
  }

  /**
   * Fires timers one at a time, in order, until `condition` holds (checked
   * before anything fires, and after each timer); throws, naming `what`, when
   * no timer is left or the next one falls due more than `maxMs` from now.
   * The clock stops at the timer that made the condition true.
   */
  async runUntil(condition: () => boolean, what: string, maxMs = 600_000): Promise<void> {
    const limit = this.#now + maxMs;
    await this.settle();
    while (!condition()) {
      if (!this.#fireNext(limit)) {
        throw new Error(
          `${what}: not after ${this.#now} ms of virtual time ` +
            `(${this.#timers.size} timers left, limit ${limit} ms)`,
        );
      }
      await this.settle();
    }
  }

  /** Fires the earliest timer due at or before `until`; false when there is none. */
  #fireNext(until: number): boolean {
    let nextId = -1;
    let next: VirtualTimer | undefined;
    for (const [id, timer] of this.#timers) {
      if (timer.due <= until && (next === undefined || timer.due < next.due)) {
        nextId = id;
        next = timer;
      }
    }
    if (next === undefined) return false;
    this.#timers.delete(nextId);
    this.#now = next.due;
    next.callback();
    return true;
  }
}

/** A wall clock (`Date.now`) a test can step, and must restore. */
export interface SteppedWallClock {
  /** Moves `Date.now()` by `ms` (either way) from where it is now. */
  step(ms: number): void;
  /** Puts the real `Date.now` back. */
  restore(): void;
}

/**
 * Replaces `Date.now` with the real one plus an offset the test can step,
 * as NTP or a person setting the date would. Use it in a `try`/`finally`.
 */
export function stepWallClock(): SteppedWallClock {
  const real = Date.now;
  let offset = 0;
  Date.now = () => real() + offset;
  return {
    step: (ms) => {
      offset += ms;
    },
    restore: () => {
      Date.now = real;
    },
  };
}
