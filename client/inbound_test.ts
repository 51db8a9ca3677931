/** InboundOrder on its own: no session, no channel, virtual time. */
import assert from "node:assert/strict";
import { type ChatEvent, EventType } from "../protocol/datagram.ts";
import { VirtualClock } from "../testing/virtual_time.ts";
import { INBOUND_WINDOW, InboundOrder, MAX_RESEND_RUNS } from "./inbound.ts";

function event(seq: number): ChatEvent {
  return { seq, timeMs: seq, type: EventType.MESSAGE, name: "bob", text: `m${seq}` };
}

/** An InboundOrder whose deliveries, RESENDs and misses are recorded as lines. */
function recorded(resendTries = 20) {
  const clock = new VirtualClock();
  const log: string[] = [];
  const order = new InboundOrder({
    scheduler: clock,
    resendIntervalMs: 500,
    resendTries,
    askFor: (from, to) => log.push(`resend ${from}-${to} @${clock.now()}`),
    deliver: (e, replay) => log.push(`${e.seq}${replay ? " (replay)" : ""}`),
    missed: (from, to) => log.push(`missed ${from}-${to} @${clock.now()}`),
  });
  return { clock, log, order };
}

Deno.test("InboundOrder keeps events until WELCOME, then delivers from at most 50 back, replay marked", () => {
  const { log, order } = recorded();
  order.receive(event(101));
  order.receive(event(60)); // older than the replay window: never delivered
  order.receive(event(100));
  assert.deepEqual(log, [], "nothing before start");
  order.start(100);
  for (let seq = 51; seq <= 99; seq++) order.receive(event(seq));
  assert.deepEqual(log, [
    ...Array.from({ length: 50 }, (_, i) => `${51 + i} (replay)`),
    "101",
  ]);
  assert.equal(order.highestSeq, 101);
});

Deno.test("InboundOrder asks for each gap at once, again every interval, and gives up after resendTries rounds", async () => {
  const { clock, log, order } = recorded(2);
  order.start(0);
  order.receive(event(1));
  order.receive(event(3));
  order.receive(event(6));
  assert.equal(order.highestSeq, 6);
  await clock.advance(1_000);
  assert.deepEqual(log, [
    "1",
    "resend 2-2 @0",
    "resend 4-5 @0",
    "resend 2-2 @500",
    "resend 4-5 @500",
    "missed 2-2 @1000",
    "3",
    // The next gap's round starts afresh.
    "resend 4-5 @1000",
  ]);
  order.stop();
  await clock.advance(10_000);
  assert.equal(log.length, 8, "stopped: no more rounds");
  assert.equal(clock.pendingTimers, 0);
  assert.equal(order.highestSeq, 0);
});

Deno.test(`InboundOrder sends at most ${MAX_RESEND_RUNS} RESENDs at once; the rest wait a round`, async () => {
  const { clock, log, order } = recorded();
  // Every other seq missing (40 runs of one), all seen at once when WELCOME comes.
  for (let seq = 1; seq <= 81; seq += 2) order.receive(event(seq));
  order.start(0);
  await clock.advance(500);
  const resends = log.filter((line) => line.startsWith("resend"));
  assert.equal(resends.length, MAX_RESEND_RUNS);
  assert.deepEqual(resends.slice(0, 2), ["resend 2-2 @500", "resend 4-4 @500"]);
  order.stop();
});

Deno.test(`InboundOrder keeps only seqs within ${INBOUND_WINDOW} of the next one, before and after WELCOME`, async () => {
  const { clock, log, order } = recorded();
  order.receive(event(2));
  order.receive(event(0xffff_ffff)); // overtook WELCOME, and is far out of any window
  order.start(0);
  assert.deepEqual(log, [], "seq 2 waits for 1; the stray one is gone");
  order.receive(event(1 + INBOUND_WINDOW)); // one past the window
  order.receive(event(INBOUND_WINDOW)); // the last seq inside it
  assert.equal(order.highestSeq, INBOUND_WINDOW);
  await clock.advance(500);
  assert.deepEqual(log, [
    `resend 3-${INBOUND_WINDOW - 1} @0`, // past what the replay after WELCOME covers
    "resend 1-1 @500",
    `resend 3-${INBOUND_WINDOW - 1} @500`,
  ]);
  order.stop();
});

Deno.test("InboundOrder.head: a lost tail is asked for a round later; a head past the window skips to it, saying what was missed", async () => {
  const { clock, log, order } = recorded();
  order.start(0);
  order.receive(event(1));
  order.head(3);
  order.head(2); // older: nothing changes
  await clock.advance(500);
  assert.deepEqual(log, ["1", "resend 2-3 @500"]);
  log.length = 0;
  order.receive(event(3));
  order.receive(event(5));
  order.head(10_000);
  const floor = 10_000 - INBOUND_WINDOW + 1;
  assert.deepEqual(log, [
    "resend 4-4 @500", // seq 5 showed the gap
    "missed 2-2 @500",
    "3",
    "missed 4-4 @500",
    "5",
    `missed 6-${floor - 1} @500`,
    `resend ${floor}-10000 @500`,
  ]);
  log.length = 0;
  order.receive(event(floor));
  assert.deepEqual(log, [`${floor}`]);
  assert.equal(order.highestSeq, floor, "the head is not claimed as received");
  order.stop();
});
