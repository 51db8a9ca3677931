/**
 * Revision 2 in the session: msgIds from 1 per membership, pacing at the
 * advertised rate, at most a window outstanding, REFUSED, renumbering after
 * a rejoin, and the first join retrying 429. On virtual time.
 */
import assert from "node:assert/strict";
import { ChatRefusedError } from "./errors.ts";
import { ACCEPTED, startOpening, welcome, withSession } from "./fake_network_test_util.ts";
import type { JoinAccepted } from "./connector.ts";

const REVISION_2: JoinAccepted = {
  ...ACCEPTED,
  protocol: 2,
  messageRate: 20,
  messageBurst: 40,
  messageWindow: 64,
  messageWindowBytes: 65_536,
  gapTimeoutSeconds: 5,
};

Deno.test("a burst of 60 leaves paced: 40 at once, then one every 50 ms, in order, no error", async () => {
  await withSession(
    { network: (connector) => (connector.accepted = REVISION_2) },
    async ({ clock, fake, events, session }) => {
      const ids = Array.from({ length: 60 }, (_, i) => session.send(`m${i + 1}`));
      assert.deepEqual(ids, Array.from({ length: 60 }, (_, i) => i + 1));
      assert.equal(fake.of("message").length, 40, "the burst");
      await clock.advance(1_000);
      // First tries only (retransmissions start 300 ms after each).
      const seen = new Set<number>();
      const first = fake.sent.filter((s) =>
        s.body.kind === "message" && !seen.has(s.body.msgId) && seen.add(s.body.msgId)
      );
      assert.deepEqual(first.map((s) => s.body.kind === "message" && s.body.msgId), ids);
      assert.deepEqual(
        first.slice(40).map((s) => s.atMs),
        ids.slice(40).map((_, i) => 50 * (i + 1)),
      );
      assert.equal(events.of("error").length, 0);
      assert.equal(events.of("undelivered").length, 0);
    },
  );
});

Deno.test("without advertised fields (revision 1) the pace is 20 a second, bursts of 40", async () => {
  await withSession({}, async ({ clock, fake, session }) => {
    for (let i = 0; i < 45; i++) session.send(`m${i}`);
    assert.equal(fake.of("message").length, 40);
    await clock.advance(49);
    assert.equal(fake.of("message").filter((m) => m.msgId > 40).length, 0);
    await clock.advance(1);
    assert.equal(fake.of("message").filter((m) => m.msgId > 40).length, 1);
  });
});

Deno.test("at most the window is out: an ACK of the oldest lets the next one go", async () => {
  await withSession(
    {
      network: (
        connector,
      ) => (connector.accepted = { ...REVISION_2, messageRate: 0, messageWindow: 4 }),
    },
    async ({ clock, fake, session }) => {
      for (let i = 0; i < 6; i++) session.send(`m${i + 1}`);
      const firstTries = () => [...new Set(fake.of("message").map((m) => m.msgId))];
      assert.deepEqual(firstTries(), [1, 2, 3, 4]);
      fake.inject({ kind: "ack", msgId: 2, seq: 5 }); // not the oldest: nothing more may go
      await clock.settle();
      assert.deepEqual(firstTries(), [1, 2, 3, 4]);
      fake.inject({ kind: "ack", msgId: 1, seq: 4 });
      await clock.settle();
      assert.deepEqual(firstTries(), [1, 2, 3, 4, 5, 6], "the oldest now is 3: 3..6 fit");
    },
  );
});

Deno.test("REFUSED 410 and 413 are undelivered at once; 429 is sent again later, never an error", async () => {
  await withSession(
    { network: (connector) => (connector.accepted = REVISION_2) },
    async ({ clock, fake, events, session }) => {
      session.send("one");
      session.send("two");
      session.send("three");
      fake.inject({ kind: "refused", msgId: 1, code: 410, text: "skipped" });
      fake.inject({ kind: "refused", msgId: 2, code: 413, text: "too long" });
      fake.inject({ kind: "refused", msgId: 3, code: 429, text: "later" });
      await clock.settle();
      assert.deepEqual(events.of("undelivered"), [
        { type: "undelivered", msgId: 1, text: "one" },
        { type: "undelivered", msgId: 2, text: "two" },
      ]);
      assert.equal(session.unacknowledged, 1);
      await clock.advance(300);
      assert.deepEqual(fake.of("message").map((m) => m.msgId), [1, 2, 3, 3], "3 again");
      fake.inject({ kind: "refused", msgId: 1, code: 410, text: "again" }); // already settled
      fake.inject({ kind: "ack", msgId: 3, seq: 7 });
      await clock.settle();
      assert.deepEqual(events.of("delivered"), [{ type: "delivered", msgId: 3, seq: 7 }]);
      assert.equal(events.of("error").length, 0);
      assert.equal(events.of("undelivered").length, 2);
    },
  );
});

Deno.test("after a rejoin what is unacknowledged is numbered again from msgId 1, in order", async () => {
  await withSession(
    { network: (connector) => (connector.accepted = REVISION_2) },
    async ({ clock, connector, fake, events, session }) => {
      const a = session.send("a");
      const b = session.send("b");
      const c = session.send("c");
      fake.inject({ kind: "ack", msgId: 1, seq: 3 });
      fake.inject({ kind: "error", code: 401, text: "unknown token" });
      await clock.settle();
      const d = session.send("d"); // typed while away
      const second = connector.channel;
      second.inject(welcome(1));
      await clock.settle();
      assert.deepEqual(second.of("message").map((m) => [m.msgId, m.text]), [
        [1, "b"],
        [2, "c"],
        [3, "d"],
      ]);
      second.inject({ kind: "ack", msgId: 1, seq: 2 });
      second.inject({ kind: "ack", msgId: 3, seq: 4 });
      await clock.settle();
      assert.deepEqual(events.of("delivered"), [
        { type: "delivered", msgId: a, seq: 3 },
        { type: "delivered", msgId: b, seq: 2 },
        { type: "delivered", msgId: d, seq: 4 },
      ]);
      assert.equal(session.unacknowledged, 1, `${c} waits`);
    },
  );
});

Deno.test("when every msgId is used and answered, the session gets a new membership and numbers from 1", async () => {
  await withSession(
    {
      session: { lastMsgId: 2 },
      network: (connector) => (connector.accepted = REVISION_2),
    },
    async ({ clock, connector, fake, events, session }) => {
      session.send("a");
      session.send("b");
      session.send("c"); // msgId 3 would be past the last: it waits
      assert.deepEqual(fake.of("message").map((m) => m.msgId), [1, 2]);
      fake.inject({ kind: "ack", msgId: 1, seq: 2 });
      await clock.settle();
      assert.equal(events.of("rejoining").length, 0, "msgId 2 is still out");
      fake.inject({ kind: "ack", msgId: 2, seq: 3 });
      await clock.settle();
      assert.equal(events.of("rejoining").length, 1, "used up: rejoin");
      const second = connector.channel;
      assert.notEqual(second, fake);
      second.inject(welcome(3));
      await clock.settle();
      assert.deepEqual(second.of("message").map((m) => [m.msgId, m.text]), [[1, "c"]]);
      assert.equal(events.of("undelivered").length, 0);
    },
  );
});

Deno.test("the first join retries 429 after 250 ms, doubling, and gives up within connectTimeout", async () => {
  const busy = () => new ChatRefusedError(429, "too many requests");
  const { clock, connector, opening } = startOpening({
    network: (connector) => (connector.answers = [busy(), busy(), "ok"]),
  });
  await clock.advance(750);
  assert.deepEqual(connector.requestTimes, [0, 250, 750]);
  connector.channel.inject(welcome(0));
  const session = await opening;
  await session.leave();

  const never = startOpening({
    session: { timings: { connectTimeoutMs: 3_000 } },
    network: (connector) => (connector.otherwise = busy()),
  });
  let failure: unknown;
  never.opening.catch((error) => (failure = error));
  await never.clock.advance(5_000);
  assert.ok(failure instanceof ChatRefusedError && failure.status === 429);
  // 0, 250, 750, 1750; the next wait (2 s) would end past 3 s.
  assert.deepEqual(never.connector.requestTimes, [0, 250, 750, 1_750]);

  const other = startOpening({
    network: (connector) => (connector.answers = [new ChatRefusedError(404, "no room")]),
  });
  let refused: unknown;
  other.opening.catch((error) => (refused = error));
  await other.clock.advance(5_000);
  assert.ok(refused instanceof ChatRefusedError && refused.status === 404);
  assert.equal(other.connector.requests.length, 1, "only 429 is retried");
});

Deno.test("revision 2: tries are spaced to fit 8 in the gap timeout, and given up no sooner than before", async () => {
  await withSession(
    { network: (connector) => (connector.accepted = REVISION_2) },
    async ({ clock, fake, events, session }) => {
      session.send("hello?");
      await clock.advance(5_000);
      // 0, 300, 900, then every 625 ms (5 s / 8): 9 tries before the server would skip it.
      assert.deepEqual(fake.timesOf("message"), [
        0,
        300,
        900,
        1_525,
        2_150,
        2_775,
        3_400,
        4_025,
        4_650,
      ]);
      fake.inject({ kind: "event", seq: 2, timeMs: 0, type: 2, name: "bob", text: "" }); // heard
      await clock.advance(15_000);
      assert.equal(events.of("undelivered").length, 0, "still trying at 20 s");
      await clock.advance(1_000);
      // The default schedule gives up 20.1 s after the first try; this one at 20.275 s.
      assert.equal(events.of("undelivered").length, 1);
      assert.equal(fake.of("message").length, 33);
    },
  );
});
