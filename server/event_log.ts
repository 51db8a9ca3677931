import type { ChatEvent } from "../protocol/datagram.ts";

/**
 * What an event costs to keep, counted as V8's worst case: 2 bytes for each
 * UTF-16 unit of its text and name (a string with any character past U+00FF
 * is stored at 2 bytes a unit).
 */
export function eventTextBytes(event: Pick<ChatEvent, "name" | "text">): number {
  return 2 * (event.text.length + event.name.length);
}

/**
 * A room's numbered events, keeping the newest `limit` of them in a ring,
 * and fewer when their texts pass `maxBytes` (see {@linkcode eventTextBytes}),
 * so memory per room is fixed however long the room lives and however long
 * its messages are.
 */
export class EventLog {
  #ring: (ChatEvent | undefined)[];
  #maxBytes: number;
  #head = 0;
  #first = 1;
  #bytes = 0;

  /** Keeps at most `limit` events, whose texts cost at most `maxBytes` (the newest one is always kept). */
  constructor(limit: number, maxBytes = Infinity) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError("limit must be at least 1");
    if (!(maxBytes >= 0)) throw new RangeError("maxBytes must be at least 0");
    this.#ring = new Array(limit);
    this.#maxBytes = maxBytes;
  }

  /** The seq of the newest event; 0 before the first. */
  get headSeq(): number {
    return this.#head;
  }

  /** The oldest seq still kept (headSeq + 1 when empty). */
  get firstSeq(): number {
    return this.#first;
  }

  /** The cost of the kept events' texts (see {@linkcode eventTextBytes}). */
  get textBytes(): number {
    return this.#bytes;
  }

  /** Numbers an event, keeps it, and returns it. */
  append(event: Omit<ChatEvent, "seq">): ChatEvent {
    const numbered = { seq: ++this.#head, ...event };
    const length = this.#ring.length;
    if (this.#head - this.#first + 1 > length) this.#forgetOldest();
    this.#ring[numbered.seq % length] = numbered;
    this.#bytes += eventTextBytes(numbered);
    while (this.#bytes > this.#maxBytes && this.#first < this.#head) this.#forgetOldest();
    return numbered;
  }

  #forgetOldest(): void {
    const slot = this.#first % this.#ring.length;
    this.#bytes -= eventTextBytes(this.#ring[slot]!);
    this.#ring[slot] = undefined;
    this.#first++;
  }

  /** Kept events with fromSeq <= seq <= toSeq, oldest first (clamped to what is kept). */
  range(fromSeq: number, toSeq: number): ChatEvent[] {
    const first = Math.max(fromSeq, this.#first);
    const last = Math.min(toSeq, this.#head);
    const out: ChatEvent[] = [];
    for (let seq = first; seq <= last; seq++) out.push(this.#ring[seq % this.#ring.length]!);
    return out;
  }
}
