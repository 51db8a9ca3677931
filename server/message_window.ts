/**
 * Per-sender order for a revision-2 member: the next msgId the server
 * expects, and the later ones it holds until that one comes. Messages leave
 * in msgId order, one per token of the member's rate bucket, so the rate
 * limit shapes (an over-rate message waits) instead of refusing. A msgId
 * that does not come within the gap timeout is skipped (REFUSED 410).
 *
 * Pure: time is passed in, and it only says what to do; the datagram
 * handler records the events, acknowledges and answers. See docs/protocol.md
 * section 4.7.
 *
 * @module
 */

/** The limits of every window, and the count of held messages they share. */
export interface MessageWindowLimits {
  /** Most msgIds from `expected` on that may be held (W = messageWindow). */
  window: number;
  /** Most bytes of text (UTF-8) held for one member. */
  windowBytes: number;
  /** A missing msgId is skipped once later ones have waited this long (H). */
  gapTimeoutMs: number;
  /** Held messages across every window of the server. */
  pool: HeldPool;
}

/** Held messages across the server, under one cap, so memory stays bounded. */
export class HeldPool {
  /** Messages held now, across every window. */
  held = 0;
  /** The cap (a REFUSED 429 past it). */
  readonly max: number;

  /** A pool of at most `max` messages. */
  constructor(max: number) {
    this.max = max;
  }
}

/** What to do with a MESSAGE offered to a window. */
export type Offer =
  /** Below `expected`: the caller answers from what it remembers (ACK, REFUSED) or drops it. */
  | { kind: "duplicate" }
  /** Already held: dropped, its ACK comes when it is released. */
  | { kind: "held-already" }
  /** Held now; call {@linkcode MessageWindow.release}. */
  | { kind: "held" }
  /** REFUSED with this code; `final` ones are remembered and never taken again. */
  | { kind: "refused"; code: 413 | 429; final: boolean; text: string };

/** One step of a release, in msgId order. */
export type Release =
  /** Relay this message now (assign its seq, ACK, fan out). */
  | { kind: "message"; msgId: number; text: string }
  /** This msgId never came within the gap timeout: REFUSED 410, final. */
  | { kind: "skipped"; msgId: number };

interface Held {
  /** Null for an oversized message already refused (413): release steps over it. */
  text: string | null;
  bytes: number;
  /** Monotonic milliseconds it arrived. */
  arrivedAt: number;
}

const utf8 = new TextEncoder();

/** One revision-2 member's expected msgId and held buffer. */
export class MessageWindow {
  #limits: MessageWindowLimits;
  #expected = 1;
  #held = new Map<number, Held>();
  #bytes = 0;

  /** An empty window expecting msgId 1. */
  constructor(limits: MessageWindowLimits) {
    this.#limits = limits;
  }

  /** The next msgId to relay. */
  get expected(): number {
    return this.#expected;
  }

  /** Entries held (messages, and placeholders of refused oversized ones). */
  get heldCount(): number {
    return this.#held.size;
  }

  /** Bytes of text held. */
  get heldBytes(): number {
    return this.#bytes;
  }

  /**
   * Takes a MESSAGE (msgId >= 1) at `now`. `oversized` says its EVENT would
   * not fit a datagram: it is refused for good (413) and its msgId counts as
   * consumed.
   */
  offer(msgId: number, text: string, oversized: boolean, now: number): Offer {
    const { window, windowBytes, pool } = this.#limits;
    if (msgId < this.#expected) return { kind: "duplicate" };
    if (msgId >= this.#expected + window) {
      return refused(429, `msgId ${msgId} is outside the window; send it again later`, false);
    }
    if (this.#held.has(msgId)) return { kind: "held-already" };
    if (oversized) {
      // Consumed: at the head it is simply passed; later, a placeholder the release steps over.
      if (msgId === this.#expected) this.#expected++;
      else this.#held.set(msgId, { text: null, bytes: 0, arrivedAt: now });
      return refused(413, "message too long: its EVENT would be over 4096 bytes", true);
    }
    const bytes = utf8.encode(text).length;
    if (this.#bytes + bytes > windowBytes || pool.held >= pool.max) {
      return refused(429, "too many messages waiting; send it again later", false);
    }
    this.#held.set(msgId, { text, bytes, arrivedAt: now });
    this.#bytes += bytes;
    pool.held++;
    return { kind: "held" };
  }

  /**
   * What leaves now: while `expected` is held and `takeToken()` grants a
   * token, it is released; a missing `expected` is skipped once the held
   * ones have waited the gap timeout. Stops at the first message the rate
   * does not let out yet.
   */
  release(now: number, takeToken: () => boolean): Release[] {
    const out: Release[] = [];
    while (this.#held.size > 0) {
      const head = this.#held.get(this.#expected);
      if (head === undefined) {
        if (now < this.gapDeadline()!) break;
        out.push({ kind: "skipped", msgId: this.#expected++ });
        continue;
      }
      if (head.text !== null && !takeToken()) break;
      this.#take(head, out);
    }
    return out;
  }

  /**
   * Releases everything held, in msgId order, ignoring the rate and skipping
   * every gap (the member is leaving); the window is empty after.
   */
  releaseAll(): Release[] {
    const out: Release[] = [];
    while (this.#held.size > 0) {
      const head = this.#held.get(this.#expected);
      if (head === undefined) out.push({ kind: "skipped", msgId: this.#expected++ });
      else this.#take(head, out);
    }
    return out;
  }

  /**
   * When the missing `expected` will be skipped: the gap timeout after the
   * earliest arrival among the held (all later msgIds). Null when `expected`
   * is held or nothing is.
   */
  gapDeadline(): number | null {
    if (this.#held.size === 0 || this.#held.has(this.#expected)) return null;
    let earliest = Infinity;
    for (const held of this.#held.values()) earliest = Math.min(earliest, held.arrivedAt);
    return earliest + this.#limits.gapTimeoutMs;
  }

  /** Forgets everything held (the member is gone), giving its share of the pool back. */
  clear(): void {
    for (const held of this.#held.values()) if (held.text !== null) this.#limits.pool.held--;
    this.#held.clear();
    this.#bytes = 0;
  }

  #take(head: Held, out: Release[]): void {
    const msgId = this.#expected++;
    this.#held.delete(msgId);
    if (head.text === null) return; // refused (413) when it came
    this.#bytes -= head.bytes;
    this.#limits.pool.held--;
    out.push({ kind: "message", msgId, text: head.text });
  }
}

function refused(code: 413 | 429, text: string, final: boolean): Offer {
  return { kind: "refused", code, final, text };
}
