/**
 * A chat session: one member's life in one room, over whatever connector it
 * is given. It asks for the membership, says HELLO until WELCOME
 * (`welcome.ts`), keeps the membership alive with heartbeats, sends messages
 * until acknowledged (`outbox.ts`), hands out the room's events once each
 * and in order (`inbound.ts`), and gets back into the room when the server
 * forgets it (`rejoin.ts`). A connection with `sealed` params is spoken to
 * in sealed datagrams (`datagram_crypto.ts`, `sealed_channel.ts`): then
 * only authenticated datagrams count, and the server's silence, a stateless
 * reset, a changed key and a room that lost its password have rules of
 * their own (docs/protocol.md 6.3). It does no I/O of its own and uses no
 * runtime-specific API: the connector, the scheduler and the crypto
 * provider are injected, so the same code runs in Deno, in a browser, and
 * in tests on virtual time.
 */
import {
  type ChatEvent,
  type ClientBody,
  CloseReason,
  type ServerBody,
} from "../protocol/datagram.ts";
import { resumeProof } from "../protocol/resume.ts";
import { ServerKeyMismatchError } from "../protocol/sealed_types.ts";
import { Operation, PROTOCOL_REVISION } from "../protocol/tcrp.ts";
import { AsyncQueue } from "./async_queue.ts";
import {
  ChatClosedError,
  type Connection,
  type DatagramChannel,
  describeFatalClose,
  isFatalClose,
  type JoinAccepted,
  type RoomRequest,
} from "./connector.ts";
import { type DatagramLink, type Inbound, plainLink, sealedLink } from "./datagram_crypto.ts";
import { ChatInternalError, ChatRefusedError, ChatTransportError } from "./errors.ts";
import { IdleWarning } from "./idle_warning.ts";
import { InboundOrder } from "./inbound.ts";
import { keepAlive } from "./keepalive.ts";
import { Outbox } from "./outbox.ts";
import { paceOf } from "./pace.ts";
import { RoomView } from "./room_view.ts";
import { type SessionPhase as Phase, SocketResumer } from "./reconnect.ts";
import { checkRejoinAnswer, connectFirst, getBackIn, RejoinStoppedError } from "./rejoin.ts";
import { guardedScheduler, raceTimeout, type Scheduler, systemScheduler } from "./scheduler.ts";
import {
  DEFAULT_TIMINGS,
  type ResumeTicket,
  type SessionEvent,
  type SessionOptions,
  type SessionTimings,
} from "./session_options.ts";
import type { MemberBody } from "./sealed_channel.ts";
import { helloUntilWelcome } from "./welcome.ts";

export { DEFAULT_TIMINGS };
export type { ResumeTicket, SessionEvent, SessionOptions, SessionTimings };

/** LEAVE is sent this many times, `retryBaseMs` apart, until CLOSED comes back. */
const LEAVE_TRIES = 3;

/**
 * A member's live connection to one room.
 *
 * @example
 * ```ts
 * const session = await ChatSession.open({
 *   connector, // e.g. new TcpUdpConnector({ hostname: "127.0.0.1", port: 9001 })
 *   create: false,
 *   room: "general",
 *   username: "ann",
 * });
 * session.send("hello");
 * for await (const event of session) {
 *   if (event.type === "message") console.log(`${event.name}: ${event.text}`);
 * }
 * ```
 */
export class ChatSession {
  /** The room joined. */
  readonly room: string;
  /** Our name in it. */
  readonly username: string;
  #options: SessionOptions;
  #timings: SessionTimings;
  /** Every timer of this session; a throw in one fails the session instead of the program. */
  #scheduler: Scheduler;
  #connection!: Connection;
  /** The current connection's datagrams, plain or sealed. */
  #link!: DatagramLink;
  /** The channel under the link now (a resume replaces it); undefined between sockets. */
  #socket: DatagramChannel | undefined;
  /** Resumes on new sockets (reconnect.ts). */
  #resumer: SocketResumer;
  /** The server key the first connection proved (sealed); every rejoin must meet it. */
  #serverKey: Uint8Array | null = null;
  /** Set when a stateless reset ends the welcome phase under way. */
  #resetDuringWelcome: string | null = null;
  #events = new AsyncQueue<SessionEvent>();
  /**
   * welcoming: HELLO sent, no WELCOME yet; live: in the room; reconnecting:
   * the socket of a reliable connection closed, resuming the same
   * membership on a new one; rejoining: asking for a new membership.
   */
  #phase: Phase = "welcoming";
  #room: RoomView;
  /** Resolves when the current welcome phase ends (WELCOME, or a rejoin started). */
  #welcomePhaseOver!: Promise<void>;
  #endWelcomePhase!: () => void;
  #inbound: InboundOrder;
  #outbox: Outbox;
  #idleWarning: IdleWarning;
  #lastHeardAt = -Infinity;
  #stopHeartbeat: () => void = () => {};
  #closed = false;
  #failure: ChatInternalError | undefined;
  /** Set when the server closed the socket for good (a fatal close code). */
  #closedFor: ChatClosedError | undefined;
  /** Aborted on close: cancels a rejoin under way. */
  #stop = new AbortController();
  #closedPromise: Promise<void>;
  #resolveClosed!: () => void;
  #leaveAcked: (() => void) | null = null;
  #onAbort = () => void this.leave();

  private constructor(options: SessionOptions, timings: SessionTimings, scheduler: Scheduler) {
    this.room = options.room;
    this.username = options.username;
    this.#options = options;
    this.#timings = timings;
    this.#room = new RoomView(options.username, options.create);
    this.#scheduler = guardedScheduler(scheduler, (error) => this.#fail(error));
    this.#closedPromise = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#inbound = new InboundOrder({
      scheduler: this.#scheduler,
      resendIntervalMs: timings.resendIntervalMs,
      resendTries: timings.resendTries,
      askFor: (fromSeq, toSeq) => this.#send({ kind: "resend", fromSeq, toSeq }),
      deliver: (event, replay) => this.#deliver(event, replay),
      missed: (fromSeq, toSeq) => this.#events.push({ type: "missed", fromSeq, toSeq }),
    });
    this.#idleWarning = new IdleWarning({
      scheduler: this.#scheduler,
      warn: (removeInMs) => this.#events.push({ type: "idleWarning", removeInMs }),
    });
    this.#outbox = new Outbox({
      scheduler: this.#scheduler,
      retryBaseMs: timings.retryBaseMs,
      retryMaxMs: timings.retryMaxMs,
      sendTries: timings.sendTries,
      encode: (msgId, text) => this.#encode({ kind: "message", msgId, text }),
      // Sealed: each try is sealed here, under a fresh counter; the msgId stays the key.
      send: (bytes) => this.#link.send(bytes),
      lastHeardAt: () => this.#lastHeardAt,
      delivered: (msgId, seq) => {
        this.#idleWarning.activity();
        this.#events.push({ type: "delivered", msgId, seq });
      },
      undelivered: (msgId, text) => this.#events.push({ type: "undelivered", msgId, text }),
      serverSilent: () => this.#onSilence("no answer from the server"),
      msgIdsUsedUp: () => {
        if (!this.#startRejoin("every msgId of this membership is used")) {
          this.#outbox.giveUpAll();
        }
      },
      lastMsgId: options.lastMsgId,
    });
    this.#resumer = new SocketResumer({
      scheduler: this.#scheduler,
      connector: options.connector,
      signal: this.#stop.signal,
      closed: this.#closedPromise,
      connectTimeoutMs: timings.connectTimeoutMs,
      helloTimeoutMs: timings.helloTimeoutMs,
      connection: () => this.#connection,
      phase: () => this.#phase,
      isClosed: () => this.#closed,
      suspend: (reason) => this.#suspend(reason),
      useSocket: (channel) => {
        this.#socket = channel;
        this.#link.switchTo(channel);
        void this.#receiveLoop(this.#link, channel);
        this.#send({ kind: "hello", lastSeq: this.#inbound.highestSeq });
      },
      dropSocket: (channel) => {
        if (this.#socket === channel) this.#socket = undefined;
        channel.close();
      },
      heartbeat: () => this.#send({ kind: "heartbeat", lastSeq: this.#inbound.highestSeq }),
      heardAt: () => this.#link.heardAt,
      refused: (error) => {
        if (error instanceof ChatRefusedError) this.#close("lost", error.message, error.status);
        else this.#fail(error);
      },
    });
  }

  /**
   * Asks for the membership, then says HELLO until WELCOME. Rejects with
   * `ChatRefusedError` (the server said no), `ChatTransportError` (no
   * answer, no WELCOME) or `ChatInternalError` (a bug).
   */
  static async open(options: SessionOptions): Promise<ChatSession> {
    const timings = { ...DEFAULT_TIMINGS, ...options.timings };
    const scheduler = options.scheduler ?? systemScheduler;
    const request: RoomRequest = {
      operation: options.create ? Operation.CREATE_ROOM : Operation.JOIN_ROOM,
      roomName: options.room,
      username: options.username,
      password: options.password ?? null,
      capacity: options.capacity ?? null,
      protocol: PROTOCOL_REVISION,
    };
    // A page reloaded: take our membership back (the server checks the ticket).
    if (options.resume !== undefined && !options.create) request.resume = options.resume;
    const connection = await connectFirst({
      connector: options.connector,
      request,
      scheduler,
      signal: options.signal,
      timeoutMs: timings.connectTimeoutMs,
      retryBaseMs: timings.rejoinRetryMs,
    });
    const session = new ChatSession(options, timings, scheduler);
    session.#serverKey = connection.sealed?.serverStaticKey ?? null;
    try {
      session.#useConnection(connection);
      await session.#sayHello(timings.helloTimeoutMs);
    } catch (error) {
      session.#close("lost", error instanceof Error ? error.message : String(error));
      throw session.#failure ?? session.#closedFor ?? error;
    }
    if (options.signal?.aborted) await session.leave(); // aborted while we said HELLO
    else options.signal?.addEventListener("abort", session.#onAbort, { once: true });
    return session;
  }

  /** The server's settings from the latest membership. */
  get accepted(): JoinAccepted {
    return this.#connection.accepted;
  }

  /** The host's name. */
  get host(): string {
    return this.#room.host;
  }

  /** Members as far as this session knows, in join order. */
  get members(): string[] {
    return this.#room.members;
  }

  /** Messages not yet acknowledged: sent, or waiting for the pace or the window. */
  get unacknowledged(): number {
    return this.#outbox.size;
  }

  /**
   * What takes this membership back after a page reload (a sealed session;
   * null for a plain one): keep it per tab, never with the password.
   */
  get resumeTicket(): ResumeTicket | null {
    const sealed = this.#connection.sealed;
    const crypto = this.#options.crypto;
    if (sealed === undefined || crypto === undefined) return null;
    return {
      sessionId: sealed.sessionId.slice(),
      proof: resumeProof(crypto, sealed.clientKey, sealed.sessionId),
    };
  }

  /**
   * The page is back (online, visible, shown again): while resuming, the
   * next attempt is made now; while live on a reliable connection, a
   * HEARTBEAT goes out, and when nothing authenticated comes back within
   * 5 s the socket is taken for dead and the session resumes on a new one.
   * Otherwise nothing.
   */
  nudge(): void {
    if (this.#resumable()) this.#resumer.nudge();
  }

  /** Resolves once the session has closed for any reason. */
  get closed(): Promise<void> {
    return this.#closedPromise;
  }

  /** Why the session closed when its own code (or a part it was given) failed. */
  get failure(): ChatInternalError | undefined {
    return this.#failure;
  }

  /** Events in order; the iteration ends after the "closed" event. */
  [Symbol.asyncIterator](): AsyncIterator<SessionEvent> {
    return this.#events[Symbol.asyncIterator]();
  }

  /**
   * Sends a message; returns its msgId. Delivery is reported later as a
   * "delivered" or "undelivered" event. While rejoining, the message waits
   * and goes out once back in the room. Throws RangeError when the text is
   * empty or too long for one datagram, ChatTransportError once closed.
   */
  send(text: string): number {
    if (this.#closed) throw new ChatTransportError("the session is closed");
    if (text.length === 0) throw new RangeError("a message needs at least one character");
    return this.#outbox.add(text);
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
    const { reliable } = this.#connection;
    const link = this.#link;
    const leave = link.encode({ kind: "leave" });
    for (let i = 0; i < LEAVE_TRIES && !this.#closed; i++) {
      if (i === 0 || !reliable) link.send(leave); // sealed: a fresh counter each time
      await raceTimeout(this.#scheduler, acked, this.#timings.retryBaseMs);
    }
    this.#close(CloseReason.LEFT, "you left the room");
  }

  /** Starts talking over a new connection: the welcome phase begins. */
  #useConnection(connection: Connection): void {
    const link = this.#linkFor(connection);
    this.#connection = connection;
    this.#link = link;
    this.#socket = connection.channel;
    this.#phase = "welcoming";
    this.#resetDuringWelcome = null;
    this.#inbound.stop();
    this.#welcomePhaseOver = new Promise((resolve) => (this.#endWelcomePhase = resolve));
    void this.#receiveLoop(link, connection.channel);
  }

  /** The plain or sealed link for `connection`. */
  #linkFor(connection: Connection): DatagramLink {
    if (connection.sealed === undefined) return plainLink(connection, this.room);
    const crypto = this.#options.crypto;
    if (crypto === undefined) {
      connection.channel.close();
      throw new ChatInternalError("a sealed connection needs the session's crypto option");
    }
    return sealedLink(connection, {
      crypto,
      scheduler: this.#scheduler,
      // A room datagram of an epoch we have no key for: we missed a KEY, and WELCOME has it.
      askForKey: () => this.#send({ kind: "hello", lastSeq: this.#inbound.highestSeq }),
      exhausted: () =>
        this.#scheduler.setTimeout(
          () => this.#close("lost", "this membership's datagram counter is used up; join again"),
          0,
        ),
      firstCounter: this.#options.firstCounter,
    });
  }

  /** HELLO until WELCOME on the current connection; throws ChatTransportError on timeout. */
  #sayHello(timeoutMs: number): Promise<void> {
    const link = this.#link;
    const hello = link.encode({ kind: "hello", lastSeq: 0 });
    return helloUntilWelcome({
      scheduler: this.#scheduler,
      sendHello: () => link.send(hello),
      intervalMs: this.#timings.helloIntervalMs,
      timeoutMs,
      reliable: this.#connection.reliable,
      udpPort: this.#connection.accepted.udpPort,
      settled: Promise.race([this.#welcomePhaseOver, this.#closedPromise]),
      isWelcomed: () => this.#phase !== "welcoming",
      isClosed: () => this.#closed,
      abandoned: () => this.#resetDuringWelcome,
    });
  }

  /**
   * Reads one link on one socket until it closes or either is replaced.
   * Anything unexpected (a decoding bug, a throw while handling a datagram,
   * a channel or a crypto provider that rejects) ends the session as lost
   * rather than escaping as an unhandled rejection.
   */
  async #receiveLoop(link: DatagramLink, socket: DatagramChannel): Promise<void> {
    const current = () => !this.#closed && link === this.#link && socket === this.#socket;
    try {
      while (current()) {
        const inbound = await link.receive();
        if (inbound === null || !current()) break;
        this.#onInbound(inbound);
      }
      if (current()) this.#onChannelEnd(socket);
    } catch (error) {
      if (current()) this.#fail(error);
    }
  }

  /** The current socket closed under us (not by our own hand). */
  #onChannelEnd(socket: DatagramChannel): void {
    if (this.#phase === "rejoining") return;
    const info = socket.closeInfo ?? null;
    if (info !== null && isFatalClose(info.code)) {
      this.#close("lost", describeFatalClose(info), info.code);
      return;
    }
    const why = info === null
      ? "the connection to the server closed"
      : `the connection to the server closed (${info.code}${
        info.reason ? `: ${info.reason}` : ""
      })`;
    if (this.#phase === "reconnecting") {
      this.#resumer.attemptOver(); // this attempt failed; the loop tries again
    } else if (this.#phase === "welcoming" && this.#connection.reliable) {
      this.#resetDuringWelcome = why; // the HELLO cannot be answered: this attempt is over
      this.#endWelcomePhase();
    } else if (this.#phase === "live" && this.#resumable()) {
      this.#resumer.start(why);
    } else {
      this.#close("lost", why);
    }
  }

  /** A reliable connection whose socket the connector can open again. */
  #resumable(): boolean {
    return this.#connection.reliable && this.#options.connector.reconnect !== undefined;
  }

  /** Nothing authenticated for too long: resume on a new socket when we can, else rejoin. */
  #onSilence(reason: string): boolean {
    if (this.#phase === "live" && this.#resumable()) {
      this.#resumer.start(reason);
      return true;
    }
    return this.#startRejoin(reason);
  }

  /**
   * Live → reconnecting (docs/protocol.md 7.5): heartbeats stop, messages
   * and gaps wait, the socket is dropped; the resumer opens new ones.
   */
  #suspend(reason: string): void {
    this.#phase = "reconnecting";
    this.#stopHeartbeat();
    this.#inbound.pause();
    this.#outbox.pause();
    const socket = this.#socket;
    this.#socket = undefined; // its receive loop ends quietly
    socket?.close();
    this.#events.push({ type: "reconnecting", reason });
  }

  /** The WELCOME of a resume: back in, same membership; missed events come as replays. */
  #onResumed(body: MemberBody & { kind: "welcome" }): void {
    this.#phase = "live";
    this.#room.resumed(body);
    this.#inbound.resume();
    this.#inbound.head(body.headSeq);
    this.#startHeartbeat();
    this.#outbox.resendOutstanding();
    this.#events.push({ type: "reconnected" });
    this.#resumer.stop(); // the attempt under way is over: back in
  }

  #onInbound(inbound: Inbound): void {
    if (inbound.from === "reset") {
      this.#onReset();
      return;
    }
    this.#lastHeardAt = this.#scheduler.now();
    if (inbound.from === "room") this.#inbound.receive(inbound.body);
    else this.#onDatagram(inbound.body, inbound.from === "member");
  }

  /** A stateless reset with our token: the server no longer knows this session. */
  #onReset(): void {
    const reason = "the server no longer knows this session (it restarted?)";
    // Leaving, and the server forgot us (its CLOSED was lost): the leave is done, not a rejoin.
    if (this.#leaveAcked !== null) return this.#leaveAcked();
    if (this.#phase === "welcoming") {
      this.#resetDuringWelcome = reason; // this HELLO cannot succeed: ask for a membership again
      this.#endWelcomePhase();
    } else if (this.#inRoom() && !this.#startRejoin(reason)) {
      this.#close("lost", reason);
    }
  }

  /** Live, or resuming the same membership on a new socket. */
  #inRoom(): boolean {
    return this.#phase === "live" || this.#phase === "reconnecting";
  }

  /** `fromServer`: it came over the member channel, so its head seq may move ours. */
  #onDatagram(body: ServerBody | MemberBody, fromServer: boolean): void {
    switch (body.kind) {
      case "event":
        this.#inbound.receive(body); // kept until WELCOME if it overtook it
        return;
      case "welcome":
        if (this.#phase === "welcoming") this.#onWelcome(body);
        else if (this.#phase === "reconnecting" && fromServer) this.#onResumed(body);
        // Else an answer to a repeated HELLO, or to one asking for a key we missed.
        else if (fromServer) this.#inbound.head(body.headSeq);
        return;
      case "heartbeatAck":
        if (fromServer) this.#inbound.head(body.headSeq);
        return;
      case "ack":
        this.#outbox.acknowledge(body.msgId, body.seq);
        return;
      case "refused":
        // Final ones come out as "undelivered"; 429 is sent again later. Never an "error".
        this.#outbox.refused(body.msgId, body.code);
        return;
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
          // Leaving, and the CLOSED was lost: the server already forgot us, which is the point.
          if (this.#leaveAcked !== null) return this.#leaveAcked();
          const reason = `the server no longer knows this session: ${body.text}`;
          if (this.#inRoom() && !this.#startRejoin(reason)) this.#close("lost", reason);
        } else {
          this.#events.push({ type: "error", code: body.code, text: body.text });
        }
        return;
    }
  }

  #onWelcome(body: MemberBody & { kind: "welcome" }): void {
    this.#phase = "live";
    this.#endWelcomePhase();
    this.#events.push(this.#room.welcomed(body));
    this.#inbound.start(body.headSeq);
    this.#idleWarning.start(this.#connection.accepted.idleTimeoutSeconds);
    this.#startHeartbeat();
    // What was typed while we were away goes out now, with the new token.
    this.#outbox.resume(
      this.#connection.reliable,
      paceOf(this.#connection.accepted, this.#timings),
    );
  }

  /** HEARTBEAT twice a period; a sealed server's silence resumes or rejoins (keepalive.ts). */
  #startHeartbeat(): void {
    this.#stopHeartbeat();
    this.#stopHeartbeat = keepAlive({
      scheduler: this.#scheduler,
      heartbeatSeconds: this.#connection.accepted.heartbeatSeconds,
      link: this.#link,
      beat: () => this.#send({ kind: "heartbeat", lastSeq: this.#inbound.highestSeq }),
      silent: (reason) => {
        if (!this.#onSilence(reason)) this.#close("lost", reason);
      },
      // A hidden tab's timers may run once a minute: count from a beat left unanswered.
      fromUnansweredBeat: this.#connection.reliable,
    });
  }

  #deliver(event: ChatEvent, replay: boolean): void {
    const shown = this.#room.eventOf(event, replay);
    if (shown !== null) this.#events.push(shown);
  }

  /**
   * Leaves the current connection and starts getting back into the room in
   * the background. False when rejoining is off (the caller closes instead).
   */
  #startRejoin(reason: string): boolean {
    const timeoutMs = this.#timings.rejoinTimeoutMs;
    if (timeoutMs <= 0 || this.#closed) return false;
    if (this.#phase === "rejoining") return true;
    this.#phase = "rejoining";
    this.#resumer.stop();
    this.#endWelcomePhase();
    this.#stopHeartbeat();
    this.#idleWarning.stop();
    this.#inbound.stop();
    this.#outbox.pause();
    this.#link.close();
    this.#room.rejoining();
    this.#events.push({ type: "rejoining", reason, timeoutMs });
    getBackIn({
      connector: this.#options.connector,
      scheduler: this.#scheduler,
      room: this.room,
      username: this.username,
      password: this.#options.password ?? null,
      capacity: this.#options.capacity ?? null,
      wasHost: this.#room.isHost,
      deadline: this.#scheduler.now() + timeoutMs,
      retryBaseMs: this.#timings.rejoinRetryMs,
      signal: this.#stop.signal,
      isClosed: () => this.#closed,
      welcome: async (connection, timeoutMs) => {
        const expected = {
          serverKey: this.#serverKey,
          hadPassword: (this.#options.password ?? "") !== "",
          room: this.room,
        };
        try {
          checkRejoinAnswer(expected, connection, () => {
            // Give the membership back at once rather than let it time out.
            const link = this.#linkFor(connection);
            link.send(link.encode({ kind: "leave" }));
          });
        } catch (error) {
          connection.channel.close();
          throw error;
        }
        this.#useConnection(connection);
        this.#room.rejoined();
        try {
          await this.#sayHello(Math.min(this.#timings.helloTimeoutMs, timeoutMs));
        } catch (error) {
          this.#link.close();
          this.#phase = "rejoining";
          throw error;
        }
      },
    }).catch((error) => {
      if (this.#closed) return;
      if (
        error instanceof ChatRefusedError || error instanceof ChatTransportError ||
        error instanceof ServerKeyMismatchError || error instanceof RejoinStoppedError
      ) {
        // Messages still waiting are reported undelivered as the session closes.
        const text = `could not get back into "${this.room}": ${error.message}`;
        this.#close("lost", text, error instanceof ChatClosedError ? error.closeCode : undefined);
      } else {
        this.#fail(error);
      }
    });
    return true;
  }

  /** Our own code, or a part we were given, threw: close as lost, and say what it was. */
  #fail(error: unknown): void {
    if (this.#closed) return;
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.#failure = new ChatInternalError(`unexpected error in the chat client: ${what}`, {
      cause: error,
    });
    this.#close("lost", this.#failure.message);
  }

  #close(reason: CloseReason | "lost", text: string, closeCode?: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort();
    this.#resumer.stop();
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
    this.#stopHeartbeat();
    this.#idleWarning.stop();
    this.#inbound.stop();
    this.#outbox.giveUpAll();
    try {
      this.#link?.close();
    } catch { /* closing anyway; a channel that cannot close has nothing more to say */ }
    if (closeCode !== undefined) this.#closedFor = new ChatClosedError(closeCode, text);
    this.#events.push({
      type: "closed",
      reason,
      text,
      ...(closeCode !== undefined ? { closeCode } : {}),
    });
    this.#events.end();
    this.#resolveClosed();
  }

  #send(body: ClientBody): void {
    this.#link.send(this.#encode(body));
  }

  /** What the link sends for `body`; throws RangeError when it cannot fit. */
  #encode(body: ClientBody): Uint8Array {
    return this.#link.encode(body);
  }
}

function describeReason(reason: CloseReason): string {
  return reason === CloseReason.SHUTDOWN ? "the server shut down" : "the server dropped us";
}
