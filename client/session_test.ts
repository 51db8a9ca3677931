/**
 * ChatSession's protocol logic over a scripted network on virtual time: no
 * server, no sockets, no sleeps, and every timing checked to the millisecond.
 * Rejoining, failures, the crypto hook and the clock have their own files.
 */
import assert from "node:assert/strict";
import { CloseReason, EventType } from "../protocol/datagram.ts";
import { VirtualClock } from "../testing/virtual_time.ts";
import { ChatTransportError } from "./errors.ts";
import {
  message,
  ROOM,
  startOpening,
  USER,
  welcome,
  withSession,
} from "./fake_network_test_util.ts";
import { ChatSession } from "./session.ts";

Deno.test("HELLO is repeated every 500 ms until WELCOME arrives, then stops", async () => {
  await withSession({
    beforeWelcome: async (fake, clock) => {
      await clock.advance(1_500);
      fake.inject(welcome(0, [USER, "bob"]));
    },
  }, async ({ clock, fake, session, events }) => {
    assert.deepEqual(fake.timesOf("hello"), [0, 500, 1_000, 1_500]);
    for (const hello of fake.of("hello")) assert.deepEqual(hello, { kind: "hello", lastSeq: 0 });
    assert.equal(session.host, USER);
    assert.deepEqual(session.members, [USER, "bob"]);
    await clock.settle();
    assert.deepEqual(events.events[0], {
      type: "welcome",
      room: ROOM,
      host: USER,
      members: [USER, "bob"],
      rejoined: false,
    });
    await clock.advance(4_000);
    assert.equal(fake.of("hello").length, 4, "no HELLO after WELCOME");
    // A late WELCOME (an answer to a repeated HELLO) changes nothing.
    fake.inject(welcome(7, ["someone else"]));
    await clock.advance(1_000);
    assert.equal(events.of("welcome").length, 1);
    assert.deepEqual(session.members, [USER, "bob"]);
    assert.equal(fake.of("resend").length, 0);
  });
});

Deno.test("open fails with ChatTransportError when no WELCOME comes within 10 s", async () => {
  const { clock, connector, opening } = startOpening();
  const result: { outcome?: unknown } = {};
  opening.then(() => (result.outcome = "opened"), (error) => (result.outcome = error));
  await clock.advance(9_999);
  const outcome = () => result.outcome; // read afresh each time (no narrowing)
  assert.equal(outcome(), undefined);
  await clock.advance(1);
  const error = outcome();
  assert.ok(error instanceof ChatTransportError, String(error));
  assert.match(error.message, /no answer from UDP port 9002 within 10000 ms/);
  assert.deepEqual(
    connector.channel.timesOf("hello"),
    Array.from({ length: 20 }, (_, i) => i * 500),
  );
  assert.ok(connector.channel.closed, "the channel is closed");
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("open gives up on a connector that never answers, on the session's clock", async () => {
  const clock = new VirtualClock();
  let signal: AbortSignal | undefined;
  const opening = ChatSession.open({
    connector: {
      connect: (_request, options) => {
        signal = options.signal;
        assert.equal(options.timeoutMs, 10_000);
        return new Promise(() => {}); // ignores its timeout and its signal
      },
    },
    scheduler: clock,
    create: true,
    room: ROOM,
    username: USER,
  });
  opening.catch(() => {});
  await clock.advance(10_999);
  assert.equal(signal?.aborted, false);
  await clock.advance(1);
  await assert.rejects(opening, ChatTransportError);
  assert.equal(signal?.aborted, true);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("the membership request carries the options, capacity and password as given, and protocol 2", async () => {
  await withSession(
    { session: { password: "pw", capacity: 5 } },
    ({ connector }) => {
      assert.deepEqual(connector.requests, [{
        operation: 1,
        roomName: ROOM,
        username: USER,
        password: "pw",
        capacity: 5,
        protocol: 2,
      }]);
    },
  );
});

Deno.test("events that arrive out of order are delivered in seq order", async () => {
  await withSession({}, async ({ clock, fake, events }) => {
    for (const seq of [3, 5, 1, 4, 2]) fake.inject(message(seq));
    await clock.settle();
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
  await withSession({}, async ({ clock, fake, events }) => {
    // Duplicates of delivered events, and of an event still waiting behind a gap.
    for (const seq of [1, 1, 2, 1, 4, 4, 2, 3, 4, 3, 1]) fake.inject(message(seq));
    await clock.settle();
    assert.deepEqual(events.seqs(), [1, 2, 3, 4]);
    fake.inject(message(5));
    fake.inject(message(5));
    await clock.advance(1_000);
    assert.deepEqual(events.seqs(), [1, 2, 3, 4, 5]);
  });
});

Deno.test("an event that overtakes WELCOME is delivered after it", async () => {
  await withSession({
    beforeWelcome: async (fake, clock) => {
      fake.inject(message(2, "live"));
      fake.inject({
        kind: "event",
        seq: 1,
        timeMs: 1,
        type: EventType.JOINED,
        name: USER,
        text: "",
      });
      await clock.advance(600); // the session is still saying HELLO
      assert.equal(fake.of("hello").length, 2);
      fake.inject(welcome(1));
    },
  }, async ({ clock, fake, session, events }) => {
    await clock.settle();
    assert.deepEqual(events.events.map((e) => e.type), ["welcome", "joined", "message"]);
    assert.deepEqual(events.seqs(), [1, 2]);
    const [joined, live] = [events.of("joined")[0]!, events.of("message")[0]!];
    assert.equal(joined.replay, true, "seq 1 is at or below WELCOME's headSeq");
    assert.equal(live.replay, false);
    assert.equal(live.text, "live");
    assert.deepEqual(session.members, [USER]);
    await clock.advance(5_000);
    assert.equal(fake.of("resend").length, 0, "nothing was missing");
  });
});

Deno.test("an event that overtakes WELCOME past a gap asks for the gap one interval later", async () => {
  await withSession({
    beforeWelcome: (fake) => {
      fake.inject(message(4));
      fake.inject(welcome(3));
    },
  }, async ({ clock, fake, events }) => {
    // The replay follows WELCOME, so the first RESEND waits one interval.
    await clock.advance(499);
    assert.equal(fake.of("resend").length, 0, "no RESEND for a replay on its way");
    await clock.advance(1);
    assert.deepEqual(fake.of("resend"), [{ kind: "resend", fromSeq: 1, toSeq: 3 }]);
    assert.deepEqual(fake.timesOf("resend"), [500]);
    for (const seq of [1, 2, 3]) fake.inject(message(seq));
    await clock.settle();
    assert.deepEqual(events.seqs(), [1, 2, 3, 4]);
    assert.deepEqual(events.of("message").map((e) => e.replay), [true, true, true, false]);
  });
});

Deno.test("the replay that follows WELCOME is taken without any RESEND", async () => {
  await withSession({
    beforeWelcome: (fake) => {
      fake.inject(welcome(120));
      // The server replays the last 50 events after WELCOME.
      for (let seq = 71; seq <= 120; seq++) fake.inject(message(seq));
    },
  }, async ({ clock, fake, events }) => {
    await clock.settle();
    assert.deepEqual(events.seqs(), Array.from({ length: 50 }, (_, i) => 71 + i));
    assert.ok(events.of("message").every((e) => e.replay));
    fake.inject(message(121));
    await clock.settle();
    assert.equal(events.of("message").at(-1)!.replay, false);
    await clock.advance(5_000);
    assert.equal(fake.of("resend").length, 0);
  });
});

Deno.test("a gap triggers RESEND for exactly the missing range; filling it delivers in order", async () => {
  await withSession({}, async ({ clock, fake, events }) => {
    fake.inject(message(1));
    await clock.settle();
    assert.deepEqual(events.seqs(), [1]);
    assert.equal(fake.of("resend").length, 0, "no gap yet");
    fake.inject(message(5));
    await clock.settle();
    assert.deepEqual(fake.of("resend"), [{ kind: "resend", fromSeq: 2, toSeq: 4 }]);
    assert.deepEqual(events.seqs(), [1], "seq 5 waits behind the gap");
    // Filled out of order; still one RESEND, since the gap starts at the same place.
    fake.inject(message(3));
    fake.inject(message(2));
    await clock.settle();
    assert.deepEqual(events.seqs(), [1, 2, 3]);
    fake.inject(message(4));
    await clock.settle();
    assert.deepEqual(events.seqs(), [1, 2, 3, 4, 5]);
    await clock.advance(10_000);
    assert.equal(fake.of("resend").length, 1, "RESEND is not sent again once filled");
    assert.equal(events.of("missed").length, 0);
  });
});

Deno.test("each run of missing seqs gets its own RESEND", async () => {
  await withSession({}, async ({ clock, fake, events }) => {
    for (const seq of [1, 3, 6, 7, 10]) fake.inject(message(seq));
    await clock.settle();
    assert.deepEqual(fake.of("resend"), [
      { kind: "resend", fromSeq: 2, toSeq: 2 },
      { kind: "resend", fromSeq: 4, toSeq: 5 },
      { kind: "resend", fromSeq: 8, toSeq: 9 },
    ]);
    for (const seq of [2, 4, 5, 8, 9]) fake.inject(message(seq));
    await clock.settle();
    assert.deepEqual(events.seqs(), Array.from({ length: 10 }, (_, i) => i + 1));
  });
});

Deno.test("a RESEND answered in order is not followed by more RESENDs", async () => {
  await withSession({}, async ({ clock, fake, events }) => {
    fake.inject(message(1));
    fake.inject(message(12));
    await clock.settle();
    assert.deepEqual(fake.of("resend"), [{ kind: "resend", fromSeq: 2, toSeq: 11 }]);
    // The server's answer, in order, one datagram at a time.
    for (let seq = 2; seq <= 11; seq++) {
      fake.inject(message(seq));
      await clock.advance(1);
    }
    assert.deepEqual(events.seqs(), Array.from({ length: 12 }, (_, i) => i + 1));
    await clock.advance(5_000);
    assert.equal(fake.of("resend").length, 1, "each arriving answer did not ask again");
  });
});

Deno.test("a RESEND is repeated every 500 ms while its gap stays open", async () => {
  await withSession({}, async ({ clock, fake, events }) => {
    fake.inject(message(1));
    fake.inject(message(4));
    await clock.advance(1_000);
    assert.deepEqual(fake.timesOf("resend"), [0, 500, 1_000]);
    for (const resend of fake.of("resend")) {
      assert.deepEqual(resend, { kind: "resend", fromSeq: 2, toSeq: 3 });
    }
    // Half the answer arrives: the next retry asks only for what is left.
    fake.inject(message(2));
    await clock.advance(500);
    assert.deepEqual(fake.of("resend").at(-1), { kind: "resend", fromSeq: 3, toSeq: 3 });
    fake.inject(message(3));
    await clock.settle();
    assert.deepEqual(events.seqs(), [1, 2, 3, 4]);
    const count = fake.of("resend").length;
    await clock.advance(5_000);
    assert.equal(fake.of("resend").length, count, "no RESEND once the gap is filled");
  });
});

Deno.test("a gap that is never filled ends in a missed event after resendTries rounds, and delivery resumes", async () => {
  await withSession(
    { session: { timings: { resendTries: 3 } } },
    async ({ clock, fake, events }) => {
      fake.inject(message(1));
      fake.inject(message(4));
      fake.inject(message(5));
      await clock.advance(1_499);
      assert.equal(events.of("missed").length, 0);
      await clock.advance(1);
      assert.deepEqual(events.of("missed"), [{ type: "missed", fromSeq: 2, toSeq: 3 }]);
      assert.deepEqual(fake.timesOf("resend"), [0, 500, 1_000]);
      for (const resend of fake.of("resend")) {
        assert.deepEqual(resend, { kind: "resend", fromSeq: 2, toSeq: 3 });
      }
      // Late arrivals of the skipped seqs are dropped; new ones are delivered.
      fake.inject(message(2));
      fake.inject(message(6));
      await clock.advance(5_000);
      assert.deepEqual(
        events.events.filter((e) => e.type !== "welcome").map((e) =>
          e.type === "missed"
            ? `missed ${e.fromSeq}-${e.toSeq}`
            : `${e.type} ${"seq" in e && e.seq}`
        ),
        ["message 1", "missed 2-3", "message 4", "message 5", "message 6"],
      );
      assert.equal(fake.of("resend").length, 3, "no RESEND after giving up");
    },
  );
});

Deno.test("a MESSAGE is retransmitted with the same msgId (300, 600, 1200 ms apart) until ACK", async () => {
  await withSession({}, async ({ clock, fake, events, session }) => {
    const msgId = session.send("hello there");
    assert.equal(session.unacknowledged, 1);
    await clock.advance(2_100);
    assert.deepEqual(fake.timesOf("message"), [0, 300, 900, 2_100]);
    for (const sent of fake.of("message")) {
      assert.deepEqual(sent, { kind: "message", msgId, text: "hello there" });
    }
    fake.inject({ kind: "ack", msgId, seq: 9 });
    await clock.settle();
    assert.deepEqual(events.of("delivered"), [{ type: "delivered", msgId, seq: 9 }]);
    assert.equal(session.unacknowledged, 0);
    fake.inject({ kind: "ack", msgId, seq: 9 }); // an ACK for a retransmission
    await clock.advance(30_000);
    assert.equal(fake.of("message").length, 4, "no retransmission after ACK");
    assert.equal(events.of("delivered").length, 1, "a second ACK is ignored");
    assert.equal(events.of("undelivered").length, 0);
    // The next message gets a new msgId.
    const second = session.send("again");
    assert.notEqual(second, msgId);
    fake.inject({ kind: "ack", msgId: second, seq: 10 });
    await clock.settle();
    assert.equal(events.of("delivered").length, 2);
  });
});

Deno.test("a MESSAGE never ACKed while the server is heard from is undelivered 2 s after its 12th send", async () => {
  await withSession({}, async ({ clock, fake, events, session }) => {
    await clock.advance(1);
    const msgId = session.send("anyone?");
    fake.inject(message(1)); // the server is there; only this message is not getting through
    await clock.advance(20_099);
    assert.equal(events.of("undelivered").length, 0);
    await clock.advance(1);
    assert.deepEqual(events.of("undelivered"), [{ type: "undelivered", msgId, text: "anyone?" }]);
    // Waits double from 300 ms up to 2 s: 12 sends within 18.1 s, given up 2 s later.
    const waits = [300, 600, 1_200, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000];
    const expected = waits.reduce((times, wait) => [...times, times.at(-1)! + wait], [1]);
    assert.deepEqual(fake.timesOf("message"), expected);
    assert.equal(session.unacknowledged, 0);
    await clock.advance(10_000);
    assert.equal(fake.of("message").length, 12, "nothing sent after giving up");
    assert.equal(events.of("delivered").length, 0);
    assert.equal(events.of("rejoining").length, 0);
  });
});

Deno.test("with rejoining off, ERROR 401 closes the session as lost; unacknowledged sends become undelivered", async () => {
  await withSession(
    { session: { timings: { rejoinTimeoutMs: 0 } } },
    async ({ clock, fake, events, session }) => {
      const msgId = session.send("in flight");
      fake.inject({ kind: "error", code: 401, text: "unknown token for this room" });
      await clock.settle();
      assert.ok(events.ended);
      const closed = events.closedEvent();
      assert.equal(closed.reason, "lost");
      assert.match(closed.text, /unknown token/);
      assert.deepEqual(events.of("undelivered"), [{
        type: "undelivered",
        msgId,
        text: "in flight",
      }]);
      assert.ok(fake.closed, "the channel is closed");
      assert.throws(() => session.send("too late"), ChatTransportError);
      await session.leave(); // a no-op once closed
      assert.equal(fake.of("leave").length, 0);
      assert.equal(events.of("rejoining").length, 0);
    },
  );
});

Deno.test("other ERROR codes are reported and the session stays open", async () => {
  await withSession({}, async ({ clock, fake, events }) => {
    fake.inject({ kind: "error", code: 429, text: "rate limited: message not relayed" });
    fake.inject(message(1));
    await clock.settle();
    assert.deepEqual(events.of("error"), [{
      type: "error",
      code: 429,
      text: "rate limited: message not relayed",
    }]);
    assert.equal(events.of("message").length, 1, "a message after the error");
    assert.equal(events.ended, false);
  });
});

Deno.test("garbage from the server is dropped and the session carries on", async () => {
  await withSession({}, async ({ clock, fake, events }) => {
    fake.injectBytes(new Uint8Array([0x99, 1, 2, 3]));
    fake.injectBytes(new Uint8Array(0));
    fake.inject(message(1));
    await clock.settle();
    assert.deepEqual(events.seqs(), [1]);
    assert.equal(events.ended, false);
  });
});

Deno.test("CLOSED 1 closes the session with that reason, ends the iteration, and does not rejoin", async () => {
  await withSession({}, async ({ clock, connector, fake, events }) => {
    fake.inject(message(1));
    fake.inject({ kind: "closed", reason: CloseReason.HOST_LEFT, text: "the host left" });
    await clock.settle();
    assert.equal(events.ended, true);
    assert.deepEqual(events.events.map((e) => e.type), ["welcome", "message", "closed"]);
    assert.deepEqual(events.closedEvent(), {
      type: "closed",
      reason: CloseReason.HOST_LEFT,
      text: "the host left",
    });
    assert.ok(fake.closed);
    // Anything after CLOSED is ignored.
    fake.inject(message(2));
    await clock.advance(60_000);
    assert.equal(events.events.length, 3);
    assert.equal(connector.requests.length, 1, "no rejoin");
  });
});

Deno.test("the connection closing under the session ends it as lost", async () => {
  await withSession({}, async ({ clock, fake, events }) => {
    fake.close();
    await clock.settle();
    assert.deepEqual(events.closedEvent(), {
      type: "closed",
      reason: "lost",
      text: "the connection to the server closed",
    });
  });
});

Deno.test("heartbeats go every half period and carry the highest seq received, even past a gap", async () => {
  await withSession({}, async ({ clock, fake }) => {
    const heartbeats = () => fake.of("heartbeat").map((h) => h.lastSeq);
    await clock.advance(5_000);
    assert.deepEqual(heartbeats(), [0]);

    fake.inject(message(1));
    fake.inject(message(2));
    await clock.advance(5_000);
    assert.deepEqual(heartbeats(), [0, 2]);

    // Seq 4 waits behind a gap: RESEND asks for 3; the heartbeat says 4, so
    // the server does not replay 4 again.
    fake.inject(message(4));
    await clock.settle();
    assert.deepEqual(fake.of("resend")[0], { kind: "resend", fromSeq: 3, toSeq: 3 });
    await clock.advance(10_000);
    assert.deepEqual(heartbeats(), [0, 2, 4, 4]);

    fake.inject(message(3));
    await clock.advance(5_000);
    assert.deepEqual(heartbeats(), [0, 2, 4, 4, 4]);
    assert.deepEqual(fake.timesOf("heartbeat"), [5_000, 10_000, 15_000, 20_000, 25_000]);
  });
});

Deno.test("send rejects empty and over-long texts with RangeError", async () => {
  await withSession({}, async ({ clock, fake, session }) => {
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
    assert.equal(msgId, 1, "a refused text uses up no msgId");
    fake.inject({ kind: "ack", msgId, seq: 1 });
    await clock.settle();
  });
});

Deno.test("leave sends LEAVE and resolves once CLOSED comes back, without waiting", async () => {
  await withSession({}, async ({ clock, fake, events, session }) => {
    await session.leave();
    assert.equal(clock.now(), 0, "no time passed");
    assert.deepEqual(fake.of("leave"), [{ kind: "leave" }]);
    await events.done;
    assert.deepEqual(events.closedEvent(), {
      type: "closed",
      reason: CloseReason.LEFT,
      text: "you left the room",
    });
    assert.ok(fake.closed);
  });
});

Deno.test("leave with no answer sends LEAVE 3 times, 300 ms apart, then closes anyway", async () => {
  await withSession({}, async ({ clock, fake, events, session }) => {
    fake.answerLeave = false;
    let left = false;
    session.leave().then(() => (left = true));
    await clock.advance(899);
    assert.equal(left, false);
    await clock.advance(1);
    assert.equal(left, true);
    assert.deepEqual(fake.timesOf("leave"), [0, 300, 600]);
    await events.done;
    assert.equal(events.closedEvent().reason, CloseReason.LEFT);
    assert.ok(fake.closed);
  });
});

Deno.test("an ERROR 401 while leaving (the CLOSED was lost) ends the leave; no rejoin, no request", async () => {
  await withSession({}, async ({ clock, connector, fake, events, session }) => {
    const requests = connector.requests.length;
    fake.answerLeave = false;
    const leaving = session.leave();
    await clock.settle();
    fake.inject({ kind: "error", code: 401, text: "unknown token for this room" });
    await clock.advance(5_000);
    await leaving;
    assert.deepEqual(events.of("rejoining"), []);
    assert.equal(connector.requests.length, requests, "no CREATE or JOIN went out");
    assert.equal(events.closedEvent().reason, CloseReason.LEFT);
  });
});

Deno.test("an aborted signal leaves the room", async () => {
  const abort = new AbortController();
  await withSession({ session: { signal: abort.signal } }, async ({ clock, fake, events }) => {
    abort.abort();
    await clock.settle();
    assert.deepEqual(fake.of("leave"), [{ kind: "leave" }]);
    assert.equal(events.closedEvent().reason, CloseReason.LEFT);
  });
});

Deno.test("on a reliable channel HELLO, MESSAGE and LEAVE go once each; only the deadlines run", async () => {
  await withSession({
    network: (connector) => (connector.reliable = true),
    beforeWelcome: async (fake, clock) => {
      await clock.advance(5_000);
      assert.deepEqual(fake.timesOf("hello"), [0], "one HELLO, however long WELCOME takes");
      fake.inject(welcome(0));
    },
  }, async ({ clock, fake, session, events }) => {
    const msgId = session.send("once");
    fake.inject(message(1)); // the server is heard from
    await clock.advance(20_100);
    assert.deepEqual(fake.timesOf("message"), [5_000]);
    assert.deepEqual(events.of("undelivered"), [{ type: "undelivered", msgId, text: "once" }]);
    assert.deepEqual(fake.timesOf("heartbeat"), [10_000, 15_000, 20_000, 25_000]);
    fake.answerLeave = false;
    let left = false;
    session.leave().then(() => (left = true));
    await clock.advance(900);
    assert.equal(left, true);
    assert.equal(fake.of("leave").length, 1);
  });
});

Deno.test("on a reliable channel open still gives up when no WELCOME comes", async () => {
  const { clock, connector, opening } = startOpening({
    network: (connector) => (connector.reliable = true),
  });
  await clock.advance(10_000);
  await assert.rejects(opening, /no welcome from the server within 10000 ms/);
  assert.deepEqual(connector.channel.timesOf("hello"), [0]);
});
