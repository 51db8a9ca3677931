/**
 * What a session is opened with, and what it hands out: its options, its
 * timings, and the events a front end reads.
 */
import type { CloseReason } from "../protocol/datagram.ts";
import type { ResumeTicket } from "../protocol/resume.ts";
import type { CryptoProvider } from "../protocol/sealed_types.ts";
import type { Connector } from "./connector.ts";
import type { Scheduler } from "./scheduler.ts";

/** What the front end is told, in order. */
export type SessionEvent =
  | {
    type: "welcome";
    room: string;
    host: string;
    members: string[];
    rejoined: boolean;
    /**
     * Set when a rejoin landed in a room whose host is not the one before
     * (after a restart, someone else created the room first): show it.
     */
    previousHost?: string;
  }
  | { type: "message"; seq: number; time: Date; name: string; text: string; replay: boolean }
  | {
    type: "joined" | "left" | "timedOut";
    seq: number;
    time: Date;
    name: string;
    replay: boolean;
  }
  | { type: "delivered"; msgId: number; seq: number }
  | { type: "undelivered"; msgId: number; text: string }
  | { type: "missed"; fromSeq: number; toSeq: number }
  | { type: "error"; code: number; text: string }
  /** The server forgot this session; messages sent now wait for the rejoin. */
  | { type: "rejoining"; reason: string; timeoutMs: number }
  /**
   * Nothing of ours was relayed for a while: the server removes us (CLOSED
   * 2) in about `removeInMs` unless we send a message. Once per quiet stretch.
   */
  | { type: "idleWarning"; removeInMs: number }
  /**
   * The socket of a reliable connection closed (or went silent): the
   * session is resuming on a new one, and messages sent now wait for it.
   * Once per disconnection; "reconnected" or "closed" (or "rejoining")
   * follows.
   */
  | { type: "reconnecting"; reason: string }
  /** Back on a new socket, same membership: what was missed meanwhile follows as usual. */
  | { type: "reconnected" }
  | {
    type: "closed";
    reason: CloseReason | "lost";
    text: string;
    /**
     * The WebSocket close code when the server closed the socket for good
     * (4403 origin refused, 4409 continued elsewhere, 4426 out of date).
     */
    closeCode?: number;
  };

/** Retry timings, in milliseconds on the scheduler's clock; tests shorten them. */
export interface SessionTimings {
  /** A membership request (CREATE_ROOM or JOIN_ROOM) has this long to be answered. */
  connectTimeoutMs: number;
  /** First MESSAGE retransmission after this long, then doubling... (also LEAVE's spacing) */
  retryBaseMs: number;
  /** ...up to this long between tries. */
  retryMaxMs: number;
  /** MESSAGE sends in all before "not delivered". */
  sendTries: number;
  /** HELLO is repeated this often until WELCOME arrives. */
  helloIntervalMs: number;
  /** No WELCOME after this long: the session fails. */
  helloTimeoutMs: number;
  /** A gap is asked for again this often. */
  resendIntervalMs: number;
  /** RESENDs for one gap before it is reported as missed and skipped. */
  resendTries: number;
  /** How long to keep trying to get back in after the server forgot us; 0: do not. */
  rejoinTimeoutMs: number;
  /** First wait between rejoin attempts (it doubles up to 2 s). */
  rejoinRetryMs: number;
}

/**
 * Defaults: 300 ms doubling up to 2 s, 12 tries (about 20 s, so a message
 * survives 20% loss each way: a try fails 36% of the time, 12 in a row 5e-6).
 */
export const DEFAULT_TIMINGS: SessionTimings = {
  connectTimeoutMs: 10_000,
  retryBaseMs: 300,
  retryMaxMs: 2_000,
  sendTries: 12,
  helloIntervalMs: 500,
  helloTimeoutMs: 10_000,
  resendIntervalMs: 500,
  // A round fails 36% of the time at 20% loss each way: 6 rounds left 4 of
  // 25,000 deliveries missed in the chaos suite (0.36^6 = 0.2% a gap); 20 rounds, 1e-9.
  resendTries: 20,
  rejoinTimeoutMs: 60_000,
  rejoinRetryMs: 250,
};

/** How to open a session. */
export interface SessionOptions {
  /** Reaches the server: membership requests and the datagram channel. */
  connector: Connector;
  /** Create the room (and be its host), or join it. */
  create: boolean;
  /** The room's name. */
  room: string;
  /** Our name in it. */
  username: string;
  /** The room's password (create: sets it; join: proves it); empty or null: none. */
  password?: string | null;
  /** With create: most members at once, host included (a join that carries one is refused, 400). */
  capacity?: number | null;
  /** Timings to change from {@linkcode DEFAULT_TIMINGS}. */
  timings?: Partial<SessionTimings>;
  /** Aborting cancels the opening, or leaves the room once in. */
  signal?: AbortSignal;
  /** The clock and timers; default the system's (`performance.now` and global timers). */
  scheduler?: Scheduler;
  /**
   * The primitives for sealed datagrams; needed when the connector hands
   * out sealed connections (a `sealed` Connection without it fails the
   * session). Injected, so a browser can pass a pure-JS provider.
   */
  crypto?: CryptoProvider;
  /** The first counter of each sealed member channel: 0. Tests start near 2^53 - 1. */
  firstCounter?: number;
  /**
   * The highest msgId one membership may use before the session gets a new
   * one (rejoins): 2^32 - 1, since msgIds do not wrap. Tests pass less.
   */
  lastMsgId?: number;
  /**
   * A ticket kept from a session this page had before a reload
   * (`ChatSession.resumeTicket`, docs/protocol.md 7.4): the first JOIN request carries it, and the
   * server hands that membership over (same name, host role kept) when it
   * still exists. Only the first request; a rejoin never carries one.
   */
  resume?: ResumeTicket;
}

export type { ResumeTicket };
