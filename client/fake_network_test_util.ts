/**
 * A scripted network for session tests, on virtual time: a connector whose
 * answers the test chooses, and channels that record what the session sends
 * and hand it whatever server datagrams the test injects. No server, no
 * sockets, no real time. With a {@linkcode FakeSealedServer} the connector
 * hands out sealed connections, and the channels seal and open as a sealed
 * server would (`fake_sealed_server_test_util.ts`).
 */
import assert from "node:assert/strict";
import {
  CloseReason,
  decodeClientDatagram,
  encodeServerDatagram,
  EventType,
  type ServerBody,
} from "../protocol/datagram.ts";
import type { SealedClientBody } from "../protocol/sealed_datagram.ts";
import { ServerKeyMismatchError } from "../protocol/sealed_types.ts";
import type {
  Connection,
  ConnectOptions,
  Connector,
  DatagramChannel,
  JoinAccepted,
  RoomRequest,
} from "./connector.ts";
import { ChatTransportError } from "./errors.ts";
import type { FakeSealedServer } from "./fake_sealed_server_test_util.ts";
import type { Scheduler } from "./scheduler.ts";
import { ChatSession, type SessionEvent, type SessionOptions } from "./session.ts";
import { VirtualClock } from "../testing/virtual_time.ts";

export const ROOM = "lobby";
export const USER = "alice";

/** The server's answer unless a test says otherwise. */
export const ACCEPTED: JoinAccepted = {
  status: 200,
  udpPort: 9002,
  maxDatagramBytes: 4096,
  heartbeatSeconds: 10,
  idleTimeoutSeconds: 300,
};

/** One datagram the session sent, decoded, with its token's first byte and when it was sent. */
export interface Sent {
  body: SealedClientBody;
  /**
   * Which connection's token (or sealed session id) it carried: they are
   * filled with the connection's number.
   */
  tokenByte: number;
  atMs: number;
}

/** How the far end reads and writes datagrams: plain, or as a sealed server. */
export interface FakeWire {
  /** What the server makes of the bytes the client put on the wire (asserting they are well formed). */
  fromClient(bytes: Uint8Array): { body: SealedClientBody; tokenByte: number };
  /** What the server puts on the wire for a datagram. */
  toClient(body: ServerBody): Uint8Array;
}

/** The plain protocol: room name and token in, server datagrams out as they are. */
export const PLAIN_WIRE: FakeWire = {
  fromClient(bytes) {
    const datagram = decodeClientDatagram(bytes);
    assert.equal(datagram.roomName, ROOM);
    assert.equal(datagram.token.length, 32);
    return { body: datagram.body, tokenByte: datagram.token[0]! };
  },
  toClient: (body) => encodeServerDatagram(body),
};

/**
 * A scripted channel: records what the session sends (decoded) and hands it
 * whatever server datagrams the test injects, in the order injected.
 */
export class FakeChannel implements DatagramChannel {
  readonly sent: Sent[] = [];
  /** The bytes as they went on the wire. */
  readonly onWire: Uint8Array[] = [];
  closed = false;
  /** Answer LEAVE with CLOSED 5, as the server does. */
  answerLeave = true;
  readonly local = { hostname: "127.0.0.1", port: 40_000 };
  #clock: Scheduler;
  /** How this channel's far end reads and writes. */
  readonly wire: FakeWire;
  /** When set, send() throws it (a channel failing under the session). */
  sendThrows: Error | null = null;
  #inbox: Uint8Array[] = [];
  #failure: Error | null = null;
  #waiting: { resolve: (bytes: Uint8Array | null) => void; reject: (error: Error) => void } | null =
    null;

  constructor(clock: Scheduler, wire: FakeWire = PLAIN_WIRE) {
    this.#clock = clock;
    this.wire = wire;
  }

  send(bytes: Uint8Array): void {
    if (this.sendThrows !== null) throw this.sendThrows;
    if (this.closed) return;
    this.onWire.push(bytes);
    const { body, tokenByte } = this.wire.fromClient(bytes);
    this.sent.push({ body, tokenByte, atMs: this.#clock.now() });
    if (body.kind === "leave" && this.answerLeave) {
      this.inject({ kind: "closed", reason: CloseReason.LEFT, text: "you left the room" });
    }
  }

  receive(): Promise<Uint8Array | null> {
    const next = this.#inbox.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
  }

  /** Makes the pending (or next) receive reject with `error`, as a broken channel would. */
  failReceive(error: Error): void {
    this.#failure = error;
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.reject(error);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#wake(null);
  }

  /** Delivers one server datagram to the session (sealed by a sealed wire). */
  inject(body: ServerBody): void {
    this.injectBytes(this.wire.toClient(body));
  }

  /** Delivers raw bytes, garbage included. */
  injectBytes(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.#waiting !== null) this.#wake(bytes);
    else this.#inbox.push(bytes);
  }

  #wake(bytes: Uint8Array | null): void {
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.resolve(bytes);
  }

  /** Bodies of one kind sent so far. */
  of<K extends SealedClientBody["kind"]>(kind: K): Extract<SealedClientBody, { kind: K }>[] {
    return this.sent.map((s) => s.body).filter((b): b is Extract<SealedClientBody, { kind: K }> =>
      b.kind === kind
    );
  }

  /** When each datagram of one kind was sent. */
  timesOf(kind: SealedClientBody["kind"]): number[] {
    return this.sent.filter((s) => s.body.kind === kind).map((s) => s.atMs);
  }
}

/** What the fake server answers a membership request with. */
export type ConnectAnswer = "ok" | Error;

/**
 * A scripted connector: each request takes the next answer from `answers`
 * ("ok" when they run out, unless `otherwise` says else); each success opens
 * a new {@linkcode FakeChannel} whose token is filled with the connection's
 * number (1, 2, ...). With `sealed` set, connections are sealed ones from
 * that server, and the connector behaves as a sealed connector must: it
 * keeps the server key it first accepted, and a request that meets another
 * is refused (ServerKeyMismatchError) before it goes out, and not recorded.
 */
export class FakeConnector implements Connector {
  readonly requests: RoomRequest[] = [];
  readonly channels: FakeChannel[] = [];
  /** When each request was made. */
  readonly requestTimes: number[] = [];
  answers: ConnectAnswer[] = [];
  otherwise: ConnectAnswer = "ok";
  reliable = false;
  accepted: JoinAccepted = ACCEPTED;
  /** The sealed server behind this connector; null: plain. */
  sealed: FakeSealedServer | null = null;
  /** A sealed connector keeps the first key; false plays one that forgets to (the session must still refuse). */
  keepsServerKey = true;
  /** Requests stopped because the server proved another key. */
  keyRefusals = 0;
  #acceptedKey: Uint8Array | null = null;
  #clock: Scheduler;

  constructor(clock: Scheduler) {
    this.#clock = clock;
  }

  connect(request: RoomRequest, options: ConnectOptions): Promise<Connection> {
    if (this.sealed !== null && this.keepsServerKey) {
      const proved = this.sealed.staticKey;
      if (this.#acceptedKey !== null && proved.some((byte, i) => byte !== this.#acceptedKey![i])) {
        this.keyRefusals++;
        return Promise.reject(
          new ServerKeyMismatchError(this.#acceptedKey, proved, "the server's key changed"),
        );
      }
    }
    this.requests.push(request);
    this.requestTimes.push(this.#clock.now());
    if (options.signal?.aborted) {
      return Promise.reject(new ChatTransportError("cancelled"));
    }
    const answer = this.answers.shift() ?? this.otherwise;
    if (answer instanceof Error) return Promise.reject(answer);
    const number = this.channels.length + 1;
    if (this.sealed !== null) {
      this.#acceptedKey ??= this.sealed.staticKey;
      const { params, wire } = this.sealed.admit(number, request);
      const channel = new FakeChannel(this.#clock, wire);
      this.channels.push(channel);
      return Promise.resolve({
        accepted: this.accepted,
        token: new Uint8Array(0),
        channel,
        reliable: this.reliable,
        sealed: params,
      });
    }
    const channel = new FakeChannel(this.#clock);
    this.channels.push(channel);
    return Promise.resolve({
      accepted: this.accepted,
      token: new Uint8Array(32).fill(number),
      channel,
      reliable: this.reliable,
    });
  }

  /** The newest channel. */
  get channel(): FakeChannel {
    const channel = this.channels.at(-1);
    assert.ok(channel !== undefined, "no channel opened yet");
    return channel;
  }
}

/** Reads a session's events in the background, so a test can look at them. */
export class EventCollector {
  readonly events: SessionEvent[] = [];
  readonly done: Promise<void>;
  #ended = false;

  constructor(session: ChatSession) {
    this.done = (async () => {
      for await (const event of session) this.events.push(event);
      this.#ended = true;
    })();
  }

  get ended(): boolean {
    return this.#ended;
  }

  of<T extends SessionEvent["type"]>(type: T): (SessionEvent & { type: T })[] {
    return this.events.filter((e): e is SessionEvent & { type: T } => e.type === type);
  }

  /** Seqs of delivered room events (message, joined, left, timedOut), in delivery order. */
  seqs(): number[] {
    return this.events.flatMap((e) => ("seq" in e && e.type !== "delivered" ? [e.seq] : []));
  }

  /** The last event, which must be "closed". */
  closedEvent(): SessionEvent & { type: "closed" } {
    const last = this.events.at(-1);
    assert.equal(last?.type, "closed");
    return last as SessionEvent & { type: "closed" };
  }
}

/** A MESSAGE event from bob with a fixed time per seq. */
export function message(seq: number, text = `m${seq}`, name = "bob"): ServerBody {
  return {
    kind: "event",
    seq,
    timeMs: 1_700_000_000_000 + seq,
    type: EventType.MESSAGE,
    name,
    text,
  };
}

/** A WELCOME for our room (with us as host unless `host` says otherwise). */
export function welcome(headSeq: number, members = [USER], host = USER): ServerBody {
  return { kind: "welcome", headSeq, room: ROOM, host, members };
}

/** A session under test, with its clock and network. */
export interface Harness {
  clock: VirtualClock;
  connector: FakeConnector;
  /** The first connection's channel. */
  fake: FakeChannel;
  session: ChatSession;
  events: EventCollector;
}

/** How {@linkcode withSession} sets things up. */
export interface HarnessOptions {
  /** The clock to run on (a test whose parts need it before the session opens); default a new one. */
  clock?: VirtualClock;
  /** Session options over the defaults (create "lobby" as "alice"). */
  session?: Partial<Omit<SessionOptions, "connector" | "scheduler">>;
  /** Sets up the connector before anything is sent. */
  network?: (connector: FakeConnector) => void;
  /** Runs while open() is still waiting for WELCOME; must inject one. Default: WELCOME, headSeq 0. */
  beforeWelcome?: (fake: FakeChannel, clock: VirtualClock) => Promise<void> | void;
}

/**
 * Starts opening a session over a {@linkcode FakeConnector} on a
 * {@linkcode VirtualClock} (creating "lobby" as "alice" unless told
 * otherwise); the test drives the clock and the network from there. A
 * rejection of `opening` is the test's to check; it is not unhandled meanwhile.
 */
export function startOpening(
  options: Omit<HarnessOptions, "beforeWelcome"> = {},
): { clock: VirtualClock; connector: FakeConnector; opening: Promise<ChatSession> } {
  const clock = options.clock ?? new VirtualClock();
  const connector = new FakeConnector(clock);
  options.network?.(connector);
  const opening = ChatSession.open({
    connector,
    scheduler: clock,
    create: true,
    room: ROOM,
    username: USER,
    ...options.session,
  });
  opening.catch(() => {});
  return { clock, connector, opening };
}

/**
 * Opens a session over a {@linkcode FakeConnector} on a {@linkcode VirtualClock},
 * runs `body`, then leaves (if still open), waits for the events to end, and
 * checks that the closed session left no timer armed.
 */
export async function withSession(
  options: HarnessOptions,
  body: (h: Harness) => Promise<void> | void,
): Promise<void> {
  const { clock, connector, opening } = startOpening(options);
  await clock.settle();
  const fake = connector.channel;
  if (options.beforeWelcome) await options.beforeWelcome(fake, clock);
  else fake.inject(welcome(0));
  const session = await opening;
  await runThenLeave(clock, session, (events) => body({ clock, connector, fake, session, events }));
}

/**
 * Runs `body` with an {@linkcode EventCollector} on an open `session`, then
 * leaves (if still open), waits for the events to end, and checks that the
 * closed session left no timer armed: the end of every session harness.
 */
export async function runThenLeave(
  clock: VirtualClock,
  session: ChatSession,
  body: (events: EventCollector) => Promise<void> | void,
): Promise<void> {
  const events = new EventCollector(session);
  let closed = false;
  session.closed.then(() => (closed = true));
  try {
    await body(events);
  } finally {
    const leaving = session.leave();
    await clock.runUntil(() => closed, "the session to close");
    await leaving;
    await events.done;
  }
  assert.equal(clock.pendingTimers, 0, "a closed session leaves no timer armed");
}
