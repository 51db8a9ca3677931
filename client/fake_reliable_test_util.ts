/**
 * A scripted reliable transport for session tests, on virtual time: a
 * connector whose connections are sealed (`fake_sealed_server_test_util.ts`),
 * reliable, and whose sockets the test closes with any close code, as a
 * WebSocket's would be; `reconnect` opens a new socket for the same sealed
 * session (same wire: its counters must never repeat across sockets).
 */
import assert from "node:assert/strict";
import type { RoomRequest } from "../protocol/tcrp.ts";
import type {
  ChannelCloseInfo,
  Connection,
  ConnectOptions,
  Connector,
  DatagramChannel,
} from "./connector.ts";
import { ChatTransportError } from "./errors.ts";
import {
  ACCEPTED,
  EventCollector,
  FakeChannel,
  ROOM,
  runThenLeave,
  USER,
  welcome,
} from "./fake_network_test_util.ts";
import {
  FakeSealedServer,
  type FakeSealedWire,
  TEST_CRYPTO,
} from "./fake_sealed_server_test_util.ts";
import { ChatSession, type SessionOptions } from "./session.ts";
import { VirtualClock } from "../testing/virtual_time.ts";

/** A socket of one sealed session: the test closes it as the server or the network would. */
export class FakeSocket extends FakeChannel {
  closeInfo: ChannelCloseInfo | null = null;
  /** The sealed session this socket carries. */
  readonly sealedWire: FakeSealedWire;
  /** Answer each HEARTBEAT with HEARTBEAT_ACK (head seq 0), as a live server does. */
  answerHeartbeats = false;

  constructor(clock: VirtualClock, wire: FakeSealedWire) {
    super(clock, wire);
    this.sealedWire = wire;
  }

  override send(bytes: Uint8Array): void {
    super.send(bytes);
    if (this.answerHeartbeats && this.sent.at(-1)?.body.kind === "heartbeat") {
      this.injectBytes(this.sealedWire.heartbeatAck(0));
    }
  }

  /** The far end closes the socket with `code` (1006: it dropped without a close frame). */
  closeFromServer(code: number, reason = ""): void {
    if (this.closed) return;
    this.closeInfo = { code, reason };
    this.close();
  }
}

/** What one `reconnect` call does: open a socket, fail, or never answer. */
export type ReconnectAnswer = "ok" | "hang" | Error | ((socket: FakeSocket) => void);

/**
 * A reliable connector to one fake sealed server. Every `connect` admits a
 * new sealed session (session id filled with its number); every
 * `reconnect` opens another socket for the connection's session.
 */
export class FakeReliableConnector implements Connector {
  readonly server = new FakeSealedServer();
  readonly requests: RoomRequest[] = [];
  /** Every socket, in the order opened (connect and reconnect alike). */
  readonly sockets: FakeSocket[] = [];
  /** When each reconnect was called. */
  readonly reconnectTimes: number[] = [];
  /** Answers for the next connect calls (an Error rejects); "ok" when they run out. */
  connectAnswers: ("ok" | Error)[] = [];
  /** Answers for the next reconnect calls; "ok" when they run out. */
  reconnectAnswers: ReconnectAnswer[] = [];
  #clock: VirtualClock;

  constructor(clock: VirtualClock) {
    this.#clock = clock;
  }

  connect(request: RoomRequest, options: ConnectOptions): Promise<Connection> {
    this.requests.push(request);
    if (options.signal?.aborted) return Promise.reject(new ChatTransportError("cancelled"));
    const answer = this.connectAnswers.shift() ?? "ok";
    if (answer instanceof Error) return Promise.reject(answer);
    const { params, wire } = this.server.admit(this.server.wires.length + 1, request);
    const socket = this.#open(wire);
    return Promise.resolve({
      accepted: ACCEPTED,
      token: new Uint8Array(0),
      channel: socket,
      reliable: true,
      sealed: params,
    });
  }

  reconnect(connection: Connection, options: ConnectOptions): Promise<DatagramChannel> {
    this.reconnectTimes.push(this.#clock.now());
    const wire = this.server.wires.find((w) => w.params === connection.sealed);
    assert.ok(wire !== undefined, "reconnect names a session this server admitted");
    const answer = this.reconnectAnswers.shift() ?? "ok";
    if (answer instanceof Error) return Promise.reject(answer);
    if (answer === "hang") {
      return new Promise((_, reject) =>
        options.signal?.addEventListener(
          "abort",
          () => reject(new ChatTransportError("cancelled")),
          { once: true },
        )
      );
    }
    const socket = this.#open(wire);
    if (typeof answer === "function") answer(socket);
    return Promise.resolve(socket);
  }

  /** The newest socket. */
  get socket(): FakeSocket {
    const socket = this.sockets.at(-1);
    assert.ok(socket !== undefined, "no socket opened yet");
    return socket;
  }

  #open(wire: FakeSealedWire): FakeSocket {
    const socket = new FakeSocket(this.#clock, wire);
    this.sockets.push(socket);
    return socket;
  }
}

/** A session over a {@linkcode FakeReliableConnector}, with its clock and events. */
export interface ReliableHarness {
  clock: VirtualClock;
  connector: FakeReliableConnector;
  session: ChatSession;
  events: EventCollector;
}

/**
 * Opens a sealed session (joining "lobby" as "alice") over a reliable fake
 * connector, welcomed with headSeq 0 on its first socket; runs `body`;
 * then leaves if still open and checks that no timer is left armed.
 */
export async function withReliableSession(
  options: Partial<Omit<SessionOptions, "connector" | "scheduler">>,
  body: (h: ReliableHarness) => Promise<void> | void,
): Promise<void> {
  const clock = new VirtualClock();
  const connector = new FakeReliableConnector(clock);
  const opening = ChatSession.open({
    connector,
    scheduler: clock,
    crypto: TEST_CRYPTO,
    create: false,
    room: ROOM,
    username: USER,
    ...options,
  });
  opening.catch(() => {});
  await clock.settle();
  connector.socket.inject(welcome(0, [USER, "bob"], "bob"));
  const session = await opening;
  await runThenLeave(clock, session, (events) => body({ clock, connector, session, events }));
}
