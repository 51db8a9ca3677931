/**
 * Wrong room passwords, limited before any hashing: a guess costs the server
 * a 16 MiB, tens-of-milliseconds scrypt derivation, and an open-ended number
 * of guesses is an open-ended attack on the password too.
 *
 * Two budgets, both charged only by a password that was hashed and turned
 * out wrong, and both checked before the next is hashed:
 * - per (room, address): a burst of 20 failures, then 1 every 3 s, so a
 *   person who mistypes a few times is never stopped, and a guesser from
 *   one address gets 20 then 1,200 an hour;
 * - per room: a burst of 200, then 2 a second, a ceiling for guessers
 *   spread over many addresses (it can lock a room's newcomers out for a
 *   while under such an attack; members already in are not affected).
 *
 * Checks peek and failures charge (keyed_budget.ts), so a class of 31
 * students typing the right password at once is never refused by this, and
 * failures hashed together are all paid for, into debt.
 *
 * @module
 */
import { KeyedBudget } from "./keyed_budget.ts";

/** A budget's refill and burst. */
export interface FailureBudget {
  /** Failures a second, refilled. */
  ratePerSecond: number;
  /** Failures in a row before the rate applies. */
  burst: number;
}

/** Limits of a {@linkcode PasswordFailures}. */
export interface PasswordFailuresOptions {
  /** Monotonic milliseconds. */
  clock: () => number;
  /** Per (room, address); default 20 then 1 every 3 s. */
  perAddress?: FailureBudget;
  /** Per room; default 200 then 2 a second. */
  perRoom?: FailureBudget;
  /** Most (room, address) pairs and most rooms tracked (default 100,000 each). */
  maxKeys?: number;
}

/** The defaults of revision 2. */
export const DEFAULT_FAILURE_BUDGETS = {
  perAddress: { ratePerSecond: 1 / 3, burst: 20 },
  perRoom: { ratePerSecond: 2, burst: 200 },
} as const;

/** Why a password may not be tried now, or null. */
export type FailureRefusal = "address" | "room" | null;

/** Counts wrong passwords per (room, address) and per room. */
export class PasswordFailures {
  #pairs: KeyedBudget;
  #rooms: KeyedBudget;

  /** Nothing failed yet. */
  constructor(options: PasswordFailuresOptions) {
    const perAddress = options.perAddress ?? DEFAULT_FAILURE_BUDGETS.perAddress;
    const perRoom = options.perRoom ?? DEFAULT_FAILURE_BUDGETS.perRoom;
    this.#pairs = new KeyedBudget({
      ...perAddress,
      clock: options.clock,
      maxKeys: options.maxKeys,
    });
    this.#rooms = new KeyedBudget({ ...perRoom, clock: options.clock, maxKeys: options.maxKeys });
  }

  /** Whether a password for `roomKey` from `addressKey` may be hashed now (else 429). */
  refusal(roomKey: string, addressKey: string): FailureRefusal {
    if (!this.#pairs.allows(pairKey(roomKey, addressKey))) return "address";
    if (!this.#rooms.allows(roomKey)) return "room";
    return null;
  }

  /**
   * Counts one wrong password. When too many pairs are tracked to add this
   * one, the room's budget still counts it, so the ceiling holds.
   */
  recordFailure(roomKey: string, addressKey: string): void {
    this.#pairs.charge(pairKey(roomKey, addressKey), 1);
    this.#rooms.charge(roomKey, 1);
  }

  /** Forgets budgets that are full again; call it now and then. */
  sweep(): void {
    this.#pairs.sweep();
    this.#rooms.sweep();
  }

  /** (room, address) pairs and rooms tracked now. */
  get size(): { pairs: number; rooms: number } {
    return { pairs: this.#pairs.size, rooms: this.#rooms.size };
  }
}

// Names have no control characters (section 2), so NUL cannot occur in either part.
const pairKey = (roomKey: string, addressKey: string) => `${roomKey}\u0000${addressKey}`;
