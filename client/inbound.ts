/**
 * Inbound ordering and gap repair: the room's events arrive by UDP lost,
 * repeated and out of order; this hands them on once each, in seq order, and
 * asks the server again (RESEND) for what is missing, until it comes or has
 * waited too long and is reported as missed.
 */
import { type ChatEvent, REPLAY_ON_WELCOME } from "../protocol/datagram.ts";
import type { Scheduler, TimerId } from "./scheduler.ts";

/** RESENDs sent at once for separate runs of missing seqs; the rest wait a round. */
export const MAX_RESEND_RUNS = 32;

/** What {@linkcode InboundOrder} needs and whom it tells. */
export interface InboundOrderOptions {
  /** The clock for the RESEND rounds. */
  scheduler: Scheduler;
  /** A gap is asked for again this often. */
  resendIntervalMs: number;
  /** Rounds the oldest gap may wait without moving before it is given up on. */
  resendTries: number;
  /** Asks the server for the events fromSeq..toSeq (one RESEND). */
  askFor: (fromSeq: number, toSeq: number) => void;
  /** The next event in seq order; `replay` when WELCOME's head covers it (history). */
  deliver: (event: ChatEvent, replay: boolean) => void;
  /** fromSeq..toSeq will not come: the session moves on past them. */
  missed: (fromSeq: number, toSeq: number) => void;
}

/** While anything is missing: how far we have asked, and how long the oldest gap has waited. */
interface GapState {
  /** The highest seq asked for so far. */
  askedUpTo: number;
  /** Where the oldest gap began when last counted. */
  progressAt: number;
  /** Rounds the oldest gap has waited without moving. */
  tries: number;
  timer: TimerId | undefined;
}

/**
 * One connection's view of the room's event numbers. Until
 * {@linkcode start} (the WELCOME) events are only kept, since they may have
 * overtaken it; after {@linkcode stop} it may start again on a new server.
 *
 * @example
 * ```ts
 * const order = new InboundOrder({ scheduler, resendIntervalMs: 500, resendTries: 20,
 *   askFor: (from, to) => sendResend(from, to),
 *   deliver: (event) => show(event),
 *   missed: (from, to) => warn(from, to) });
 * order.start(0); // WELCOME said headSeq 0
 * order.receive(eventWithSeq2); // kept; asks for seq 1
 * order.receive(eventWithSeq1); // delivers 1 then 2
 * ```
 */
export class InboundOrder {
  #options: InboundOrderOptions;
  /** The next seq to deliver; 0 until WELCOME. */
  #nextSeq = 0;
  /** Seqs up to here are history replayed on joining. */
  #replayUntil = 0;
  #early: ChatEvent[] = [];
  #buffered = new Map<number, ChatEvent>();
  #gap: GapState | null = null;

  /** Nothing is delivered before {@linkcode start}. */
  constructor(options: InboundOrderOptions) {
    this.#options = options;
  }

  /**
   * WELCOME arrived with the room's newest seq: delivery starts at most 50
   * back (the replay the server sends), with the events that overtook it.
   * The replay is on its way, so any gap is first asked for a round later.
   */
  start(headSeq: number): void {
    this.#nextSeq = Math.max(1, headSeq - REPLAY_ON_WELCOME + 1);
    this.#replayUntil = headSeq;
    // Buffer every early event before looking for gaps, so none is asked for again.
    for (const event of this.#early) {
      if (event.seq >= this.#nextSeq) this.#buffered.set(event.seq, event);
    }
    this.#early = [];
    this.#drain();
    this.#checkGap(headSeq, true);
  }

  /** An EVENT datagram; duplicates and seqs already passed are dropped. */
  receive(event: ChatEvent): void {
    if (this.#nextSeq === 0) {
      this.#early.push(event); // overtook the WELCOME
      return;
    }
    if (event.seq < this.#nextSeq || this.#buffered.has(event.seq)) return; // duplicate
    this.#buffered.set(event.seq, event);
    this.#drain();
    this.#checkGap(0);
  }

  /**
   * The highest seq received, in order or not, for HEARTBEAT: gaps below it
   * are RESEND's job, and counting from the first gap would have the server
   * replay everything already buffered after it.
   */
  get highestSeq(): number {
    let highest = this.#nextSeq - 1;
    for (const seq of this.#buffered.keys()) highest = Math.max(highest, seq);
    return Math.max(0, highest);
  }

  /** Forgets this connection's seqs and stops asking; {@linkcode start} may follow. */
  stop(): void {
    this.#options.scheduler.clearTimeout(this.#gap?.timer);
    this.#gap = null;
    this.#nextSeq = 0;
    this.#replayUntil = 0;
    this.#early = [];
    this.#buffered.clear();
  }

  #drain(): void {
    let next = this.#buffered.get(this.#nextSeq);
    while (next !== undefined) {
      this.#buffered.delete(this.#nextSeq);
      this.#nextSeq++;
      this.#options.deliver(next, next.seq <= this.#replayUntil);
      next = this.#buffered.get(this.#nextSeq);
    }
  }

  /**
   * Asks at once for every missing range not yet asked for, below the highest
   * seq buffered (or `headSeq`); the retry timer asks again for whatever is
   * still missing. With `replayComing` (after WELCOME, which the replay
   * follows) the first RESEND waits one interval instead of asking for what
   * is on its way.
   */
  #checkGap(headSeq: number, replayComing = false): void {
    const top = Math.max(headSeq, ...this.#buffered.keys());
    if (top < this.#nextSeq) {
      this.#options.scheduler.clearTimeout(this.#gap?.timer);
      this.#gap = null;
      return;
    }
    if (this.#gap === null) {
      this.#gap = {
        askedUpTo: this.#nextSeq - 1,
        progressAt: this.#nextSeq,
        tries: 0,
        timer: this.#options.scheduler.setTimeout(
          () => this.#retryGaps(),
          this.#options.resendIntervalMs,
        ),
      };
      if (replayComing) {
        this.#gap.askedUpTo = top;
        return;
      }
      this.#gap.tries = 1; // the ask below is the oldest gap's first
    }
    if (top > this.#gap.askedUpTo) {
      this.#askFor(Math.max(this.#nextSeq, this.#gap.askedUpTo + 1), top);
      this.#gap.askedUpTo = top;
    }
  }

  /** Every interval while anything is missing: ask again, or give up on the oldest gap. */
  #retryGaps(): void {
    const gap = this.#gap;
    if (gap === null) return;
    if (this.#nextSeq > gap.progressAt) {
      gap.progressAt = this.#nextSeq;
      gap.tries = 0; // the oldest gap moved: count afresh
    }
    if (gap.tries >= this.#options.resendTries) {
      // The server no longer has them (or we cannot reach it): skip ahead, say so.
      const resumeAt = this.#buffered.size > 0
        ? Math.min(...this.#buffered.keys())
        : gap.askedUpTo + 1;
      this.#options.missed(this.#nextSeq, resumeAt - 1);
      this.#nextSeq = resumeAt;
      gap.progressAt = resumeAt;
      gap.tries = 0;
      this.#drain();
    }
    const top = Math.max(gap.askedUpTo, ...this.#buffered.keys());
    if (top < this.#nextSeq) {
      this.#gap = null;
      return;
    }
    gap.tries++;
    this.#askFor(this.#nextSeq, top);
    gap.askedUpTo = top;
    gap.timer = this.#options.scheduler.setTimeout(
      () => this.#retryGaps(),
      this.#options.resendIntervalMs,
    );
  }

  /** One RESEND per run of missing seqs in fromSeq..toSeq (at most 32 of them). */
  #askFor(fromSeq: number, toSeq: number): void {
    let runs = 0;
    let start = -1;
    for (let seq = fromSeq; seq <= toSeq + 1 && runs < MAX_RESEND_RUNS; seq++) {
      const missing = seq <= toSeq && !this.#buffered.has(seq);
      if (missing && start < 0) start = seq;
      if (!missing && start >= 0) {
        this.#options.askFor(start, seq - 1);
        runs++;
        start = -1;
      }
    }
  }
}
