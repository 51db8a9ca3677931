/**
 * ChatSession's protocol logic over a scripted transport: a real server does
 * the TCRP handshake (ChatSession.open always starts with it), then every
 * datagram either way goes through a fake the test controls.
 */
import assert from "node:assert/strict";
import {
  type ClientBody,
  CloseReason,
  decodeClientDatagram,
  encodeServerDatagram,
  EventType,
  type ServerBody,
} from "../protocol/datagram.ts";
import type { ChatServer } from "../server/server.ts";
import type { ServerConfig } from "../server/config.ts";
import { startTestServer } from "../testing/test_server.ts";
import { sleep, waitUntil } from "../testing/wait.ts";
import { ChatTransportError } from "./errors.ts";
import { ChatSession, type SessionEvent, type SessionTimings } from "./session.ts";
import type { DatagramTransport } from "./transport.ts";

const ROOM = "lobby";
const USER = "alice";

/** One datagram the session sent, decoded, with when it was sent. */
interface Sent {
  body: ClientBody;
  atMs: number;
}

/**
 * A scripted DatagramTransport: records what the session sends and hands it
 * whatever server datagrams the test injects, in the order injected.
 */
class FakeTransport implements DatagramTransport {
  readonly sent: Sent[] = [];
  closed = false;
  /** Answer LEAVE with CLOSED 5, as the server does. */
  answerLeave = true;
  #inbox: Uint8Array[] = [];
  #waiting: ((bytes: Uint8Array | null) => void) | null = null;

  send(bytes: Uint8Array): void {
    if (this.closed) return;
    const datagram = decodeClientDatagram(bytes);
    assert.equal(datagram.roomName, ROOM);
    assert.equal(datagram.token.length, 32);
    this.sent.push({ body: datagram.body, atMs: performance.now() });
    if (datagram.body.kind === "leave" && this.answerLeave) {
      this.inject({ kind: "closed", reason: CloseReason.LEFT, text: "you left the room" });
    }
  }

  receive(): Promise<Uint8Array | null> {
    const next = this.#inbox.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#wake(null);
  }

  /** Delivers one server datagram to the session. */
  inject(body: ServerBody): void {
    if (this.closed) return;
    const bytes = encodeServerDatagram(body);
    if (this.#waiting !== null) this.#wake(bytes);
    else this.#inbox.push(bytes);
  }

  #wake(bytes: Uint8Array | null): void {
    const resolve = this.#waiting;
    this.#waiting = null;
    resolve?.(bytes);
  }

  /** Bodies of one kind sent so far. */
  of<K extends ClientBody["kind"]>(kind: K): Extract<ClientBody, { kind: K }>[] {
    return this.sent.map((s) => s.body).filter((b): b is Extract<ClientBody, { kind: K }> =>
      b.kind === kind
    );
  }
}

/** Reads a session's events in the background, so a test can wait for some. */
class EventCollector {
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
}

function message(seq: number, text = `m${seq}`, name = "bob"): ServerBody {
  return {
    kind: "event",
    seq,
    timeMs: 1_700_000_000_000 + seq,
    type: EventType.MESSAGE,
    name,
    text,
  };
}

function welcome(headSeq: number, members = [USER]): ServerBody {
  return { kind: "welcome", headSeq, room: ROOM, host: USER, members };
}

interface Harness {
  server: ChatServer;
  fake: FakeTransport;
  session: ChatSession;
  events: EventCollector;
}

interface HarnessOptions {
  timings?: Partial<SessionTimings>;
  server?: Partial<ServerConfig>;
  /** Runs while open() is still waiting for WELCOME; must inject one. */
  beforeWelcome?: (fake: FakeTransport) => Promise<void> | void;
}

/**
 * Starts a real server for the handshake, opens a session over a fake
 * transport, runs `body`, then leaves (if still open) and shuts down.
 */
async function withSession(
  options: HarnessOptions,
  body: (h: Harness) => Promise<void> | void,
): Promise<void> {
  const server = startTestServer(options.server);
  const fake = new FakeTransport();
  let session: ChatSession | undefined;
  try {
    const opening = ChatSession.open({
      server: { hostname: "127.0.0.1", port: server.tcpAddr.port },
      create: true,
      room: ROOM,
      username: USER,
      timings: { helloIntervalMs: 20, ...options.timings },
      openTransport: () => fake,
    });
    // Keep a rejection from going unhandled while the script runs.
    opening.catch(() => {});
    await waitUntil(() => fake.of("hello").length > 0, "the first HELLO");
    if (options.beforeWelcome) await options.beforeWelcome(fake);
    else fake.inject(welcome(0));
    session = await opening;
    const events = new EventCollector(session);
    try {
      await body({ server, fake, session, events });
    } finally {
      await session.leave();
      await events.done;
    }
  } finally {
    fake.close();
    await server.shutdown();
  }
}

Deno.test("HELLO is repeated until WELCOME arrives, then stops", async () => {
  await withSession({
    timings: { helloIntervalMs: 15 },
    beforeWelcome: async (fake) => {
      await waitUntil(() => fake.of("hello").length >= 4, "four HELLOs");
      fake.inject(welcome(0, [USER, "bob"]));
    },
  }, async ({ fake, session, events }) => {
    const hellos = fake.of("hello");
    assert.ok(hellos.length >= 4);
    for (const hello of hellos) assert.deepEqual(hello, { kind: "hello", lastSeq: 0 });
    assert.equal(session.host, USER);
    assert.deepEqual(session.members, [USER, "bob"]);
    await waitUntil(() => events.events.length >= 1, "the welcome event");
    assert.deepEqual(events.events[0], {
      type: "welcome",
      room: ROOM,
      host: USER,
      members: [USER, "bob"],
      rejoined: false,
    });
    const count = fake.of("hello").length;
    await sleep(80);
    assert.equal(fake.of("hello").length, count, "no HELLO after WELCOME");
    // A late WELCOME (an answer to a repeated HELLO) changes nothing.
    fake.inject(welcome(7, ["someone else"]));
    await sleep(20);
    assert.equal(events.of("welcome").length, 1);
    assert.deepEqual(session.members, [USER, "bob"]);
    assert.equal(fake.of("resend").length, 0);
  });
});

Deno.test("open fails with ChatTransportError when no WELCOME comes", async () => {
  const server = startTestServer();
  const fake = new FakeTransport();
  try {
    await assert.rejects(
      ChatSession.open({
        server: { hostname: "127.0.0.1", port: server.tcpAddr.port },
        create: true,
        room: ROOM,
        username: USER,
        timings: { helloIntervalMs: 10, helloTimeoutMs: 60 },
        openTransport: () => fake,
      }),
      ChatTransportError,
    );
    assert.ok(fake.of("hello").length >= 3);
    assert.ok(fake.closed, "the transport is closed");
  } finally {
    await server.shutdown();
  }
});

Deno.test("events that arrive out of order are delivered in seq order", async () => {
  await withSession({ timings: { resendIntervalMs: 5_000 } }, async ({ fake, events }) => {
    for (const seq of [3, 5, 1, 4, 2]) fake.inject(message(seq));
    await waitUntil(() => events.of("message").length === 5, "five messages");
    assert.deepEqual(events.seqs(), [1, 2, 3, 4, 5]);
    assert.deepEqual(events.of("message").map((e) => e.text), ["m1", "m2", "m3", "m4", "m5"]);
    const first = events.of("message")[0]!;
    assert.equal(first.name, "bob");
    assert.equal(first.time.getTime(), 1_700_000_000_001);
    assert.equal(first.replay, false);
    assert.equal(events.of("missed").length, 0);
  });
});

Deno.test("duplicate events are delivered once", async () => {
  await withSession({ timings: { resendIntervalMs: 5_000 } }, async ({ fake, events }) => {
    // Duplicates of delivered events, and of an event still waiting behind a gap.
    for (const seq of [1, 1, 2, 1, 4, 4, 2, 3, 4, 3, 1]) fake.inject(message(seq));
    await waitUntil(() => events.of("message").length >= 4, "four messages");
    fake.inject(message(5));
    await waitUntil(() => events.of("message").length >= 5, "the fifth message");
    await sleep(30);
    assert.deepEqual(events.seqs(), [1, 2, 3, 4, 5]);
  });
});

Deno.test("an event that overtakes WELCOME is delivered after it", async () => {
  await withSession({
    timings: { resendIntervalMs: 5_000 },
    beforeWelcome: async (fake) => {
      fake.inject(message(2, "live"));
      fake.inject({
        kind: "event",
        seq: 1,
        timeMs: 1,
        type: EventType.JOINED,
        name: USER,
        text: "",
      });
      await sleep(30); // the session is still saying HELLO
      fake.inject(welcome(1));
    },
  }, async ({ fake, session, events }) => {
    await waitUntil(() => events.events.length >= 3, "welcome, joined and the message");
    assert.deepEqual(events.events.map((e) => e.type), ["welcome", "joined", "message"]);
    assert.deepEqual(events.seqs(), [1, 2]);
    const [joined, live] = [events.of("joined")[0]!, events.of("message")[0]!];
    assert.equal(joined.replay, true, "seq 1 is at or below WELCOME's headSeq");
    assert.equal(live.replay, false);
    assert.equal(live.text, "live");
    assert.deepEqual(session.members, [USER]);
    assert.equal(fake.of("resend").length, 0, "nothing was missing");
  });
});

Deno.test("an event that overtakes WELCOME past a gap asks for the gap", async () => {
  await withSession({
    timings: { resendIntervalMs: 60 },
    beforeWelcome: (fake) => {
      fake.inject(message(4));
      fake.inject(welcome(3));
    },
  }, async ({ fake, events }) => {
    // The replay follows WELCOME, so the first RESEND waits one interval.
    await sleep(20);
    assert.equal(fake.of("resend").length, 0, "no RESEND for a replay on its way");
    await waitUntil(() => fake.of("resend").length >= 1, "a RESEND");
    assert.deepEqual(fake.of("resend"), [{ kind: "resend", fromSeq: 1, toSeq: 3 }]);
    for (const seq of [1, 2, 3]) fake.inject(message(seq));
    await waitUntil(() => events.of("message").length === 4, "four messages");
    assert.deepEqual(events.seqs(), [1, 2, 3, 4]);
    assert.deepEqual(events.of("message").map((e) => e.replay), [true, true, true, false]);
  });
});

Deno.test("the replay that follows WELCOME is taken without any RESEND", async () => {
  await withSession({
    timings: { resendIntervalMs: 60 },
    beforeWelcome: (fake) => {
      fake.inject(welcome(120));
      // The server replays the last 50 events after WELCOME.
      for (let seq = 71; seq <= 120; seq++) fake.inject(message(seq));
    },
  }, async ({ fake, events }) => {
    await waitUntil(() => events.of("message").length === 50, "the replay");
    assert.deepEqual(events.seqs(), Array.from({ length: 50 }, (_, i) => 71 + i));
    assert.ok(events.of("message").every((e) => e.replay));
    fake.inject(message(121));
    await waitUntil(() => events.of("message").length === 51, "a live message");
    assert.equal(events.of("message").at(-1)!.replay, false);
    await sleep(100);
    assert.equal(fake.of("resend").length, 0);
  });
});

Deno.test("a gap triggers RESEND for exactly the missing range; filling it delivers in order", async () => {
  await withSession({ timings: { resendIntervalMs: 5_000 } }, async ({ fake, events }) => {
    fake.inject(message(1));
    await waitUntil(() => events.of("message").length === 1, "seq 1");
    assert.equal(fake.of("resend").length, 0, "no gap yet");
    fake.inject(message(5));
    await waitUntil(() => fake.of("resend").length >= 1, "a RESEND");
    assert.deepEqual(fake.of("resend"), [{ kind: "resend", fromSeq: 2, toSeq: 4 }]);
    assert.deepEqual(events.seqs(), [1], "seq 5 waits behind the gap");
    // Filled out of order; still one RESEND, since the gap starts at the same place.
    fake.inject(message(3));
    fake.inject(message(2));
    await waitUntil(() => events.of("message").length === 3, "seqs 2 and 3");
    assert.deepEqual(events.seqs(), [1, 2, 3]);
    fake.inject(message(4));
    await waitUntil(() => events.of("message").length === 5, "all five");
    assert.deepEqual(events.seqs(), [1, 2, 3, 4, 5]);
    await sleep(30);
    assert.equal(fake.of("resend").length, 1, "RESEND is not sent again once filled");
    assert.equal(events.of("missed").length, 0);
  });
});

Deno.test("a RESEND answered in order is not followed by more RESENDs", async () => {
  await withSession({ timings: { resendIntervalMs: 5_000 } }, async ({ fake, events }) => {
    fake.inject(message(1));
    fake.inject(message(12));
    await waitUntil(() => fake.of("resend").length >= 1, "a RESEND");
    assert.deepEqual(fake.of("resend"), [{ kind: "resend", fromSeq: 2, toSeq: 11 }]);
    // The server's answer, in order, one datagram at a time.
    for (let seq = 2; seq <= 11; seq++) {
      fake.inject(message(seq));
      await sleep(1);
    }
    await waitUntil(() => events.of("message").length === 12, "all twelve");
    assert.deepEqual(events.seqs(), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.equal(fake.of("resend").length, 1, "each arriving answer did not ask again");
  });
});

Deno.test("a RESEND is repeated while its gap stays open", async () => {
  await withSession(
    { timings: { resendIntervalMs: 20, resendTries: 10 } },
    async ({ fake, events }) => {
      fake.inject(message(1));
      fake.inject(message(4));
      await waitUntil(() => fake.of("resend").length >= 3, "three RESENDs");
      for (const resend of fake.of("resend")) {
        assert.deepEqual(resend, { kind: "resend", fromSeq: 2, toSeq: 3 });
      }
      // Half the answer arrives: the next retry asks only for what is left.
      fake.inject(message(2));
      const mark = fake.of("resend").length;
      await waitUntil(() => fake.of("resend").length > mark, "a retry after seq 2");
      assert.deepEqual(fake.of("resend").slice(mark), [{ kind: "resend", fromSeq: 3, toSeq: 3 }]);
      fake.inject(message(3));
      await waitUntil(() => events.of("message").length === 4, "all four");
      const count = fake.of("resend").length;
      await sleep(70);
      assert.equal(fake.of("resend").length, count, "no RESEND once the gap is filled");
      assert.deepEqual(events.seqs(), [1, 2, 3, 4]);
    },
  );
});

Deno.test("a gap that is never filled ends in a missed event, and delivery resumes", async () => {
  await withSession(
    { timings: { resendIntervalMs: 15, resendTries: 3 } },
    async ({ fake, events }) => {
      fake.inject(message(1));
      fake.inject(message(4));
      fake.inject(message(5));
      await waitUntil(() => events.of("missed").length === 1, "the missed event");
      assert.deepEqual(fake.of("resend"), [
        { kind: "resend", fromSeq: 2, toSeq: 3 },
        { kind: "resend", fromSeq: 2, toSeq: 3 },
        { kind: "resend", fromSeq: 2, toSeq: 3 },
      ]);
      await waitUntil(() => events.of("message").length === 3, "seqs 4 and 5");
      // Late arrivals of the skipped seqs are dropped; new ones are delivered.
      fake.inject(message(2));
      fake.inject(message(6));
      await waitUntil(() => events.of("message").length === 4, "seq 6");
      await sleep(40);
      assert.deepEqual(
        events.events.filter((e) => e.type !== "welcome").map((e) =>
          e.type === "missed"
            ? `missed ${e.fromSeq}-${e.toSeq}`
            : `${e.type} ${"seq" in e ? e.seq : ""}`
        ),
        ["message 1", "missed 2-3", "message 4", "message 5", "message 6"],
      );
      assert.equal(fake.of("resend").length, 3, "no RESEND after giving up");
    },
  );
});

Deno.test("a MESSAGE is retransmitted with the same msgId until ACK", async () => {
  await withSession(
    { timings: { retryBaseMs: 20, sendTries: 10 } },
    async ({ fake, events, session }) => {
      const msgId = session.send("hello there");
      assert.equal(session.unacknowledged, 1);
      await waitUntil(() => fake.of("message").length >= 3, "three MESSAGE sends");
      for (const sent of fake.of("message")) {
        assert.deepEqual(sent, { kind: "message", msgId, text: "hello there" });
      }
      fake.inject({ kind: "ack", msgId, seq: 9 });
      await waitUntil(() => events.of("delivered").length === 1, "delivered");
      assert.deepEqual(events.of("delivered")[0], { type: "delivered", msgId, seq: 9 });
      assert.equal(session.unacknowledged, 0);
      const count = fake.of("message").length;
      fake.inject({ kind: "ack", msgId, seq: 9 }); // an ACK for a retransmission
      await sleep(200);
      assert.equal(fake.of("message").length, count, "no retransmission after ACK");
      assert.equal(events.of("delivered").length, 1, "a second ACK is ignored");
      assert.equal(events.of("undelivered").length, 0);
      // The next message gets a new msgId.
      const second = session.send("again");
      assert.notEqual(second, msgId);
      fake.inject({ kind: "ack", msgId: second, seq: 10 });
      await waitUntil(() => events.of("delivered").length === 2, "second delivered");
    },
  );
});

Deno.test("a MESSAGE never ACKed while the server is heard from is undelivered after sendTries sends", async () => {
  const base = 20;
  const tries = 4;
  await withSession(
    { timings: { retryBaseMs: base, sendTries: tries } },
    async ({ fake, events, session }) => {
      const started = performance.now();
      const msgId = session.send("anyone?");
      fake.inject(message(1)); // the server is there; only this message is not getting through
      await waitUntil(() => events.of("undelivered").length === 1, "undelivered", 5_000);
      const elapsed = performance.now() - started;
      assert.deepEqual(events.of("undelivered")[0], {
        type: "undelivered",
        msgId,
        text: "anyone?",
      });
      const sends = fake.sent.filter((s) => s.body.kind === "message");
      assert.equal(sends.length, tries);
      // Waits double: 20, 40, 80 ms between sends, then 160 ms before giving up.
      for (let i = 1; i < sends.length; i++) {
        const gap = sends[i]!.atMs - sends[i - 1]!.atMs;
        assert.ok(gap >= base * 2 ** (i - 1) - 2, `wait ${i} was ${gap} ms`);
      }
      assert.ok(elapsed >= base * (2 ** tries - 1) - 2, `gave up after ${elapsed} ms`);
      assert.equal(session.unacknowledged, 0);
      await sleep(50);
      assert.equal(fake.of("message").length, tries, "nothing sent after giving up");
      assert.equal(events.of("delivered").length, 0);
    },
  );
});

Deno.test("with rejoining off, ERROR 401 closes the session as lost; unacknowledged sends become undelivered", async () => {
  await withSession(
    { timings: { retryBaseMs: 1_000, rejoinTimeoutMs: 0 } },
    async ({ fake, events, session }) => {
      const msgId = session.send("in flight");
      fake.inject({ kind: "error", code: 401, text: "unknown token for this room" });
      await events.done;
      await session.closed;
      const last = events.events.at(-1)!;
      assert.equal(last.type, "closed");
      assert.equal(last.type === "closed" && last.reason, "lost");
      assert.match(last.type === "closed" ? last.text : "", /unknown token/);
      assert.deepEqual(events.of("undelivered"), [{
        type: "undelivered",
        msgId,
        text: "in flight",
      }]);
      assert.ok(fake.closed, "the transport is closed");
      assert.throws(() => session.send("too late"), ChatTransportError);
      await session.leave(); // a no-op once closed
      assert.equal(fake.of("leave").length, 0);
    },
  );
});

Deno.test("other ERROR codes are reported and the session stays open", async () => {
  await withSession({}, async ({ fake, events }) => {
    fake.inject({ kind: "error", code: 429, text: "rate limited: message not relayed" });
    await waitUntil(() => events.of("error").length === 1, "the error event");
    assert.deepEqual(events.of("error")[0], {
      type: "error",
      code: 429,
      text: "rate limited: message not relayed",
    });
    fake.inject(message(1));
    await waitUntil(() => events.of("message").length === 1, "a message after the error");
    assert.equal(events.ended, false);
  });
});

Deno.test("CLOSED 1 closes the session with that reason and ends the iteration", async () => {
  await withSession({}, async ({ fake, events, session }) => {
    fake.inject(message(1));
    fake.inject({ kind: "closed", reason: CloseReason.HOST_LEFT, text: "the host left" });
    await events.done;
    await session.closed;
    assert.equal(events.ended, true);
    assert.deepEqual(events.events.map((e) => e.type), ["welcome", "message", "closed"]);
    assert.deepEqual(events.events.at(-1), {
      type: "closed",
      reason: CloseReason.HOST_LEFT,
      text: "the host left",
    });
    assert.ok(fake.closed);
    // Anything after CLOSED is ignored.
    fake.inject(message(2));
    await sleep(10);
    assert.equal(events.events.length, 3);
  });
});

Deno.test("heartbeats carry the highest seq received, even past a gap", async () => {
  await withSession(
    { server: { heartbeatSeconds: 0.1 }, timings: { resendIntervalMs: 5_000 } },
    async ({ fake, events }) => {
      const heartbeatsSince = (index: number) =>
        fake.sent.slice(index).flatMap((s) => s.body.kind === "heartbeat" ? [s.body.lastSeq] : []);
      await waitUntil(() => heartbeatsSince(0).length >= 1, "a heartbeat");
      assert.deepEqual(heartbeatsSince(0), [0]);

      fake.inject(message(1));
      fake.inject(message(2));
      await waitUntil(() => events.of("message").length === 2, "seqs 1 and 2");
      let mark = fake.sent.length;
      await waitUntil(() => heartbeatsSince(mark).length >= 1, "a heartbeat after seq 2");
      assert.deepEqual(heartbeatsSince(mark), [2]);

      // Seq 4 waits behind a gap: RESEND asks for 3; the heartbeat says 4, so
      // the server does not replay 4 again.
      fake.inject(message(4));
      await waitUntil(() => fake.of("resend").length === 1, "the RESEND");
      assert.deepEqual(fake.of("resend")[0], { kind: "resend", fromSeq: 3, toSeq: 3 });
      mark = fake.sent.length;
      await waitUntil(() => heartbeatsSince(mark).length >= 2, "two heartbeats with a gap");
      assert.deepEqual(heartbeatsSince(mark), [4, 4]);

      fake.inject(message(3));
      await waitUntil(() => events.of("message").length === 4, "seqs 3 and 4");
      mark = fake.sent.length;
      await waitUntil(() => heartbeatsSince(mark).length >= 1, "a heartbeat after the gap");
      assert.deepEqual(heartbeatsSince(mark), [4]);

      // Roughly every 50 ms: twice per heartbeat period.
      const times = fake.sent.filter((s) => s.body.kind === "heartbeat").map((s) => s.atMs);
      for (let i = 1; i < times.length; i++) {
        const gap = times[i]! - times[i - 1]!;
        assert.ok(gap >= 40 && gap < 300, `heartbeat gap ${gap} ms`);
      }
    },
  );
});

Deno.test("send rejects empty and over-long texts with RangeError", async () => {
  await withSession({}, ({ fake, session }) => {
    assert.throws(() => session.send(""), RangeError);
    assert.throws(() => session.send("x".repeat(5_000)), RangeError);
    // Short in characters, too long in bytes.
    assert.throws(() => session.send("é".repeat(2_100)), RangeError);
    assert.equal(session.unacknowledged, 0);
    assert.equal(fake.of("message").length, 0);
    // The longest text that fits is accepted: 4096 - (2 + room + token + kind + msgId).
    const fits = 4096 - (2 + ROOM.length + 32 + 1 + 4);
    const msgId = session.send("y".repeat(fits));
    assert.throws(() => session.send("y".repeat(fits + 1)), RangeError);
    assert.deepEqual(fake.of("message").map((m) => m.msgId), [msgId]);
    fake.inject({ kind: "ack", msgId, seq: 1 });
  });
});

Deno.test("leave sends LEAVE and resolves once CLOSED comes back", async () => {
  await withSession({ timings: { retryBaseMs: 2_000 } }, async ({ fake, events, session }) => {
    const started = performance.now();
    await session.leave();
    assert.ok(performance.now() - started < 1_000, "did not wait for a retry");
    assert.deepEqual(fake.of("leave"), [{ kind: "leave" }]);
    await events.done;
    assert.deepEqual(events.events.at(-1), {
      type: "closed",
      reason: CloseReason.LEFT,
      text: "you left the room",
    });
    assert.ok(fake.closed);
  });
});

Deno.test("leave with no answer sends LEAVE a few times, then closes anyway", async () => {
  await withSession({ timings: { retryBaseMs: 20 } }, async ({ fake, events, session }) => {
    fake.answerLeave = false;
    await session.leave();
    assert.deepEqual(fake.of("leave"), [{ kind: "leave" }, { kind: "leave" }, { kind: "leave" }]);
    await events.done;
    const last = events.events.at(-1)!;
    assert.equal(last.type === "closed" && last.reason, CloseReason.LEFT);
    assert.ok(fake.closed);
  });
});

/** A session whose every transport is a new FakeTransport, for tests that rejoin. */
async function openWithFakes(
  port: number,
  timings: Partial<SessionTimings>,
): Promise<{ session: ChatSession; fakes: FakeTransport[]; events: EventCollector }> {
  const fakes: FakeTransport[] = [];
  const opening = ChatSession.open({
    server: { hostname: "127.0.0.1", port },
    create: true,
    room: ROOM,
    username: USER,
    timings: { helloIntervalMs: 20, rejoinRetryMs: 20, ...timings },
    openTransport: () => {
      fakes.push(new FakeTransport());
      return fakes.at(-1)!;
    },
  });
  opening.catch(() => {});
  await waitUntil(() => fakes[0]?.of("hello").length === 1, "the first HELLO");
  fakes[0]!.inject(welcome(0));
  const session = await opening;
  return { session, fakes, events: new EventCollector(session) };
}

Deno.test("after ERROR 401 from a restarted server the host creates the room again; what was typed meanwhile is sent", async () => {
  const first = startTestServer();
  const port = first.tcpAddr.port;
  const { session, fakes, events } = await openWithFakes(port, { retryBaseMs: 5_000 });
  await first.shutdown();
  const second = startTestServer({ port }); // the same address, no memory of the room
  try {
    const before = session.send("typed before");
    fakes[0]!.inject({ kind: "error", code: 401, text: "unknown token for this room" });
    await waitUntil(() => events.of("rejoining").length === 1, "the rejoining event");
    assert.match(events.of("rejoining")[0]!.reason, /no longer knows this session/);
    assert.ok(fakes[0]!.closed, "the old transport is closed");
    const during = session.send("typed during");
    await waitUntil(() => fakes[1]?.of("hello").length === 1, "HELLO on the new transport");
    assert.equal(second.registry.roomCount, 1, "the room exists again");
    assert.deepEqual(second.registry.listRooms().map((r) => r.name), [ROOM]);
    assert.equal(fakes[1]!.of("message").length, 0, "nothing is sent before WELCOME");
    fakes[1]!.inject(welcome(1));
    await waitUntil(() => fakes[1]!.of("message").length === 2, "both messages resent");
    assert.deepEqual(fakes[1]!.of("message").map((m) => [m.msgId, m.text]), [
      [before, "typed before"],
      [during, "typed during"],
    ]);
    const welcomes = events.of("welcome");
    assert.deepEqual(welcomes.map((w) => w.rejoined), [false, true]);
    assert.equal(events.of("undelivered").length, 0);
  } finally {
    await session.leave();
    await events.done;
    await second.shutdown();
  }
});

Deno.test("a MESSAGE with no answer at all (the server is gone) starts a rejoin and is kept", async () => {
  const server = startTestServer();
  const { session, events } = await openWithFakes(server.tcpAddr.port, {
    retryBaseMs: 10,
    sendTries: 3,
    rejoinTimeoutMs: 300,
  });
  try {
    const port = server.tcpAddr.port;
    await server.shutdown(); // nothing listens on the TCRP port now
    session.send("anyone?");
    await waitUntil(() => events.of("rejoining").length === 1, "the rejoining event");
    assert.equal(events.of("rejoining")[0]!.reason, "no answer from the server");
    assert.equal(events.of("undelivered").length, 0, "kept while rejoining");
    await events.done; // the server never returns: the rejoin gives up
    const closed = events.events.at(-1)!;
    assert.equal(closed.type, "closed");
    assert.match(
      closed.type === "closed" ? closed.text : "",
      new RegExp(`could not get back.*${port}`),
    );
    assert.deepEqual(events.of("undelivered").map((u) => u.text), ["anyone?"]);
  } finally {
    await session.leave();
    await events.done;
  }
});

Deno.test("CLOSED 4 (the server shutting down) starts a rejoin; CLOSED 1 does not", async () => {
  const server = startTestServer();
  const { session, fakes, events } = await openWithFakes(server.tcpAddr.port, {});
  try {
    fakes[0]!.inject({ kind: "closed", reason: CloseReason.SHUTDOWN, text: "bye" });
    await waitUntil(() => events.of("rejoining").length === 1, "the rejoining event");
    assert.equal(events.of("rejoining")[0]!.reason, "the server shut down: bye");
    // The room still exists on this (same) server with our old name in it, so
    // the rejoin waits; a LEAVE while rejoining just closes.
  } finally {
    await session.leave();
    await events.done;
    await server.shutdown();
  }
  assert.equal(events.events.at(-1)?.type, "closed");
});

Deno.test("after a rejoin, WELCOME's replay of events already shown is not shown again", async () => {
  const first = startTestServer();
  const port = first.tcpAddr.port;
  const { session, fakes, events } = await openWithFakes(port, {});
  await first.shutdown();
  const second = startTestServer({ port });
  try {
    fakes[0]!.inject(message(1));
    fakes[0]!.inject(message(2));
    await waitUntil(() => events.of("message").length === 2, "seqs 1 and 2");
    fakes[0]!.inject({ kind: "closed", reason: CloseReason.LOST, text: "nothing heard" });
    await waitUntil(() => fakes[1]?.of("hello").length === 1, "HELLO after rejoining");
    fakes[1]!.inject(welcome(3));
    fakes[1]!.inject(message(1)); // the same event as before: the same room on the same server
    // The same seq, another event: a new room on a restarted server.
    fakes[1]!.inject({
      kind: "event",
      seq: 2,
      timeMs: 5,
      type: EventType.MESSAGE,
      name: "x",
      text: "y",
    });
    fakes[1]!.inject(message(3));
    await waitUntil(() => events.of("message").length === 4, "the new events");
    assert.deepEqual(events.of("message").map((m) => [m.seq, m.time.getTime()]), [
      [1, 1_700_000_000_001],
      [2, 1_700_000_000_002],
      [2, 5],
      [3, 1_700_000_000_003],
    ]);
  } finally {
    await session.leave();
    await events.done;
    await second.shutdown();
  }
});
