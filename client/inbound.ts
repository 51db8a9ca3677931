/**
 * Inbound ordering and gap repair: the room's events arrive by UDP lost,
 * repeated and out of order; this hands them on once each, in seq order, and
 * asks the server again (RESEND) for what is missing, until it comes or has
 * waited too long and is reported as missed.
 *
 * An event's seq is believed only within {@linkcode INBOUND_WINDOW} of the
 * next one expected, so one event with a huge seq (forged, or a server's
 * bug) can neither freeze the client in a long gap scan nor move it past
 * every real event. Only a head seq from the server's own channel (WELCOME,
 * and a sealed room's HEARTBEAT_ACK) may move the next seq further.
 */
import { type ChatEvent, REPLAY_ON_WELCOME } from "../protocol/datagram.ts";
import type { Scheduler, TimerId } from "./scheduler.ts";

/** RESENDs sent at once for separate runs of missing seqs; the rest wait a round. */
export const MAX_RESEND_RUNS = 32;

/**
 * Seqs from the next one expected that an event may carry and be kept:
 * the server's history is 1024 events, so nothing further could be asked
 * for again anyway. It also bounds what is buffered, and every gap scan.
 */
export const INBOUND_WINDOW = 1024;

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
  /** The newest seq the server said it has, on its own channel; 0 until WELCOME. */
  #head = 0;
  #gap: GapState | null = null;
  /** The connection is down (a socket being resumed): gaps wait, and their rounds do not count. */
  #paused = false;

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
    this.#head = headSeq;
    // Buffer every early event before looking for gaps, so none is asked for again.
    for (const event of this.#early) {
      if (this.#inWindow(event.seq)) this.#buffered.set(event.seq, event);
    }
    this.#early = [];
    this.#drain();
    this.#checkGap(headSeq, true);
  }

  /**
   * An EVENT datagram; duplicates, seqs already passed and seqs
   * {@linkcode INBOUND_WINDOW} or more ahead of the next one are dropped.
   */
  receive(event: ChatEvent): void {
    if (this.#nextSeq === 0) {
      // Overtook the WELCOME; as many as the window holds, since it is not known yet.
      if (this.#early.length < INBOUND_WINDOW) this.#early.push(event);
      return;
    }
    if (!this.#inWindow(event.seq) || this.#buffered.has(event.seq)) return;
    this.#buffered.set(event.seq, event);
    this.#drain();
    this.#checkGap(0);
  }

  /**
   * The room's newest seq, as the server said on its own channel (a sealed
   * room's HEARTBEAT_ACK, or a WELCOME in answer to a later HELLO): a lost
   * tail is asked for if it does not come within an interval (the server
   * may be resending it already), and when the head is a window or more
   * ahead, delivery skips to the window below it and says what was missed.
   * Before WELCOME, or for a head not ahead of what we have, nothing changes.
   */
  head(headSeq: number): void {
    if (this.#nextSeq === 0 || headSeq <= this.#head) return;
    this.#head = headSeq;
    if (headSeq < this.#nextSeq) return;
    const floor = headSeq - INBOUND_WINDOW + 1;
    if (floor > this.#nextSeq) this.#skipTo(floor);
    this.#checkGap(headSeq, true);
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

  /**
   * The socket closed and is being resumed: nothing can be asked for, so
   * gaps wait without using up their rounds (they are not missed yet).
   */
  pause(): void {
    this.#paused = true;
    if (this.#gap !== null) {
      this.#options.scheduler.clearTimeout(this.#gap.timer);
      this.#gap.timer = undefined;
    }
  }

  /**
   * Resumed on a new socket (whose HELLO replays everything above our
   * highest seq): what is still missing below is asked for one interval
   * later, each gap with its rounds counted afresh.
   */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const gap = this.#gap;
    if (gap === null) {
      if (this.#nextSeq > 0) this.#checkGap(0, true); // something came while paused
      return;
    }
    gap.tries = 0;
    gap.progressAt = this.#nextSeq;
    gap.timer = this.#options.scheduler.setTimeout(
      () => this.#retryGaps(),
      this.#options.resendIntervalMs,
    );
  }

  /** Forgets this connection's seqs and stops asking; {@linkcode start} may follow. */
  stop(): void {
    this.#paused = false;
    this.#options.scheduler.clearTimeout(this.#gap?.timer);
    this.#gap = null;
    this.#nextSeq = 0;
    this.#replayUntil = 0;
    this.#head = 0;
    this.#early = [];
    this.#buffered.clear();
  }

  /**
   * Moves delivery on to `floor`: what is buffered below it is delivered in
   * order, and every run missing in between is reported as missed.
   */
  #skipTo(floor: number): void {
    const below = [...this.#buffered.keys()].filter((seq) => seq < floor).sort((a, b) => a - b);
    for (const seq of below) {
      if (seq > this.#nextSeq) this.#options.missed(this.#nextSeq, seq - 1);
      this.#nextSeq = seq;
      this.#drain();
    }
    if (floor > this.#nextSeq) this.#options.missed(this.#nextSeq, floor - 1);
    this.#nextSeq = Math.max(this.#nextSeq, floor);
    if (this.#gap !== null) this.#gap.progressAt = this.#nextSeq;
    this.#drain();
  }

  #inWindow(seq: number): boolean {
    return seq >= this.#nextSeq && seq < this.#nextSeq + INBOUND_WINDOW;
  }

  /** The highest seq known to exist: buffered, or the server's head. */
  #top(): number {
    let top = this.#head;
    for (const seq of this.#buffered.keys()) if (seq > top) top = seq;
    return top;
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
   * seq buffered (or the server's head); the retry timer asks again for
   * whatever is still missing. With `replayComing` (after WELCOME, which the
   * replay follows, or a head the server may be resending the tail below)
   * a new gap's first RESEND waits one interval instead of asking for what
   * is on its way.
   */
  #checkGap(headSeq: number, replayComing = false): void {
    if (this.#paused) return; // resume() looks again
    const top = Math.max(headSeq, this.#top());
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
    const top = Math.max(gap.askedUpTo, this.#top());
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

  /**
   * One RESEND per run of missing seqs in fromSeq..toSeq (at most 32 of
   * them), looking at most {@linkcode INBOUND_WINDOW} seqs past the next
   * one expected: the scan is bounded whatever the range.
   */
  #askFor(fromSeq: number, requestedToSeq: number): void {
    const toSeq = Math.min(requestedToSeq, this.#nextSeq + INBOUND_WINDOW - 1);
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
