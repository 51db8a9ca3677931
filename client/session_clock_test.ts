/**
 * Every session timer runs on the injected monotonic clock: the wall clock
 * (`Date.now`) jumping an hour either way, as NTP or a person fixing the date
 * can make it, moves no HELLO, retransmission, rejoin attempt or deadline.
 */
import assert from "node:assert/strict";
import { stepWallClock, VirtualClock } from "../testing/virtual_time.ts";
import { ChatTransportError } from "./errors.ts";
import { welcome, withSession } from "./fake_network_test_util.ts";
import { repeat } from "./scheduler.ts";

const HOUR_MS = 3_600_000;

Deno.test("the wall clock jumping ±1 h every 100 ms changes no session timing", async () => {
  const wall = stepWallClock();
  const clock = new VirtualClock();
  const realStart = Date.now();
  let sign = 1;
  let widest = 0;
  // Forward an hour, back two, forward two...: Date.now swings either side of the truth.
  const stopJumping = repeat(clock, 100, () => {
    wall.step(sign * (widest === 0 ? HOUR_MS : 2 * HOUR_MS));
    widest = Math.max(widest, Math.abs(Date.now() - realStart));
    sign = -sign;
  });
  try {
    await withSession({
      clock,
      beforeWelcome: async (fake, clock) => {
        await clock.advance(1_500);
        fake.inject(welcome(0));
      },
    }, async ({ clock, connector, fake, session, events }) => {
      assert.deepEqual(fake.timesOf("hello"), [0, 500, 1_000, 1_500]);
      connector.otherwise = new ChatTransportError("cannot reach the server");
      await clock.advance(500);
      session.send("anyone?");
      await clock.runUntil(() => events.of("rejoining").length === 1, "the rejoin");
      // 12 sends 300 ms doubling to 2 s apart from 2 s, nothing heard: rejoin 2 s after the last.
      const waits = [300, 600, 1_200, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000];
      const sends = waits.reduce((times, wait) => [...times, times.at(-1)! + wait], [2_000]);
      assert.deepEqual(fake.timesOf("message"), sends);
      assert.equal(clock.now(), 22_100);
      await clock.runUntil(() => events.ended, "the rejoin to give up");
      assert.equal(clock.now(), 82_100, "the rejoin gave up exactly 60 s later");
      assert.deepEqual(
        connector.requestTimes.slice(1, 6).map((t) => t - 22_100),
        [0, 250, 750, 1_750, 3_750],
        "rejoin attempts 250 ms doubling apart",
      );
      stopJumping();
    });
    assert.ok(widest >= HOUR_MS, `Date.now was really stepped (by ${widest} ms at most)`);
  } finally {
    stopJumping();
    wall.restore();
  }
});
