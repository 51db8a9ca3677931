/**
 * ChatSession getting back into its room when the server forgets it, over a
 * scripted network on virtual time: who creates and who joins, what waits,
 * what is resent with the new token, and what is not shown twice.
 */
import assert from "node:assert/strict";
import { CloseReason, EventType } from "../protocol/datagram.ts";
import { Operation } from "../protocol/tcrp.ts";
import { ChatRefusedError, ChatTransportError } from "./errors.ts";
import { message, ROOM, USER, welcome, withSession } from "./fake_network_test_util.ts";

Deno.test("after ERROR 401 from a restarted server the host creates the room again; what was typed meanwhile is sent", async () => {
  await withSession(
    { session: { password: "pw", capacity: 5 } },
    async ({ clock, connector, fake, session, events }) => {
      const before = session.send("typed before");
      fake.inject({ kind: "error", code: 401, text: "unknown token for this room" });
      await clock.settle();
      assert.deepEqual(events.of("rejoining"), [{
        type: "rejoining",
        reason: "the server no longer knows this session: unknown token for this room",
        timeoutMs: 60_000,
      }]);
      assert.ok(fake.closed, "the old channel is closed");
      const during = session.send("typed during");
      // The room is made again with the same name, password and capacity.
      assert.equal(connector.requests.length, 2);
      assert.deepEqual(connector.requests[1], {
        operation: Operation.CREATE_ROOM,
        roomName: ROOM,
        username: USER,
        password: "pw",
        capacity: 5,
        protocol: 2,
      });
      const second = connector.channel;
      assert.notEqual(second, fake);
      assert.equal(second.of("hello").length, 1, "HELLO on the new channel");
      assert.equal(second.of("message").length, 0, "nothing is sent before WELCOME");
      await clock.advance(400);
      second.inject(welcome(1));
      await clock.settle();
      assert.deepEqual(second.of("message").map((m) => [m.msgId, m.text]), [
        [before, "typed before"],
        [during, "typed during"],
      ]);
      assert.ok(
        second.sent.every((s) => s.tokenByte === 2),
        "everything on the new channel carries the new token",
      );
      assert.deepEqual(events.of("welcome").map((w) => w.rejoined), [false, true]);
      assert.equal(events.of("undelivered").length, 0);
      // Retransmission runs on the new channel as before.
      await clock.advance(300);
      assert.equal(second.of("message").length, 4);
    },
  );
});

Deno.test("a member that was not the host joins again, waiting out 404 until the host has made the room", async () => {
  await withSession({
    session: { create: false, password: "pw", capacity: null },
    beforeWelcome: (fake) => fake.inject(welcome(2, [USER, "bob"], "bob")),
  }, async ({ clock, connector, fake, events }) => {
    connector.answers = [
      new ChatRefusedError(404, "no room"),
      new ChatRefusedError(404, "no room"),
      new ChatTransportError("connection refused"),
    ];
    fake.inject({ kind: "closed", reason: CloseReason.SHUTDOWN, text: "restarting" });
    await clock.settle();
    assert.equal(events.of("rejoining")[0]!.reason, "the server shut down: restarting");
    // Waits 250 ms doubling between attempts.
    await clock.advance(250 + 500 + 1_000);
    assert.deepEqual(connector.requestTimes, [0, 0, 250, 750, 1_750]);
    assert.ok(connector.requests.slice(1).every((r) => r.operation === Operation.JOIN_ROOM));
    assert.ok(connector.requests.every((r) => r.capacity === null));
    connector.channel.inject(welcome(0, [USER, "bob"], "bob"));
    await clock.settle();
    assert.deepEqual(events.of("welcome").map((w) => w.rejoined), [false, true]);
  });
});

Deno.test("a MESSAGE with no answer at all (the server is gone) starts a rejoin and is kept; the rejoin gives up after 60 s", async () => {
  await withSession({}, async ({ clock, connector, events, session }) => {
    connector.otherwise = new ChatTransportError("cannot reach 127.0.0.1:9001: connection refused");
    await clock.advance(1);
    session.send("anyone?");
    // 12 tries over 18.1 s, then 2 s for the last answer: nothing heard since the first.
    await clock.advance(20_099);
    assert.equal(events.of("rejoining").length, 0);
    await clock.advance(1);
    assert.deepEqual(events.of("rejoining"), [{
      type: "rejoining",
      reason: "no answer from the server",
      timeoutMs: 60_000,
    }]);
    assert.equal(events.of("undelivered").length, 0, "kept while rejoining");
    await clock.advance(59_999);
    assert.equal(events.ended, false);
    await clock.advance(1);
    await events.done; // the server never returned: the rejoin gave up, at its deadline
    assert.equal(clock.now(), 80_101);
    const closed = events.closedEvent();
    assert.equal(closed.reason, "lost");
    assert.equal(
      closed.text,
      `could not get back into "${ROOM}": cannot reach 127.0.0.1:9001: connection refused`,
    );
    assert.deepEqual(events.of("undelivered").map((u) => u.text), ["anyone?"]);
  });
});

Deno.test("CLOSED 4 (the server shutting down) starts a rejoin that waits while the old name lingers; leaving then just closes", async () => {
  await withSession({}, async ({ clock, connector, fake, events, session }) => {
    // The room still exists on this (same) server with our old name in it.
    connector.otherwise = new ChatRefusedError(409, "taken");
    fake.inject({ kind: "closed", reason: CloseReason.SHUTDOWN, text: "bye" });
    await clock.settle();
    assert.equal(events.of("rejoining")[0]!.reason, "the server shut down: bye");
    await clock.advance(5_000);
    // The former host tries to create, finds the room there and joins it at once, then retries.
    assert.deepEqual(
      connector.requests.slice(1, 4).map((r) => r.operation),
      [Operation.CREATE_ROOM, Operation.JOIN_ROOM, Operation.JOIN_ROOM],
    );
    assert.equal(events.ended, false);
    await session.leave();
    assert.equal(events.closedEvent().reason, CloseReason.LEFT);
    const attempts = connector.requests.length;
    await clock.advance(60_000);
    assert.equal(connector.requests.length, attempts, "no attempt after leaving");
  });
});

Deno.test("a refusal waiting cannot change (403) ends the rejoin at once", async () => {
  await withSession({}, async ({ clock, connector, fake, events }) => {
    connector.answers = [new ChatRefusedError(403, "the room is full")];
    fake.inject({ kind: "closed", reason: CloseReason.LOST, text: "nothing heard" });
    await clock.settle();
    assert.deepEqual(events.closedEvent(), {
      type: "closed",
      reason: "lost",
      text: `could not get back into "${ROOM}": the room is full`,
    });
    assert.equal(connector.requests.length, 2);
  });
});

Deno.test("a rejoin whose HELLO goes unanswered asks for a membership again", async () => {
  await withSession(
    { session: { timings: { helloTimeoutMs: 2_000 } } },
    async ({ clock, connector, fake, events }) => {
      fake.inject({ kind: "error", code: 401, text: "unknown token" });
      await clock.advance(2_000);
      assert.equal(connector.channels.length, 3, "a third membership after 2 s of HELLO");
      assert.ok(connector.channels[1]!.closed, "the unanswered channel is closed");
      assert.deepEqual(connector.channels[1]!.timesOf("hello"), [0, 500, 1_000, 1_500]);
      connector.channel.inject(welcome(0));
      await clock.settle();
      assert.deepEqual(events.of("welcome").map((w) => w.rejoined), [false, true]);
    },
  );
});

Deno.test("after a rejoin, WELCOME's replay of events already shown is not shown again", async () => {
  await withSession({}, async ({ clock, connector, fake, events }) => {
    fake.inject(message(1));
    fake.inject(message(2));
    await clock.settle();
    fake.inject({ kind: "closed", reason: CloseReason.LOST, text: "nothing heard" });
    await clock.settle();
    const second = connector.channel;
    assert.equal(second.of("hello").length, 1, "HELLO after rejoining");
    second.inject(welcome(3));
    second.inject(message(1)); // the same event as before: the same room on the same server
    // The same seq, another event: a new room on a restarted server.
    second.inject({
      kind: "event",
      seq: 2,
      timeMs: 5,
      type: EventType.MESSAGE,
      name: "x",
      text: "y",
    });
    second.inject(message(3));
    await clock.settle();
    assert.deepEqual(events.of("message").map((m) => [m.seq, m.time.getTime()]), [
      [1, 1_700_000_000_001],
      [2, 1_700_000_000_002],
      [2, 5],
      [3, 1_700_000_000_003],
    ]);
  });
});
