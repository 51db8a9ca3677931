import type { ChatEvent } from "../protocol/datagram.ts";

/**
 * A room's numbered events, keeping the newest `limit` of them in a ring so
 * memory per room is fixed however long the room lives.
 */
export class EventLog {
  #ring: (ChatEvent | undefined)[];
  #head = 0;

  /** Keeps at most `limit` events. */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError("limit must be at least 1");
    this.#ring = new Array(limit);
  }

  /** The seq of the newest event; 0 before the first. */
  get headSeq(): number {
    return this.#head;
  }

  /** The oldest seq still kept (headSeq + 1 when empty). */
  get firstSeq(): number {
    return Math.max(1, this.#head - this.#ring.length + 1);
  }

  /** Numbers an event, keeps it, and returns it. */
  append(event: Omit<ChatEvent, "seq">): ChatEvent {
    const numbered = { seq: ++this.#head, ...event };
    this.#ring[numbered.seq % this.#ring.length] = numbered;
    return numbered;
  }

  /** Kept events with fromSeq <= seq <= toSeq, oldest first (clamped to what is kept). */
  range(fromSeq: number, toSeq: number): ChatEvent[] {
    const first = Math.max(fromSeq, this.firstSeq);
    const last = Math.min(toSeq, this.#head);
    const out: ChatEvent[] = [];
    for (let seq = first; seq <= last; seq++) out.push(this.#ring[seq % this.#ring.length]!);
    return out;
  }
}
