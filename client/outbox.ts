/**
 * The outbox: messages sent and not yet acknowledged. Each is retransmitted
 * with the same msgId (the server acknowledges a repeat without relaying it
 * again) until its ACK comes, or reported as not delivered after the last
 * try; while the session is between servers they wait, and go out with the
 * new token once it is back in.
 */
import type { Scheduler, TimerId } from "./scheduler.ts";

/** What {@linkcode Outbox} needs and whom it tells. */
export interface OutboxOptions {
  /** The clock for retransmission. */
  scheduler: Scheduler;
  /** First retransmission after this long, then doubling... */
  retryBaseMs: number;
  /** ...up to this long between tries. */
  retryMaxMs: number;
  /** Tries in all before a message is given up on. */
  sendTries: number;
  /** The MESSAGE datagram for the current connection; throws RangeError when it cannot fit. */
  encode: (msgId: number, text: string) => Uint8Array;
  /** Puts a datagram on the current channel. */
  send: (bytes: Uint8Array) => void;
  /** When the server was last heard from, on the scheduler's clock. */
  lastHeardAt: () => number;
  /** The server acknowledged a message with the seq of its EVENT. */
  delivered: (msgId: number, seq: number) => void;
  /** A message was given up on. */
  undelivered: (msgId: number, text: string) => void;
  /**
   * A message ran out of tries with nothing at all heard from the server
   * since its first: the server, not the message, is the problem. True when
   * the session takes that up (it rejoins, and the message waits); false
   * reports the message as not delivered.
   */
  serverSilent: () => boolean;
}

interface PendingMessage {
  text: string;
  bytes: Uint8Array;
  /** Tries made on the current connection. */
  tries: number;
  timer: TimerId | undefined;
  /** When the first try went out on the current connection. */
  firstSentAt: number;
}

/**
 * Messages waiting for their ACK, numbered from msgId 1. It sends only
 * between {@linkcode resume} and {@linkcode pause}; messages added meanwhile
 * wait.
 *
 * @example
 * ```ts
 * const outbox = new Outbox({ scheduler, retryBaseMs: 300, retryMaxMs: 2_000, sendTries: 12,
 *   encode, send, lastHeardAt, delivered, undelivered, serverSilent: () => false });
 * outbox.resume(false); // WELCOME: send, retransmitting until ACK
 * const msgId = outbox.add("hello");
 * outbox.acknowledge(msgId, 7); // delivered(msgId, 7)
 * ```
 */
export class Outbox {
  #options: OutboxOptions;
  #pending = new Map<number, PendingMessage>();
  #nextMsgId = 1;
  #sending = false;
  #reliable = false;

  /** Nothing is sent before {@linkcode resume}. */
  constructor(options: OutboxOptions) {
    this.#options = options;
  }

  /** Messages not yet acknowledged nor given up on. */
  get size(): number {
    return this.#pending.size;
  }

  /** Adds a message and sends it now if sending; returns its msgId. Throws RangeError when too long. */
  add(text: string): number {
    const msgId = this.#nextMsgId;
    const bytes = this.#options.encode(msgId, text);
    this.#nextMsgId++;
    const pending: PendingMessage = { text, bytes, tries: 0, timer: undefined, firstSentAt: 0 };
    this.#pending.set(msgId, pending);
    if (this.#sending) this.#transmit(msgId, pending);
    return msgId;
  }

  /**
   * Starts sending on a (new) connection: every waiting message is encoded
   * again (the token may have changed) and sent from its first try. On a
   * `reliable` channel each is sent once, and only the give-up timing runs.
   */
  resume(reliable: boolean): void {
    this.#sending = true;
    this.#reliable = reliable;
    for (const [msgId, pending] of this.#pending) {
      this.#options.scheduler.clearTimeout(pending.timer);
      try {
        pending.bytes = this.#options.encode(msgId, pending.text);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        // The new server takes smaller datagrams, and this one no longer fits.
        this.#pending.delete(msgId);
        this.#options.undelivered(msgId, pending.text);
        continue;
      }
      pending.tries = 0;
      this.#transmit(msgId, pending);
    }
  }

  /** Stops sending; messages wait for the next {@linkcode resume}. */
  pause(): void {
    this.#sending = false;
    for (const pending of this.#pending.values()) {
      this.#options.scheduler.clearTimeout(pending.timer);
    }
  }

  /** An ACK: the message is delivered (a repeated or unknown ACK is ignored). */
  acknowledge(msgId: number, seq: number): void {
    const pending = this.#pending.get(msgId);
    if (pending === undefined) return;
    this.#options.scheduler.clearTimeout(pending.timer);
    this.#pending.delete(msgId);
    this.#options.delivered(msgId, seq);
  }

  /** Stops, and reports every waiting message as not delivered (the session is over). */
  giveUpAll(): void {
    this.pause();
    const given = [...this.#pending];
    this.#pending.clear();
    for (const [msgId, pending] of given) this.#options.undelivered(msgId, pending.text);
  }

  #transmit(msgId: number, pending: PendingMessage): void {
    if (!this.#sending) return;
    const { scheduler, sendTries, retryBaseMs, retryMaxMs } = this.#options;
    if (pending.tries >= sendTries) {
      // Nothing at all heard since the first try: the server is gone, not just
      // this message. Keep it if the session goes to find the server again.
      if (this.#options.lastHeardAt() < pending.firstSentAt && this.#options.serverSilent()) {
        return;
      }
      this.#pending.delete(msgId);
      this.#options.undelivered(msgId, pending.text);
      return;
    }
    if (pending.tries === 0) pending.firstSentAt = scheduler.now();
    // A reliable channel delivers the first try or fails as a whole: no repeats.
    if (pending.tries === 0 || !this.#reliable) this.#options.send(pending.bytes);
    const wait = Math.min(retryBaseMs * 2 ** pending.tries, retryMaxMs);
    pending.tries++;
    pending.timer = scheduler.setTimeout(() => this.#transmit(msgId, pending), wait);
  }
}
