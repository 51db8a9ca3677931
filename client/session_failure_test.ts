/**
 * When the session's own side fails (a channel that rejects or throws, a
 * throw while handling a datagram or in a timer), the session closes as lost
 * with a clear text and keeps the error; nothing escapes as an unhandled
 * rejection or an uncaught exception (either would fail these tests).
 */
import assert from "node:assert/strict";
import { ChatInternalError } from "./errors.ts";
import { message, startOpening, withSession } from "./fake_network_test_util.ts";

Deno.test("a channel whose receive rejects unexpectedly closes the session as lost, with the error kept", async () => {
  await withSession({}, async ({ clock, fake, session, events }) => {
    const msgId = session.send("in flight");
    fake.failReceive(new TypeError("the socket went strange"));
    await clock.settle();
    assert.deepEqual(events.closedEvent(), {
      type: "closed",
      reason: "lost",
      text: "unexpected error in the chat client: TypeError: the socket went strange",
    });
    assert.deepEqual(events.of("undelivered"), [{ type: "undelivered", msgId, text: "in flight" }]);
    assert.ok(session.failure instanceof ChatInternalError);
    assert.ok(session.failure.cause instanceof TypeError);
    assert.ok(fake.closed);
  });
});

Deno.test("a throw while handling a datagram (the channel's send, asking for a gap) closes the session as lost", async () => {
  await withSession({}, async ({ clock, fake, events, session }) => {
    fake.inject(message(1));
    await clock.settle();
    fake.sendThrows = new Error("InvalidStateError: not open");
    fake.inject(message(3)); // a gap: the session sends RESEND, which throws
    await clock.settle();
    const closed = events.closedEvent();
    assert.equal(closed.reason, "lost");
    assert.match(closed.text, /unexpected error in the chat client: Error: InvalidStateError/);
    assert.equal(session.failure?.cause, fake.sendThrows);
    assert.deepEqual(events.seqs(), [1]);
    fake.sendThrows = null; // so the harness's leave can run
  });
});

Deno.test("a throw in a timer (a heartbeat the channel refuses) closes the session as lost", async () => {
  await withSession({}, async ({ clock, fake, events }) => {
    fake.sendThrows = new RangeError("refused");
    await clock.advance(5_000);
    assert.equal(events.closedEvent().reason, "lost");
    assert.match(events.closedEvent().text, /RangeError: refused/);
    fake.sendThrows = null;
  });
});

Deno.test("an unexpected failure before WELCOME makes open reject with ChatInternalError", async () => {
  const { clock, connector, opening } = startOpening();
  await clock.settle();
  connector.channel.failReceive(new SyntaxError("bad state"));
  await assert.rejects(opening, (error) => {
    assert.ok(error instanceof ChatInternalError);
    assert.match(error.message, /SyntaxError: bad state/);
    return true;
  });
  assert.ok(connector.channel.closed);
  assert.equal(clock.pendingTimers, 0);
});
