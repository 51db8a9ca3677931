/**
 * The outbox: messages sent and not yet acknowledged. They leave in the
 * order they were added, paced to the server's advertised message rate (a
 * token bucket on the scheduler's clock) and at most a window of them
 * outstanding at once, so a burst waits here instead of being refused. Each
 * is retransmitted with the same msgId (the server acknowledges a repeat
 * without relaying it again) until its ACK comes or the server refuses it
 * for good, or reported as not delivered after the last try; while the
 * session is between servers they wait, and go out with the new token,
 * numbered afresh from msgId 1, once it is back in. Each try is handed to
 * `send`, which on a sealed session seals it there and then under a fresh
 * counter: a retransmission is a new datagram to the server, never a
 * replay it would drop, and the msgId stays what it de-duplicates on.
 */
import type { RefusedCode } from "../protocol/datagram.ts";
import type { Scheduler, TimerId } from "./scheduler.ts";

/** How fast messages may leave on one membership (from the server's answer). */
export interface OutboxPace {
  /** Messages a second on average; 0: no limit. */
  rate: number;
  /** Messages at once. */
  burst: number;
  /** msgIds from the oldest outstanding one that may be out at once. */
  window: number;
  /** Longest wait between tries on this connection, instead of the options' `retryMaxMs`. */
  retryMaxMs?: number;
  /** Tries in all on this connection, instead of the options' `sendTries`. */
  sendTries?: number;
}

/** Milliseconds from a message's first try to giving up on it: the waits after each try. */
export function retrySpanMs(retryBaseMs: number, retryMaxMs: number, sendTries: number): number {
  let span = 0;
  for (let tries = 0; tries < sendTries; tries++) {
    span += Math.min(retryBaseMs * 2 ** tries, retryMaxMs);
  }
  return span;
}

/**
 * What a revision-1 server allows without saying so: 20 a second, bursts of
 * 40. It holds nothing back for order, so it has no window.
 */
export const DEFAULT_PACE: OutboxPace = { rate: 20, burst: 40, window: Infinity };

/** What {@linkcode Outbox} needs and whom it tells. */
export interface OutboxOptions {
  /** The clock for pacing and retransmission. */
  scheduler: Scheduler;
  /** First retransmission after this long, then doubling... */
  retryBaseMs: number;
  /** ...up to this long between tries. */
  retryMaxMs: number;
  /** Tries in all before a message is given up on. */
  sendTries: number;
  /** The MESSAGE datagram for the current connection; throws RangeError when it cannot fit. */
  encode: (msgId: number, text: string) => Uint8Array;
  /** Puts a datagram on the current channel (sealing it afresh, on a sealed session), at each try. */
  send: (bytes: Uint8Array) => void;
  /** When the server was last heard from, on the scheduler's clock. */
  lastHeardAt: () => number;
  /** The server acknowledged a message (by the id {@linkcode Outbox.add} gave) with its EVENT's seq. */
  delivered: (id: number, seq: number) => void;
  /** A message was given up on, or refused for good. */
  undelivered: (id: number, text: string) => void;
  /**
   * A message ran out of tries with nothing at all heard from the server
   * since its first: the server, not the message, is the problem. True when
   * the session takes that up (it rejoins, and the message waits); false
   * reports the message as not delivered.
   */
  serverSilent: () => boolean;
  /**
   * Every msgId of this membership has been used and answered, and messages
   * still wait: msgIds do not wrap (protocol.md 4.7), so the session must get
   * a new membership (rejoin), which numbers from 1 again.
   */
  msgIdsUsedUp?: () => void;
  /** The highest msgId a membership may use: 2^32 - 1 (tests pass less). */
  lastMsgId?: number;
}

interface PendingMessage {
  /** What {@linkcode Outbox.add} returned: stays the same across connections. */
  id: number;
  text: string;
  /** Its msgId on the current connection; null until it first leaves there. */
  msgId: number | null;
  bytes: Uint8Array;
  /** Tries made on the current connection. */
  tries: number;
  timer: TimerId | undefined;
  /** When the first try went out on the current connection. */
  firstSentAt: number;
}

/**
 * Messages waiting to leave or for their ACK. It sends only between
 * {@linkcode resume} and {@linkcode pause}; messages added meanwhile wait.
 * Ids handed out count from 1 for the session; msgIds on the wire count
 * from 1 for each connection (a membership), in the order messages were added.
 *
 * @example
 * ```ts
 * const outbox = new Outbox({ scheduler, retryBaseMs: 300, retryMaxMs: 2_000, sendTries: 12,
 *   encode, send, lastHeardAt, delivered, undelivered, serverSilent: () => false });
 * outbox.resume(false, DEFAULT_PACE); // WELCOME: send, retransmitting until ACK
 * const id = outbox.add("hello");
 * outbox.acknowledge(1, 7); // msgId 1 on this connection: delivered(id, 7)
 * ```
 */
export class Outbox {
  #options: OutboxOptions;
  /** By id, in the order added (so also the order they leave in). */
  #pending = new Map<number, PendingMessage>();
  /** Those sent on the current connection, by msgId, oldest first. */
  #outstanding = new Map<number, PendingMessage>();
  #nextId = 1;
  #nextMsgId = 1;
  #sending = false;
  #reliable = false;
  #pace: OutboxPace = DEFAULT_PACE;
  #tokens = 0;
  #tokensAt = 0;
  #pumpTimer: TimerId | undefined;

  /** Nothing is sent before {@linkcode resume}. */
  constructor(options: OutboxOptions) {
    this.#options = options;
  }

  /** Messages not yet acknowledged nor given up on (waiting to leave, or out). */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Adds a message; it leaves as soon as the pace and the window allow.
   * Returns its id. Throws RangeError when too long.
   */
  add(text: string): number {
    // The msgId does not change the size: any one checks that it fits.
    const bytes = this.#options.encode(this.#nextMsgId, text);
    const id = this.#nextId++;
    this.#pending.set(id, {
      id,
      text,
      msgId: null,
      bytes,
      tries: 0,
      timer: undefined,
      firstSentAt: 0,
    });
    this.#pump();
    return id;
  }

  /**
   * Starts sending on a (new) connection: msgIds start again from 1, and
   * every waiting message leaves again from its first try, in order, at
   * `pace`. On a `reliable` channel each is sent once, and only the give-up
   * timing runs.
   */
  resume(reliable: boolean, pace: OutboxPace = DEFAULT_PACE): void {
    this.pause();
    this.#sending = true;
    this.#reliable = reliable;
    this.#pace = pace;
    // The server's bucket for a new membership starts full; so does ours.
    this.#tokens = pace.burst;
    this.#tokensAt = this.#options.scheduler.now();
    this.#nextMsgId = 1;
    this.#outstanding.clear();
    for (const pending of this.#pending.values()) {
      pending.msgId = null;
      pending.tries = 0;
    }
    this.#pump();
  }

  /**
   * Carries on over a new socket of the same membership (a resume on a
   * reliable connection): every message already out is sent again, once,
   * with its msgId (the server acknowledges a repeat with its seq and does
   * not relay it again), its give-up timing starting afresh; then what
   * waits leaves as usual. msgIds, the window and the pace stay.
   */
  resendOutstanding(): void {
    this.pause();
    this.#sending = true;
    for (const pending of this.#outstanding.values()) {
      pending.tries = 0;
      this.#transmit(pending);
    }
    this.#pump();
  }

  /** Stops sending; messages wait for the next {@linkcode resume}. */
  pause(): void {
    this.#sending = false;
    const { scheduler } = this.#options;
    scheduler.clearTimeout(this.#pumpTimer);
    this.#pumpTimer = undefined;
    for (const pending of this.#pending.values()) scheduler.clearTimeout(pending.timer);
  }

  /** An ACK for a msgId of this connection: delivered (a repeated or unknown ACK is ignored). */
  acknowledge(msgId: number, seq: number): void {
    const pending = this.#outstanding.get(msgId);
    if (pending === undefined) return;
    this.#settle(pending);
    this.#options.delivered(pending.id, seq);
    this.#pump();
  }

  /**
   * A REFUSED for a msgId of this connection. 410 and 413 are final: the
   * message is not delivered, at once. 429 is not: its retransmission timer
   * sends it again, and that try counts.
   */
  refused(msgId: number, code: RefusedCode): void {
    const pending = this.#outstanding.get(msgId);
    if (pending === undefined || code === 429) return;
    this.#settle(pending);
    this.#options.undelivered(pending.id, pending.text);
    this.#pump();
  }

  /** Stops, and reports every waiting message as not delivered (the session is over). */
  giveUpAll(): void {
    this.pause();
    const given = [...this.#pending.values()];
    this.#pending.clear();
    this.#outstanding.clear();
    for (const pending of given) this.#options.undelivered(pending.id, pending.text);
  }

  #settle(pending: PendingMessage): void {
    this.#options.scheduler.clearTimeout(pending.timer);
    this.#pending.delete(pending.id);
    if (pending.msgId !== null) this.#outstanding.delete(pending.msgId);
  }

  /** Sends what waits, in order, while the window and the pace allow; else waits for a token. */
  #pump(): void {
    const { scheduler } = this.#options;
    scheduler.clearTimeout(this.#pumpTimer);
    this.#pumpTimer = undefined;
    if (!this.#sending) return;
    for (const pending of this.#pending.values()) {
      if (pending.msgId !== null) continue; // out already on this connection
      // The server holds msgIds up to its window past the oldest it still
      // waits for; ours is the oldest not yet answered.
      const oldest = this.#outstanding.keys().next().value ?? this.#nextMsgId;
      if (this.#nextMsgId >= oldest + this.#pace.window) return;
      if (this.#nextMsgId > (this.#options.lastMsgId ?? 0xffff_ffff)) {
        if (this.#outstanding.size === 0) this.#options.msgIdsUsedUp?.();
        return;
      }
      const wait = this.#tokenWait();
      if (wait > 0) {
        this.#pumpTimer = scheduler.setTimeout(() => this.#pump(), wait);
        return;
      }
      const msgId = this.#nextMsgId;
      try {
        pending.bytes = this.#options.encode(msgId, pending.text); // the token may have changed
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        // The new server takes smaller datagrams, and this one no longer fits.
        this.#pending.delete(pending.id);
        this.#options.undelivered(pending.id, pending.text);
        continue;
      }
      this.#tokens--;
      this.#nextMsgId++;
      pending.msgId = msgId;
      this.#outstanding.set(msgId, pending);
      this.#transmit(pending);
    }
  }

  /** Milliseconds until the bucket has a whole token (0: it has one now). */
  #tokenWait(): number {
    const { rate, burst } = this.#pace;
    if (rate <= 0) return 0;
    const now = this.#options.scheduler.now();
    this.#tokens = Math.min(
      Math.max(1, burst),
      this.#tokens + ((now - this.#tokensAt) / 1000) * rate,
    );
    this.#tokensAt = now;
    return this.#tokens >= 1 ? 0 : Math.max(1, Math.ceil(((1 - this.#tokens) / rate) * 1000));
  }

  #transmit(pending: PendingMessage): void {
    if (!this.#sending) return;
    const { scheduler, retryBaseMs } = this.#options;
    const sendTries = this.#pace.sendTries ?? this.#options.sendTries;
    const retryMaxMs = this.#pace.retryMaxMs ?? this.#options.retryMaxMs;
    if (pending.tries >= sendTries) {
      // Nothing at all heard since the first try: the server is gone, not just
      // this message. Keep it if the session goes to find the server again.
      if (this.#options.lastHeardAt() < pending.firstSentAt && this.#options.serverSilent()) {
        return;
      }
      this.#settle(pending);
      this.#options.undelivered(pending.id, pending.text);
      this.#pump();
      return;
    }
    if (pending.tries === 0) pending.firstSentAt = scheduler.now();
    // A reliable channel delivers the first try or fails as a whole: no repeats.
    if (pending.tries === 0 || !this.#reliable) this.#options.send(pending.bytes);
    const wait = Math.min(retryBaseMs * 2 ** pending.tries, retryMaxMs);
    pending.tries++;
    pending.timer = scheduler.setTimeout(() => this.#transmit(pending), wait);
  }
}
