/** Outbox on its own: no session, no channel, virtual time. */
import assert from "node:assert/strict";
import { VirtualClock } from "../testing/virtual_time.ts";
import { Outbox, type OutboxOptions } from "./outbox.ts";

/** An Outbox whose sends and reports are recorded as lines; "connection" counts resumes. */
function recorded(overrides: Partial<OutboxOptions> = {}) {
  const clock = new VirtualClock();
  const log: string[] = [];
  let connection = 0;
  let lastHeardAt = -Infinity;
  const outbox = new Outbox({
    scheduler: clock,
    retryBaseMs: 300,
    retryMaxMs: 2_000,
    sendTries: 4,
    encode: (msgId, text) => {
      if (text.length > 10) throw new RangeError("too long");
      return new TextEncoder().encode(`${connection}:${msgId}:${text}`);
    },
    send: (bytes) => log.push(`send ${new TextDecoder().decode(bytes)} @${clock.now()}`),
    lastHeardAt: () => lastHeardAt,
    delivered: (msgId, seq) => log.push(`delivered ${msgId} as ${seq}`),
    undelivered: (msgId, text) => log.push(`undelivered ${msgId} ${text} @${clock.now()}`),
    serverSilent: () => false,
    ...overrides,
  });
  const resume = (reliable = false) => {
    connection++;
    outbox.resume(reliable);
  };
  return { clock, log, outbox, resume, heard: () => (lastHeardAt = clock.now()) };
}

Deno.test("Outbox retransmits until ACK, 300 ms doubling, and gives up after sendTries", async () => {
  const { clock, log, outbox, resume, heard } = recorded();
  resume();
  const first = outbox.add("hi");
  const second = outbox.add("there");
  await clock.advance(500);
  outbox.acknowledge(first, 7);
  outbox.acknowledge(first, 7); // a repeated ACK is ignored
  heard();
  await clock.advance(5_000);
  assert.deepEqual(log, [
    "send 1:1:hi @0",
    "send 1:2:there @0",
    "send 1:1:hi @300",
    "send 1:2:there @300",
    "delivered 1 as 7",
    "send 1:2:there @900",
    "send 1:2:there @2100",
    "undelivered 2 there @4100",
  ]);
  assert.equal(second, 2);
  assert.equal(outbox.size, 0);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("Outbox holds messages while paused and sends them again, encoded afresh, on resume", async () => {
  const { clock, log, outbox, resume } = recorded();
  outbox.add("early"); // before any connection
  assert.throws(() => outbox.add("far too long"), RangeError);
  assert.deepEqual(log, []);
  resume();
  outbox.pause();
  await clock.advance(10_000);
  resume();
  assert.deepEqual(log, ["send 1:1:early @0", "send 2:1:early @10000"]);
  outbox.giveUpAll();
  assert.deepEqual(log.at(-1), "undelivered 1 early @10000");
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("Outbox asks the session when nothing at all was heard since a message's first try", async () => {
  let asked = 0;
  const { clock, log, outbox, resume } = recorded({ serverSilent: () => ++asked > 0 });
  resume();
  outbox.add("hello?");
  await clock.advance(60_000);
  assert.equal(asked, 1);
  assert.equal(outbox.size, 1, "kept: the session took it up");
  assert.ok(log.every((line) => !line.startsWith("undelivered")));
});

Deno.test("Outbox on a reliable channel sends once and keeps only the give-up timing", async () => {
  const { clock, log, outbox, resume, heard } = recorded();
  resume(true);
  outbox.add("once");
  heard();
  await clock.advance(4_100);
  assert.deepEqual(log, ["send 1:1:once @0", "undelivered 1 once @4100"]);
});
