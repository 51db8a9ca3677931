/**
 * A chat session: the handshake, HELLO until WELCOME, heartbeats, message
 * retransmission, gap repair with RESEND, ordering by seq and duplicate
 * suppression, and getting back into the room when the server forgets the
 * session (it restarted). It hands out clean typed events and does no
 * terminal I/O.
 */
import {
  type ChatEvent,
  type ClientBody,
  CloseReason,
  decodeServerDatagram,
  encodeClientDatagram,
  EventType,
  REPLAY_ON_WELCOME,
  type ServerBody,
} from "../protocol/datagram.ts";
import { ProtocolError } from "../protocol/errors.ts";
import { Operation } from "../protocol/tcrp.ts";
import type { HostPort } from "../protocol/host_port.ts";
import { ChatRefusedError, ChatTransportError } from "./errors.ts";
import { AsyncQueue, raceTimeout } from "./async_queue.ts";
import { type Membership, requestMembership } from "./tcrp_client.ts";
import { rejoinRoom } from "./rejoin.ts";
import { type DatagramTransport, openUdpTransport } from "./transport.ts";

/** What the front end is told, in order. */
export type SessionEvent =
  | { type: "welcome"; room: string; host: string; members: string[]; rejoined: boolean }
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
  | { type: "closed"; reason: CloseReason | "lost"; text: string };

/** Retry timings; tests shorten them. */
export interface SessionTimings {
  /** First MESSAGE retransmission after this long, then doubling... */
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
  server: HostPort;
  create: boolean;
  room: string;
  username: string;
  password?: string | null;
  capacity?: number | null;
  timings?: Partial<SessionTimings>;
  /** Aborting leaves the room and closes the session. */
  signal?: AbortSignal;
  /** Replaces the UDP socket (tests). */
  openTransport?: (membership: Membership, server: HostPort) => DatagramTransport;
}

type Timer = ReturnType<typeof setTimeout>;

interface PendingMessage {
  text: string;
  bytes: Uint8Array;
  tries: number;
  timer: Timer | undefined;
  /** When the first try went out in the current connection. */
  firstSentAt: number;
}

/** RESENDs sent at once for separate runs of missing seqs; the rest wait a round. */
const MAX_RESEND_RUNS = 32;

/** welcoming: HELLO sent, no WELCOME yet; live: in the room; rejoining: between servers. */
type Phase = "welcoming" | "live" | "rejoining";

/** A member's live connection to one room. */
export class ChatSession {
  /** The room joined. */
  readonly room: string;
  /** Our name in it. */
  readonly username: string;
  #options: SessionOptions;
  #membership: Membership;
  #transport: DatagramTransport;
  #timings: SessionTimings;
  #events = new AsyncQueue<SessionEvent>();
  #phase: Phase = "welcoming";
  #rejoined = false;
  #host = "";
  #members = new Set<string>();
  #nextSeq = 0; // 0 until WELCOME
  #replayUntil = 0;
  #welcomed!: Promise<void>;
  #resolveWelcomed!: () => void;
  #early: ServerBody[] = [];
  #buffered = new Map<number, ChatEvent>();
  /**
   * While anything is missing: the highest seq asked for so far, where the
   * oldest gap began when last counted, and how many rounds it has waited.
   */
  #gap: { askedUpTo: number; progressAt: number; tries: number; timer: Timer | undefined } | null =
    null;
  #pending = new Map<number, PendingMessage>();
  #nextMsgId = 1;
  #lastHeardAt = 0;
  /** seq -> identity of the last events shown, to recognise them if replayed after a rejoin. */
  #recentlyShown = new Map<number, string>();
  #shownBeforeRejoin = new Map<number, string>();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #stop = new AbortController();
  #closedInfo: Promise<void>;
  #resolveClosed!: () => void;
  #leaveAcked: (() => void) | null = null;

  private constructor(options: SessionOptions, membership: Membership) {
    this.room = options.room;
    this.username = options.username;
    this.#options = options;
    this.#membership = membership;
    this.#transport = this.#openTransport(membership);
    this.#timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.#closedInfo = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#resetConnection();
  }

  /**
   * Performs the TCRP handshake, then HELLO until WELCOME. Rejects with
   * ChatRefusedError (the server said no) or ChatTransportError.
   */
  static async open(options: SessionOptions): Promise<ChatSession> {
    const membership = await requestMembership(options.server, {
      operation: options.create ? Operation.CREATE_ROOM : Operation.JOIN_ROOM,
      roomName: options.room,
      username: options.username,
      password: options.password ?? null,
      capacity: options.capacity ?? null,
    }, { signal: options.signal });
    const session = new ChatSession(options, membership);
    try {
      await session.#hello(session.#timings.helloTimeoutMs);
    } catch (error) {
      session.#close("lost", String(error));
      throw error;
    }
    options.signal?.addEventListener("abort", () => session.leave(), { once: true });
    return session;
  }

  /** The server's settings and our token, from the latest handshake. */
  get membership(): Membership {
    return this.#membership;
  }

  /** The host's name. */
  get host(): string {
    return this.#host;
  }

  /** Members as far as this session knows, in join order. */
  get members(): string[] {
    return [...this.#members];
  }

  /** Resolves once the session has closed for any reason. */
  get closed(): Promise<void> {
    return this.#closedInfo;
  }

  /** Events in order; the iteration ends after the "closed" event. */
  [Symbol.asyncIterator](): AsyncIterator<SessionEvent> {
    return this.#events[Symbol.asyncIterator]();
  }

  #openTransport(membership: Membership): DatagramTransport {
    const udpServer = {
      hostname: this.#options.server.hostname,
      port: membership.accepted.udpPort,
    };
    return this.#options.openTransport?.(membership, udpServer) ??
      openUdpTransport(membership.localHostname, udpServer);
  }

  /** Forgets everything tied to one server's view of the room (seqs, gaps, early events). */
  #resetConnection(): void {
    this.#phase = "welcoming";
    this.#nextSeq = 0;
    this.#replayUntil = 0;
    this.#early = [];
    this.#buffered.clear();
    if (this.#gap !== null) clearTimeout(this.#gap.timer);
    this.#gap = null;
    this.#welcomed = new Promise((resolve) => (this.#resolveWelcomed = resolve));
  }

  /** HELLO until WELCOME, on the current transport; throws ChatTransportError on timeout. */
  async #hello(timeoutMs: number): Promise<void> {
    const started = Date.now();
    const transport = this.#transport;
    this.#receiveLoop(transport);
    const hello = this.#encode({ kind: "hello", lastSeq: 0 });
    while (this.#phase === "welcoming" && !this.#closed) {
      if (this.#stop.signal.aborted || Date.now() - started >= timeoutMs) {
        throw new ChatTransportError(
          `no answer from UDP port ${this.#membership.accepted.udpPort} within ` +
            `${timeoutMs} ms (is UDP blocked?)`,
        );
      }
      transport.send(hello);
      await raceTimeout(
        Promise.race([this.#welcomed, this.#closedInfo]),
        this.#timings.helloIntervalMs,
      );
    }
    if (this.#closed) {
      throw new ChatTransportError("the session closed before the server welcomed it");
    }
  }

  async #receiveLoop(transport: DatagramTransport): Promise<void> {
    while (!this.#closed && transport === this.#transport) {
      const bytes = await transport.receive();
      if (bytes === null || transport !== this.#transport) break;
      let body: ServerBody;
      try {
        body = decodeServerDatagram(bytes);
      } catch (error) {
        if (error instanceof ProtocolError) continue; // garbage is dropped, as the server does
        throw error;
      }
      this.#lastHeardAt = performance.now();
      this.#onDatagram(body);
    }
    if (!this.#closed && transport === this.#transport && this.#phase !== "rejoining") {
      this.#close("lost", "the connection to the server closed");
    }
  }

  #onDatagram(body: ServerBody): void {
    if (this.#phase === "welcoming" && body.kind === "event") {
      this.#early.push(body); // overtook the WELCOME
      return;
    }
    switch (body.kind) {
      case "welcome":
        if (this.#phase === "welcoming") this.#onWelcome(body);
        return; // else an answer to a repeated HELLO
      case "event":
        this.#onEvent(body);
        return;
      case "ack": {
        const pending = this.#pending.get(body.msgId);
        if (pending === undefined) return;
        clearTimeout(pending.timer);
        this.#pending.delete(body.msgId);
        this.#events.push({ type: "delivered", msgId: body.msgId, seq: body.seq });
        return;
      }
      case "closed":
        if (this.#leaveAcked !== null) {
          this.#leaveAcked();
        } else if (body.reason === CloseReason.SHUTDOWN || body.reason === CloseReason.LOST) {
          // The server is going away (a restart, usually), or dropped us while
          // our network was down and can hear us again: try to get back in.
          if (this.#startRejoin(`${describeReason(body.reason)}: ${body.text}`)) return;
        }
        this.#close(body.reason, body.text);
        return;
      case "error":
        if (body.code === 401) {
          const reason = `the server no longer knows this session: ${body.text}`;
          if (this.#phase === "live" && !this.#startRejoin(reason)) this.#close("lost", reason);
        } else {
          this.#events.push({ type: "error", code: body.code, text: body.text });
        }
        return;
    }
  }

  #onWelcome(body: ServerBody & { kind: "welcome" }): void {
    this.#phase = "live";
    this.#host = body.host;
    this.#members = new Set(body.members);
    this.#nextSeq = Math.max(1, body.headSeq - REPLAY_ON_WELCOME + 1);
    this.#replayUntil = body.headSeq;
    this.#resolveWelcomed();
    this.#events.push({
      type: "welcome",
      room: body.room,
      host: body.host,
      members: body.members,
      rejoined: this.#rejoined,
    });
    // Buffer every early event before looking for gaps, so none is asked for again.
    for (const event of this.#early) {
      if (event.kind === "event" && event.seq >= this.#nextSeq) {
        this.#buffered.set(event.seq, event);
      }
    }
    this.#early = [];
    this.#drain();
    this.#checkGap(body.headSeq, true);
    clearInterval(this.#heartbeat);
    const transport = this.#transport;
    // Twice a period: the server drops a member after 3 silent periods, and
    // 3 heartbeats lost in a row happen 0.8% of the time at 20% loss (the
    // chaos suite saw it); 6 in a row, 0.006%.
    this.#heartbeat = setInterval(() => {
      // The highest seq received, not the highest in order: gaps below it are
      // RESEND's job, and counting from the first gap would have the server
      // replay everything already buffered after it.
      let lastSeq = this.#nextSeq - 1;
      for (const seq of this.#buffered.keys()) lastSeq = Math.max(lastSeq, seq);
      transport.send(this.#encode({ kind: "heartbeat", lastSeq }));
    }, (this.#membership.accepted.heartbeatSeconds * 1000) / 2);
    // What was typed while we were away goes out now, with the new token.
    for (const [msgId, pending] of this.#pending) {
      pending.bytes = this.#encode({ kind: "message", msgId, text: pending.text });
      pending.tries = 0;
      this.#transmit(msgId, pending);
    }
  }

  /**
   * Leaves the current connection and starts getting back into the room in
   * the background. False when rejoining is off (the caller closes instead).
   */
  #startRejoin(reason: string): boolean {
    const timeoutMs = this.#timings.rejoinTimeoutMs;
    if (timeoutMs <= 0 || this.#closed) return false;
    if (this.#phase === "rejoining") return true;
    const wasHost = this.#host === this.username;
    this.#phase = "rejoining";
    clearInterval(this.#heartbeat);
    if (this.#gap !== null) clearTimeout(this.#gap.timer);
    this.#gap = null;
    for (const pending of this.#pending.values()) clearTimeout(pending.timer);
    this.#transport.close();
    this.#shownBeforeRejoin = this.#recentlyShown;
    this.#recentlyShown = new Map();
    this.#events.push({ type: "rejoining", reason, timeoutMs });
    this.#rejoin(wasHost, Date.now() + timeoutMs);
    return true;
  }

  async #rejoin(wasHost: boolean, deadline: number): Promise<void> {
    let lastError: unknown = new ChatTransportError("no attempt was made");
    while (!this.#closed && Date.now() < deadline) {
      try {
        const membership = await rejoinRoom({
          server: this.#options.server,
          room: this.room,
          username: this.username,
          password: this.#options.password ?? null,
          capacity: this.#options.capacity ?? null,
          wasHost,
          timeoutMs: deadline - Date.now(),
          retryBaseMs: this.#timings.rejoinRetryMs,
          signal: this.#stop.signal,
          request: requestMembership,
        });
        if (this.#closed) return;
        this.#membership = membership;
        this.#transport = this.#openTransport(membership);
        this.#resetConnection();
        this.#rejoined = true;
        await this.#hello(Math.min(this.#timings.helloTimeoutMs, deadline - Date.now()));
        return;
      } catch (error) {
        lastError = error;
        if (this.#closed || error instanceof ChatRefusedError) break;
        this.#transport.close();
        this.#phase = "rejoining";
      }
    }
    const why = lastError instanceof Error ? lastError.message : String(lastError);
    this.#close("lost", `could not get back into "${this.room}": ${why}`);
  }

  #onEvent(event: ChatEvent): void {
    if (event.seq < this.#nextSeq || this.#buffered.has(event.seq)) return; // duplicate
    this.#buffered.set(event.seq, event);
    this.#drain();
    this.#checkGap(0);
  }

  #drain(): void {
    let next = this.#buffered.get(this.#nextSeq);
    while (next !== undefined) {
      this.#buffered.delete(this.#nextSeq);
      this.#deliver(next);
      this.#nextSeq++;
      next = this.#buffered.get(this.#nextSeq);
    }
  }

  #deliver(event: ChatEvent): void {
    const identity = `${event.timeMs}|${event.type}|${event.name}|${event.text}`;
    if (this.#shownBeforeRejoin.get(event.seq) === identity) {
      // Back in the same room on the same server (we were dropped, it did not
      // restart): WELCOME's replay repeats what was already shown.
      this.#shownBeforeRejoin.delete(event.seq);
      return;
    }
    this.#recentlyShown.set(event.seq, identity);
    if (this.#recentlyShown.size > REPLAY_ON_WELCOME) {
      this.#recentlyShown.delete(this.#recentlyShown.keys().next().value!);
    }
    const time = new Date(event.timeMs);
    const replay = event.seq <= this.#replayUntil;
    const base = { seq: event.seq, time, name: event.name, replay };
    switch (event.type) {
      case EventType.MESSAGE:
        this.#events.push({ type: "message", ...base, text: event.text });
        return;
      case EventType.JOINED:
        this.#members.add(event.name);
        this.#events.push({ type: "joined", ...base });
        return;
      case EventType.LEFT:
        this.#members.delete(event.name);
        this.#events.push({ type: "left", ...base });
        return;
      case EventType.TIMED_OUT:
        this.#members.delete(event.name);
        this.#events.push({ type: "timedOut", ...base });
        return;
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
      if (this.#gap !== null) clearTimeout(this.#gap.timer);
      this.#gap = null;
      return;
    }
    if (this.#gap === null) {
      this.#gap = {
        askedUpTo: this.#nextSeq - 1,
        progressAt: this.#nextSeq,
        tries: 0,
        timer: undefined,
      };
      this.#gap.timer = setTimeout(() => this.#retryGaps(), this.#timings.resendIntervalMs);
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
    if (gap === null || this.#closed) return;
    if (this.#nextSeq > gap.progressAt) {
      gap.progressAt = this.#nextSeq;
      gap.tries = 0; // the oldest gap moved: count afresh
    }
    if (gap.tries >= this.#timings.resendTries) {
      // The server no longer has them (or we cannot reach it): skip ahead, say so.
      const resumeAt = this.#buffered.size > 0
        ? Math.min(...this.#buffered.keys())
        : gap.askedUpTo + 1;
      this.#events.push({ type: "missed", fromSeq: this.#nextSeq, toSeq: resumeAt - 1 });
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
    gap.timer = setTimeout(() => this.#retryGaps(), this.#timings.resendIntervalMs);
  }

  /** One RESEND per run of missing seqs in fromSeq..toSeq (at most 32 of them). */
  #askFor(fromSeq: number, toSeq: number): void {
    let runs = 0;
    let start = -1;
    for (let seq = fromSeq; seq <= toSeq + 1 && runs < MAX_RESEND_RUNS; seq++) {
      const missing = seq <= toSeq && !this.#buffered.has(seq);
      if (missing && start < 0) start = seq;
      if (!missing && start >= 0) {
        this.#transport.send(this.#encode({ kind: "resend", fromSeq: start, toSeq: seq - 1 }));
        runs++;
        start = -1;
      }
    }
  }

  /**
   * Sends a message; returns its msgId. Delivery is reported later as a
   * "delivered" or "undelivered" event. While rejoining, the message waits
   * and goes out once back in the room. Throws RangeError when the text is
   * empty or too long for one datagram.
   */
  send(text: string): number {
    if (this.#closed) throw new ChatTransportError("the session is closed");
    if (text.length === 0) throw new RangeError("a message needs at least one character");
    const msgId = this.#nextMsgId++;
    const bytes = this.#encode({ kind: "message", msgId, text });
    const pending: PendingMessage = { text, bytes, tries: 0, timer: undefined, firstSentAt: 0 };
    this.#pending.set(msgId, pending);
    if (this.#phase === "live") this.#transmit(msgId, pending);
    return msgId;
  }

  #transmit(msgId: number, pending: PendingMessage): void {
    if (this.#closed || this.#phase !== "live") return;
    if (pending.tries >= this.#timings.sendTries) {
      // Nothing at all heard since the first try: the server is gone, not just
      // this message. Keep it, and rejoin (which waits for the server to return).
      if (
        this.#lastHeardAt < pending.firstSentAt && this.#startRejoin("no answer from the server")
      ) {
        return;
      }
      this.#pending.delete(msgId);
      this.#events.push({ type: "undelivered", msgId, text: pending.text });
      return;
    }
    if (pending.tries === 0) pending.firstSentAt = performance.now();
    this.#transport.send(pending.bytes);
    const wait = Math.min(this.#timings.retryBaseMs * 2 ** pending.tries, this.#timings.retryMaxMs);
    pending.tries++;
    pending.timer = setTimeout(() => this.#transmit(msgId, pending), wait);
  }

  /** Messages sent and not yet acknowledged. */
  get unacknowledged(): number {
    return this.#pending.size;
  }

  /**
   * Sends LEAVE (a few times, since it may be lost) and waits briefly for
   * CLOSED; the session is closed when this resolves.
   */
  async leave(): Promise<void> {
    if (this.#closed) return;
    if (this.#phase !== "live") {
      this.#close(CloseReason.LEFT, "you left the room"); // not in a room to leave
      return;
    }
    const acked = new Promise<void>((resolve) => (this.#leaveAcked = resolve));
    const leave = this.#encode({ kind: "leave" });
    for (let i = 0; i < 3 && !this.#closed; i++) {
      this.#transport.send(leave);
      await raceTimeout(acked, this.#timings.retryBaseMs);
    }
    this.#close(CloseReason.LEFT, "you left the room");
  }

  #close(reason: CloseReason | "lost", text: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort();
    clearInterval(this.#heartbeat);
    if (this.#gap !== null) clearTimeout(this.#gap.timer);
    for (const [msgId, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#events.push({ type: "undelivered", msgId, text: pending.text });
    }
    this.#pending.clear();
    this.#transport.close();
    this.#events.push({ type: "closed", reason, text });
    this.#events.end();
    this.#resolveClosed();
  }

  #encode(body: ClientBody): Uint8Array {
    const { token, accepted } = this.#membership;
    const bytes = encodeClientDatagram({ roomName: this.room, token, body });
    if (bytes.length > accepted.maxDatagramBytes) {
      throw new RangeError(
        `message is ${bytes.length} bytes with headers; the server takes ` +
          `${accepted.maxDatagramBytes}`,
      );
    }
    return bytes;
  }
}

function describeReason(reason: CloseReason): string {
  return reason === CloseReason.SHUTDOWN ? "the server shut down" : "the server dropped us";
}
