/**
 * A sealed session over a reliable connection whose socket closes
 * (docs/protocol.md 7.5), on virtual time: it resumes on a new socket
 * (HELLO lastSeq) with backoff, shows nothing twice, sends each pending
 * message once per socket, rejoins when the server forgot it, closes on a
 * fatal close code, and resumes when nudged or when the server is silent.
 */
import assert from "node:assert/strict";
import { ChatClosedError } from "./connector.ts";
import { ChatTransportError } from "./errors.ts";
import { EventCollector, message, USER, welcome } from "./fake_network_test_util.ts";
import {
  FakeReliableConnector,
  type FakeSocket,
  withReliableSession,
} from "./fake_reliable_test_util.ts";
import { ChatSession } from "./session.ts";
import { VirtualClock } from "../testing/virtual_time.ts";
import { TEST_CRYPTO } from "./fake_sealed_server_test_util.ts";
import { RECONNECT_MAX_MS } from "./reconnect.ts";

/** Everything the session sent on one socket, as kinds in order. */
const kinds = (socket: FakeSocket) => socket.sent.map((s) => s.body.kind);

Deno.test("reconnect: a closed socket resumes on a new one with HELLO lastSeq; nothing is shown twice", async () => {
  await withReliableSession({}, async ({ clock, connector, events }) => {
    const first = connector.socket;
    for (const seq of [1, 2, 3]) first.inject(message(seq));
    await clock.settle();
    first.closeFromServer(1006);
    await clock.settle();
    assert.equal(connector.sockets.length, 2, "the first attempt goes at once");
    const second = connector.socket;
    assert.deepEqual(second.sent.map((s) => s.body), [{ kind: "hello", lastSeq: 3 }]);
    assert.deepEqual(events.of("reconnecting"), [{
      type: "reconnecting",
      reason: "the connection to the server closed (1006)",
    }]);
    // The server answers WELCOME and replays after lastSeq; an overlap is dropped.
    second.inject(welcome(5, [USER, "bob"], "bob"));
    for (const seq of [3, 4, 5]) second.inject(message(seq));
    await clock.settle();
    assert.equal(events.of("reconnected").length, 1);
    assert.deepEqual(events.seqs(), [1, 2, 3, 4, 5]);
    assert.equal(events.of("welcome").length, 1, "a resume is not a new welcome");
    await clock.advance(30_000); // heartbeats on the new socket; no RESEND for what came
    assert.equal(second.of("resend").length, 0);
    assert.ok(second.of("heartbeat").length >= 5);
    assert.equal(connector.requests.length, 1, "the same membership: no new request");
    // One wire for both sockets: its counters never repeated (the wire asserts it).
    const counters = second.sealedWire.clientCounters;
    assert.deepEqual(counters, counters.map((_, i) => i));
  });
});

Deno.test("reconnect: a pending message goes once on each socket and is delivered once", async () => {
  await withReliableSession({}, async ({ clock, connector, session, events }) => {
    const first = connector.socket;
    const id = session.send("hello");
    await clock.advance(5_000);
    assert.deepEqual(first.of("message"), [{ kind: "message", msgId: 1, text: "hello" }]);
    first.closeFromServer(1001, "server shutting down");
    await clock.settle();
    const later = session.send("while away");
    await clock.settle();
    const second = connector.socket;
    assert.deepEqual(kinds(second), ["hello"], "nothing but HELLO before WELCOME");
    second.inject(welcome(0, [USER, "bob"], "bob"));
    await clock.settle();
    assert.deepEqual(second.of("message"), [
      { kind: "message", msgId: 1, text: "hello" }, // the same msgId: the server de-duplicates
      { kind: "message", msgId: 2, text: "while away" },
    ]);
    second.inject({ kind: "ack", msgId: 1, seq: 1 });
    second.inject({ kind: "ack", msgId: 1, seq: 1 }); // a repeat's ACK
    second.inject({ kind: "ack", msgId: 2, seq: 2 });
    await clock.advance(20_000);
    assert.deepEqual(events.of("delivered"), [
      { type: "delivered", msgId: id, seq: 1 },
      { type: "delivered", msgId: later, seq: 2 },
    ]);
    assert.equal(second.of("message").length, 2, "no retransmission on a reliable socket");
    assert.equal(events.of("undelivered").length, 0);
  });
});

Deno.test("reconnect: failed attempts are retried 0.5 s doubling to 10 s apart", async () => {
  await withReliableSession({}, async ({ clock, connector, events }) => {
    const fail = () => new ChatTransportError("cannot reach the server");
    connector.reconnectAnswers = Array.from({ length: 8 }, fail);
    connector.socket.closeFromServer(1006);
    await clock.runUntil(() => connector.reconnectTimes.length === 9, "nine attempts");
    const gaps = connector.reconnectTimes.slice(1).map((t, i) => t - connector.reconnectTimes[i]!);
    assert.deepEqual(gaps, [500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
    assert.ok(gaps.every((gap) => gap <= RECONNECT_MAX_MS));
    connector.socket.inject(welcome(0, [USER, "bob"], "bob"));
    await clock.settle();
    assert.equal(events.of("reconnecting").length, 1, "one banner for the whole outage");
    assert.equal(events.of("reconnected").length, 1);
  });
});

Deno.test("reconnect: a socket that closes again before WELCOME, or no WELCOME in time, is tried again", async () => {
  await withReliableSession({}, async ({ clock, connector, events }) => {
    connector.reconnectAnswers = [(socket) => socket.closeFromServer(1011), "ok"];
    connector.socket.closeFromServer(1006);
    await clock.advance(499);
    assert.equal(connector.sockets.length, 2);
    await clock.advance(1);
    assert.equal(connector.sockets.length, 3, "the next attempt 0.5 s later");
    await clock.advance(10_000); // no WELCOME on the third socket within helloTimeoutMs
    assert.ok(connector.socket.closed);
    await clock.advance(1_000);
    assert.equal(connector.sockets.length, 4);
    connector.socket.inject(welcome(0, [USER, "bob"], "bob"));
    await clock.settle();
    assert.equal(events.of("reconnected").length, 1);
    assert.equal(events.of("closed").length, 0);
  });
});

Deno.test("reconnect: a stateless reset in answer to the resume rejoins with a new membership", async () => {
  await withReliableSession({}, async ({ clock, connector, events }) => {
    connector.socket.inject(message(1));
    await clock.settle();
    connector.socket.closeFromServer(1006);
    await clock.settle();
    const resumed = connector.socket;
    assert.deepEqual(kinds(resumed), ["hello"]);
    resumed.injectBytes(resumed.sealedWire.reset());
    await clock.settle();
    assert.equal(events.of("rejoining").length, 1);
    assert.equal(connector.requests.length, 2, "a new JOIN");
    const rejoined = connector.socket;
    assert.notEqual(rejoined.sealedWire, resumed.sealedWire, "a new sealed session");
    assert.deepEqual(rejoined.of("hello"), [{ kind: "hello", lastSeq: 0 }]);
    rejoined.inject(welcome(1, [USER, "bob"], "bob"));
    rejoined.inject(message(1));
    await clock.settle();
    assert.deepEqual(events.of("welcome").map((e) => e.rejoined), [false, true]);
    assert.deepEqual(events.seqs(), [1], "the replay of what was shown is not shown again");
    assert.equal(events.of("reconnected").length, 0);
  });
});

Deno.test("reconnect: ERROR 401 in answer to the resume rejoins too", async () => {
  await withReliableSession({}, async ({ clock, connector, events }) => {
    connector.socket.closeFromServer(1006);
    await clock.settle();
    connector.socket.inject({ kind: "error", code: 401, text: "unknown token" });
    await clock.settle();
    assert.equal(events.of("rejoining").length, 1);
    assert.equal(connector.requests.length, 2);
  });
});

for (
  const [code, reason, text] of [
    [4426, "this page is out of date: reload it", "this page is out of date: reload it"],
    [4403, "", "the server refused this page's origin"],
    [4409, "continued on a newer connection", "continued on a newer connection"],
  ] as const
) {
  Deno.test(`reconnect: close code ${code} closes the session with its reason, no retry`, async () => {
    await withReliableSession({}, async ({ clock, connector, events }) => {
      connector.socket.closeFromServer(code, reason);
      await clock.advance(60_000);
      assert.equal(connector.reconnectTimes.length, 0);
      assert.deepEqual(events.closedEvent(), {
        type: "closed",
        reason: "lost",
        text,
        closeCode: code,
      });
    });
  });
}

Deno.test("reconnect: a fatal close on the resumed socket, or a fatal refusal to reconnect, closes the session", async () => {
  await withReliableSession({}, async ({ clock, connector, events }) => {
    connector.reconnectAnswers = [(socket) => socket.closeFromServer(4426, "reload")];
    connector.socket.closeFromServer(1006);
    await clock.advance(60_000);
    assert.equal(connector.reconnectTimes.length, 1);
    assert.deepEqual(events.closedEvent(), {
      type: "closed",
      reason: "lost",
      text: "reload",
      closeCode: 4426,
    });
  });
  await withReliableSession({}, async ({ clock, connector, session, events }) => {
    session.send("pending");
    connector.reconnectAnswers = [new ChatClosedError(4403, "origin refused")];
    connector.socket.closeFromServer(1006);
    await clock.advance(60_000);
    assert.equal(connector.reconnectTimes.length, 1);
    assert.equal(events.of("undelivered").length, 1, "what waited is reported undelivered");
    assert.deepEqual(events.closedEvent(), {
      type: "closed",
      reason: "lost",
      text: "origin refused",
      closeCode: 4403,
    });
  });
});

Deno.test("reconnect: nudge() while waiting to retry attempts at once", async () => {
  await withReliableSession({}, async ({ clock, connector, session, events }) => {
    connector.reconnectAnswers = [
      new ChatTransportError("offline"),
      new ChatTransportError("offline"),
    ];
    connector.socket.closeFromServer(1006);
    await clock.advance(1_000); // attempts at 0 and 500 ms failed; the next is due at 1,500
    assert.equal(connector.reconnectTimes.length, 2);
    session.nudge(); // the page is back online
    await clock.settle();
    assert.deepEqual(connector.reconnectTimes, [0, 500, 1_000]);
    connector.socket.inject(welcome(0, [USER, "bob"], "bob"));
    await clock.settle();
    assert.equal(events.of("reconnected").length, 1);
  });
});

Deno.test("reconnect: nudge() while live sends HEARTBEAT and resumes when nothing answers within 5 s", async () => {
  await withReliableSession({}, async ({ clock, connector, session, events }) => {
    const first = connector.socket;
    await clock.advance(1_000);
    const beats = first.of("heartbeat").length;
    session.nudge();
    await clock.settle();
    assert.equal(first.of("heartbeat").length, beats + 1, "a HEARTBEAT at once");
    first.injectBytes(first.sealedWire.heartbeatAck(0)); // answered: the socket is alive
    await clock.advance(5_000);
    assert.equal(connector.sockets.length, 1);
    session.nudge(); // a socket that died silently (a phone that slept)
    await clock.advance(4_999);
    assert.equal(connector.sockets.length, 1);
    await clock.advance(1);
    assert.equal(connector.sockets.length, 2);
    assert.ok(first.closed, "the silent socket is dropped");
    assert.equal(events.of("reconnecting")[0]?.reason, "no answer from the server within 5 s");
    connector.socket.inject(welcome(0, [USER, "bob"], "bob"));
    await clock.settle();
    assert.equal(events.of("reconnected").length, 1);
  });
});

Deno.test("reconnect: silence for 3 heartbeat periods drops the socket and resumes, not rejoins", async () => {
  await withReliableSession({}, async ({ clock, connector, events }) => {
    await clock.runUntil(() => connector.sockets.length === 2, "a new socket");
    // Counted from the first HEARTBEAT left unanswered (at 5 s): between 3 and 3.5 periods after it.
    assert.ok(clock.now() >= 35_000 && clock.now() <= 40_000, `resumed at ${clock.now()} ms`);
    assert.ok(connector.sockets[0]!.closed);
    assert.equal(connector.requests.length, 1, "no rejoin");
    assert.equal(events.of("rejoining").length, 0);
    assert.match(events.of("reconnecting")[0]!.reason, /3 heartbeat periods/);
  });
});

Deno.test("reconnect: a gap open when the socket closed is asked for on the new socket, not missed", async () => {
  await withReliableSession({}, async ({ clock, connector, events }) => {
    const first = connector.socket;
    first.inject(message(1));
    first.inject(message(3));
    await clock.settle();
    first.closeFromServer(1006);
    connector.reconnectAnswers = Array.from({ length: 5 }, () => new ChatTransportError("down"));
    await clock.advance(40_000); // longer than 20 RESEND rounds
    assert.equal(events.of("missed").length, 0);
    const second = connector.socket;
    assert.deepEqual(second.of("hello"), [{ kind: "hello", lastSeq: 3 }]);
    second.inject(welcome(3, [USER, "bob"], "bob"));
    await clock.advance(500);
    assert.deepEqual(second.of("resend"), [{ kind: "resend", fromSeq: 2, toSeq: 2 }]);
    second.inject(message(2));
    await clock.settle();
    assert.deepEqual(events.seqs(), [1, 2, 3]);
  });
});

Deno.test("reconnect: the resume option goes in the first JOIN only", async () => {
  const ticket = { sessionId: new Uint8Array(8).fill(7), proof: new Uint8Array(32).fill(9) };
  await withReliableSession({ resume: ticket }, async ({ clock, connector }) => {
    assert.deepEqual(connector.requests[0]!.operation, 2);
    assert.deepEqual(connector.requests[0]!.resume, ticket);
    connector.socket.injectBytes(connector.socket.sealedWire.reset());
    await clock.settle();
    assert.equal(connector.requests.length, 2, "rejoined");
    assert.equal(connector.requests[1]!.resume, undefined);
  });
  await withReliableSession({ create: true, resume: ticket }, ({ connector }) => {
    assert.equal(connector.requests[0]!.resume, undefined, "a CREATE takes nothing over");
  });
});

Deno.test("reconnect: resumeTicket is the session id and HMAC(clientKey, 'chat resume v1' || id), new after a rejoin", async () => {
  await withReliableSession({}, async ({ clock, connector, session }) => {
    const expected = (n: number) => {
      const { sessionId, clientKey } = connector.server.wires[n]!.params;
      const data = new Uint8Array([...new TextEncoder().encode("chat resume v1"), ...sessionId]);
      return { sessionId, proof: TEST_CRYPTO.hmacSha256(clientKey, data) };
    };
    assert.deepEqual(session.resumeTicket, expected(0));
    connector.socket.closeFromServer(1006);
    await clock.settle();
    connector.socket.inject(welcome(0, [USER, "bob"], "bob"));
    await clock.settle();
    assert.deepEqual(session.resumeTicket, expected(0), "a resume keeps the session");
    connector.socket.injectBytes(connector.socket.sealedWire.reset());
    await clock.settle();
    connector.socket.inject(welcome(0, [USER, "bob"], "bob"));
    await clock.settle();
    assert.deepEqual(session.resumeTicket, expected(1), "a rejoin is a new session");
  });
});

Deno.test("reconnect: a fatal close before the first WELCOME rejects open with ChatClosedError", async () => {
  const clock = new VirtualClock();
  const connector = new FakeReliableConnector(clock);
  const opening = ChatSession.open({
    connector,
    scheduler: clock,
    crypto: TEST_CRYPTO,
    create: false,
    room: "lobby",
    username: USER,
  });
  opening.catch(() => {});
  await clock.settle();
  connector.socket.closeFromServer(4426, "this page is out of date: reload it");
  await clock.settle();
  const error = await opening.catch((e) => e);
  assert.ok(error instanceof ChatClosedError, String(error));
  assert.equal(error.closeCode, 4426);
  assert.equal(error.message, "this page is out of date: reload it");
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("reconnect: a rejoin refused with a fatal close code closes with that code", async () => {
  await withReliableSession({}, async ({ clock, connector, events }) => {
    connector.connectAnswers = [new ChatClosedError(4426, "reload")];
    connector.socket.injectBytes(connector.socket.sealedWire.reset());
    await clock.settle();
    assert.deepEqual(events.closedEvent(), {
      type: "closed",
      reason: "lost",
      text: 'could not get back into "lobby": reload',
      closeCode: 4426,
    });
  });
});

Deno.test("reconnect: a hidden tab whose timers run once a minute keeps its live socket in a quiet room", async () => {
  const clock = new VirtualClock();
  // What Chrome does to a page hidden for 5 minutes: chained timers wake once a minute.
  const throttled = {
    now: () => clock.now(),
    setTimeout: (callback: () => void, ms: number) =>
      clock.setTimeout(callback, Math.max(ms, 60_000)),
    clearTimeout: (id: Parameters<typeof clock.clearTimeout>[0]) => clock.clearTimeout(id),
  };
  const connector = new FakeReliableConnector(clock);
  const opening = ChatSession.open({
    connector,
    scheduler: throttled,
    crypto: TEST_CRYPTO,
    create: false,
    room: "lobby",
    username: USER,
  });
  await clock.settle();
  connector.socket.answerHeartbeats = true;
  connector.socket.inject(welcome(0, [USER, "bob"], "bob"));
  const session = await opening;
  const events = new EventCollector(session);
  await clock.advance(10 * 60_000);
  assert.equal(connector.sockets.length, 1, "no resume while every HEARTBEAT is answered");
  assert.equal(events.of("reconnecting").length, 0);
  // The socket dies silently: the unanswered HEARTBEAT is noticed three periods later.
  connector.socket.answerHeartbeats = false;
  await clock.advance(3 * 60_000);
  assert.equal(connector.sockets.length, 2, "resumed once its HEARTBEATs went unanswered");
  connector.socket.inject(welcome(0, [USER, "bob"], "bob"));
  await clock.settle();
  const leaving = session.leave();
  await clock.runUntil(() => events.ended, "the session to close");
  await leaving;
});
