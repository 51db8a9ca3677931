/**
 * Resuming a session on a new socket (docs/protocol.md 7.5): over a
 * reliable connection (a WebSocket) a closed socket is not the end of the
 * membership. The session asks its connector for a new socket to the same
 * server (`Connector.reconnect`), says HELLO with its lastSeq there, and
 * carries on when WELCOME comes; until then it tries again, waiting 0.5 s
 * doubling to 10 s between attempts, or at once when nudged (the page came
 * back online or to the foreground). The server saying it forgot the
 * session (a stateless reset, ERROR 401) and a fatal close code end the
 * loop; the session decides what follows (a rejoin, or closing).
 */
import {
  ChatClosedError,
  type Connection,
  type ConnectOptions,
  type Connector,
  type DatagramChannel,
  withinDeadline,
} from "./connector.ts";
import { ChatTransportError } from "./errors.ts";
import { raceTimeout, type Scheduler, type TimerId } from "./scheduler.ts";

/** First wait after a failed attempt... */
export const RECONNECT_BASE_MS = 500;
/** ...doubling up to this. */
export const RECONNECT_MAX_MS = 10_000;
/** After a nudge while live: resume on a new socket when nothing authenticated came back in this long. */
export const NUDGE_ANSWER_MS = 5_000;
/** One attempt's socket has this long to open. */
export const RECONNECT_ATTEMPT_MS = 10_000;

/**
 * How one attempt went: back in, to be tried again (the socket closed with
 * a code worth retrying, or no WELCOME in time), or over (the session
 * closed, or went to rejoin).
 */
export type ResumeOutcome = "resumed" | "retry" | "stop";

/** What {@linkcode runResumeLoop} needs. */
export interface ResumeLoopOptions {
  scheduler: Scheduler;
  /** Opens a new socket for the membership; rejects as `Connector.reconnect` does. */
  open: () => Promise<DatagramChannel>;
  /** Says HELLO on the socket and waits for the answer. */
  resume: (channel: DatagramChannel) => Promise<ResumeOutcome>;
  /** Opening failed for good (a fatal close code, or something no retry can change). */
  refused: (error: unknown) => void;
  /** True once the loop is no longer wanted (the session closed, or rejoins). */
  isOver: () => boolean;
  /** Tests: the waits. */
  baseMs?: number;
  maxMs?: number;
}

/**
 * The resume loop of one disconnection. {@linkcode nudge} cuts the wait
 * before the next attempt short.
 */
export class ResumeLoop {
  #options: ResumeLoopOptions;
  #wake: (() => void) | null = null;
  #nudged = false;

  /** Nothing happens before {@linkcode run}. */
  constructor(options: ResumeLoopOptions) {
    this.#options = options;
  }

  /** Attempts now, or as soon as the attempt under way has failed. */
  nudge(): void {
    this.#nudged = true;
    this.#wake?.();
  }

  /**
   * Attempts at once, then after each failure waits (0.5 s doubling to 10 s,
   * or until nudged) and attempts again, until an attempt resumes or the
   * loop is over. Never rejects: a failure that retrying cannot change goes
   * to `refused`.
   */
  async run(): Promise<void> {
    const { scheduler, isOver } = this.#options;
    let wait = this.#options.baseMs ?? RECONNECT_BASE_MS;
    const maxMs = this.#options.maxMs ?? RECONNECT_MAX_MS;
    while (!isOver()) {
      this.#nudged = false;
      let channel: DatagramChannel | null = null;
      try {
        channel = await this.#options.open();
      } catch (error) {
        if (isOver()) return;
        if (!(error instanceof ChatTransportError)) {
          this.#options.refused(error);
          return;
        }
      }
      if (isOver()) {
        channel?.close();
        return;
      }
      if (channel !== null) {
        const outcome = await this.#options.resume(channel);
        if (outcome !== "retry") return;
      }
      if (this.#nudged) continue; // nudged during the attempt: try again at once
      await this.#sleep(scheduler, wait);
      wait = Math.min(wait * 2, maxMs);
    }
  }

  #sleep(scheduler: Scheduler, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: TimerId | undefined = undefined;
      const done = () => {
        scheduler.clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      timer = scheduler.setTimeout(done, ms);
      this.#wake = done;
    });
  }
}

/**
 * `connector.reconnect` with a deadline on the session's clock, as
 * `connectWithin` does for a request: at `timeoutMs` plus the grace the
 * attempt's signal aborts and this rejects with `ChatTransportError`; a
 * channel that opens after that is closed.
 */
export function reconnectWithin(
  connector: Connector,
  connection: Connection,
  options: ConnectOptions & { scheduler: Scheduler },
): Promise<DatagramChannel> {
  const reconnect = connector.reconnect?.bind(connector);
  if (reconnect === undefined) {
    return Promise.reject(new ChatClosedError(0, "this connection cannot be resumed"));
  }
  return withinDeadline(
    (attempt) => reconnect(connection, attempt),
    (channel) => channel.close(),
    { ...options, late: `no new connection to the server within ${options.timeoutMs} ms` },
  );
}

/** Where a session is, as far as resuming goes. */
export type SessionPhase = "welcoming" | "live" | "reconnecting" | "rejoining";

/** What a session lends its {@linkcode SocketResumer}: its state, and the steps only it can take. */
export interface ResumeHost {
  scheduler: Scheduler;
  connector: Connector;
  /** Aborted when the session closes. */
  signal: AbortSignal;
  /** Resolves when the session closes. */
  closed: Promise<void>;
  /** A new socket has at most this long to open (the session's connectTimeoutMs)... */
  connectTimeoutMs: number;
  /** ...and its HELLO this long to be answered. */
  helloTimeoutMs: number;
  /** The membership being resumed. */
  connection(): Connection;
  phase(): SessionPhase;
  isClosed(): boolean;
  /**
   * Live → reconnecting: heartbeats stop, gaps and messages wait, the
   * socket is dropped, and the front end is told ("reconnecting").
   */
  suspend(reason: string): void;
  /** Talks over `channel` from now on, and says HELLO there with the highest seq received. */
  useSocket(channel: DatagramChannel): void;
  /** Forgets `channel` if it is still the session's, and closes it. */
  dropSocket(channel: DatagramChannel): void;
  /** Sends one HEARTBEAT now. */
  heartbeat(): void;
  /** When an authenticated datagram last arrived (on the scheduler's clock). */
  heardAt(): number;
  /** Resuming failed for good: a fatal close (`ChatRefusedError`), or a bug. */
  refused(error: unknown): void;
}

/**
 * A session's resumes on new sockets (docs/protocol.md 7.5): one
 * {@linkcode ResumeLoop} per outage, one attempt at a time, and the nudge.
 * The session keeps its phase and says when an attempt's socket closed
 * ({@linkcode attemptOver}) or it is back in, rejoining or closed
 * ({@linkcode stop}).
 */
export class SocketResumer {
  #host: ResumeHost;
  #loop: ResumeLoop | null = null;
  #attemptOver: (() => void) | null = null;
  #nudgeTimer: TimerId | undefined;

  /** Nothing happens before {@linkcode start} or {@linkcode nudge}. */
  constructor(host: ResumeHost) {
    this.#host = host;
  }

  /** While live: the socket closed (not fatally) or went silent; resume on new ones. */
  start(reason: string): void {
    const host = this.#host;
    if (host.isClosed() || host.phase() !== "live") return;
    this.#clearNudge();
    host.suspend(reason);
    const connection = host.connection();
    const loop: ResumeLoop = new ResumeLoop({
      scheduler: host.scheduler,
      open: () =>
        reconnectWithin(host.connector, connection, {
          scheduler: host.scheduler,
          signal: host.signal,
          timeoutMs: Math.min(RECONNECT_ATTEMPT_MS, host.connectTimeoutMs),
        }),
      resume: (channel) => this.#attempt(channel),
      refused: (error) => host.refused(error),
      isOver: (): boolean => host.isClosed() || this.#loop !== loop,
    });
    this.#loop = loop;
    void loop.run();
  }

  /** The socket of the attempt under way closed, or the server answered it. */
  attemptOver(): void {
    this.#attemptOver?.();
  }

  /** Back in, rejoining or closed: no more attempts, no nudge check. */
  stop(): void {
    this.#loop = null;
    this.#clearNudge();
    this.#attemptOver?.();
  }

  /**
   * The page is back: while reconnecting, the next attempt goes now; while
   * live, one HEARTBEAT, and no authenticated answer within
   * {@linkcode NUDGE_ANSWER_MS} starts a resume.
   */
  nudge(): void {
    const host = this.#host;
    if (host.isClosed()) return;
    if (host.phase() === "reconnecting") return this.#loop?.nudge();
    if (host.phase() !== "live" || this.#nudgeTimer !== undefined) return;
    const nudgedAt = host.scheduler.now();
    host.heartbeat();
    this.#nudgeTimer = host.scheduler.setTimeout(() => {
      this.#nudgeTimer = undefined;
      if (host.phase() === "live" && host.heardAt() < nudgedAt) {
        this.start(`no answer from the server within ${NUDGE_ANSWER_MS / 1000} s`);
      }
    }, NUDGE_ANSWER_MS);
  }

  /** One attempt: HELLO with our lastSeq on `channel`, then wait for the answer. */
  async #attempt(channel: DatagramChannel): Promise<ResumeOutcome> {
    const host = this.#host;
    if (host.isClosed() || host.phase() !== "reconnecting") {
      channel.close();
      return "stop";
    }
    const over = new Promise<void>((resolve) => (this.#attemptOver = resolve));
    host.useSocket(channel);
    await raceTimeout(host.scheduler, Promise.race([over, host.closed]), host.helloTimeoutMs);
    this.#attemptOver = null;
    if (host.isClosed()) return "stop";
    const phase = host.phase();
    if (phase === "live") return "resumed";
    if (phase !== "reconnecting") return "stop"; // a reset or ERROR 401: rejoining
    host.dropSocket(channel); // closed again, or no WELCOME in time
    return "retry";
  }

  #clearNudge(): void {
    this.#host.scheduler.clearTimeout(this.#nudgeTimer);
    this.#nudgeTimer = undefined;
  }
}
