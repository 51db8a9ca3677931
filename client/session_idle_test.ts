/**
 * The idle warning on virtual time: an "idleWarning" event a minute before
 * the server's idle removal (half the timeout when that is under two
 * minutes), counted from WELCOME and from each acknowledged message, once
 * per quiet stretch, never with the timeout off.
 */
import assert from "node:assert/strict";
import { ACCEPTED, welcome, withSession } from "./fake_network_test_util.ts";
import { idleWarningLeadMs } from "./idle_warning.ts";

Deno.test("idle warning: 60 s before the 300 s removal, counted from WELCOME, once", async () => {
  await withSession({}, async ({ clock, events }) => {
    await clock.advance(239_999);
    assert.deepEqual(events.of("idleWarning"), []);
    await clock.advance(1);
    assert.deepEqual(events.of("idleWarning"), [{ type: "idleWarning", removeInMs: 60_000 }]);
    await clock.advance(600_000); // the fake server never removes us: still one warning
    assert.equal(events.of("idleWarning").length, 1);
  });
});

Deno.test("idle warning: an acknowledged message starts the quiet stretch again", async () => {
  await withSession({}, async ({ clock, fake, session, events }) => {
    await clock.advance(100_000);
    const msgId = session.send("still here");
    await clock.advance(50);
    fake.inject({ kind: "ack", msgId, seq: 1 });
    await clock.advance(0);
    await clock.runUntil(() => events.of("idleWarning").length === 1, "the warning");
    assert.equal(clock.now(), 100_050 + 240_000);
  });
});

Deno.test("idle warning: a message the server never acknowledged does not count", async () => {
  await withSession({}, async ({ clock, fake, session, events }) => {
    await clock.advance(100_000);
    session.send("refused"); // refused, not relayed: no ACK
    await clock.advance(50);
    fake.inject({ kind: "error", code: 429, text: "rate limited: message not relayed" });
    await clock.runUntil(() => events.of("idleWarning").length === 1, "the warning");
    assert.equal(clock.now(), 240_000);
  });
});

Deno.test("idle warning: half the timeout when it is under two minutes; none when it is 0", async () => {
  assert.equal(idleWarningLeadMs(300_000), 60_000);
  assert.equal(idleWarningLeadMs(120_000), 60_000);
  assert.equal(idleWarningLeadMs(20_000), 10_000);
  assert.equal(idleWarningLeadMs(0), null);

  const short = { ...ACCEPTED, idleTimeoutSeconds: 20 };
  await withSession({ network: (c) => (c.accepted = short) }, async ({ clock, events }) => {
    await clock.advance(10_000);
    assert.deepEqual(events.of("idleWarning"), [{ type: "idleWarning", removeInMs: 10_000 }]);
  });

  const off = { ...ACCEPTED, idleTimeoutSeconds: 0 };
  await withSession({ network: (c) => (c.accepted = off) }, async ({ clock, events }) => {
    await clock.advance(3_600_000);
    assert.deepEqual(events.of("idleWarning"), []);
  });
});

Deno.test("idle warning: none while rejoining; the new membership's WELCOME starts it again", async () => {
  await withSession({}, async ({ clock, connector, fake, events }) => {
    await clock.advance(235_000);
    fake.inject({ kind: "error", code: 401, text: "unknown token for this room" });
    await clock.runUntil(() => connector.channels.length === 2, "the rejoin's connection");
    await clock.advance(8_000); // no WELCOME yet, and past the first stretch's warning time
    assert.deepEqual(events.of("idleWarning"), []);
    connector.channel.inject(welcome(0));
    await clock.runUntil(() => events.of("welcome").length === 2, "the second WELCOME");
    const welcomedAt = clock.now();
    await clock.runUntil(() => events.of("idleWarning").length === 1, "the warning");
    assert.equal(clock.now() - welcomedAt, 240_000);
  });
});
