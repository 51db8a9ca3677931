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
  CONNECT_GRACE_MS,
  type Connection,
  type ConnectOptions,
  type Connector,
  type DatagramChannel,
} from "./connector.ts";
import { ChatTransportError } from "./errors.ts";
import type { Scheduler, TimerId } from "./scheduler.ts";

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
  const { scheduler, timeoutMs } = options;
  const abort = new AbortController();
  const signal = options.signal === undefined
    ? abort.signal
    : AbortSignal.any([abort.signal, options.signal]);
  let timer: TimerId | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = scheduler.setTimeout(() => {
      abort.abort();
      reject(new ChatTransportError(`no new connection to the server within ${timeoutMs} ms`));
    }, timeoutMs + CONNECT_GRACE_MS);
  });
  const opening = reconnect(connection, { signal, timeoutMs });
  opening.then((channel) => {
    if (abort.signal.aborted) channel.close(); // too late: nobody will use it
  }, () => {});
  return Promise.race([opening, deadline]).finally(() => scheduler.clearTimeout(timer));
}
