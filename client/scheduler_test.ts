/**
 * The scheduler contract, on the system scheduler (a few real milliseconds)
 * and on the virtual clock the session tests use; and the helpers built on it.
 */
import assert from "node:assert/strict";
import { stepWallClock, VirtualClock } from "../testing/virtual_time.ts";
import {
  guardedScheduler,
  raceTimeout,
  repeat,
  type Scheduler,
  sleep,
  systemScheduler,
} from "./scheduler.ts";

Deno.test("systemScheduler: a monotonic clock, timers that fire in order, and cancelled ones that do not", async () => {
  const fired: string[] = [];
  const start = systemScheduler.now();
  await new Promise<void>((resolve) => {
    systemScheduler.setTimeout(() => fired.push("late"), 8);
    const cancelled = systemScheduler.setTimeout(() => fired.push("cancelled"), 1);
    systemScheduler.clearTimeout(cancelled);
    systemScheduler.clearTimeout(undefined);
    systemScheduler.setTimeout(() => fired.push("early"), 1);
    systemScheduler.setTimeout(resolve, 15);
  });
  assert.deepEqual(fired, ["early", "late"]);
  assert.ok(systemScheduler.now() - start >= 14, "performance.now moved with the timers");
});

Deno.test("systemScheduler's clock ignores the wall clock: Date.now stepping an hour does not move it", () => {
  const wall = stepWallClock();
  try {
    const before = systemScheduler.now();
    const dateBefore = Date.now();
    wall.step(3_600_000);
    assert.ok(Date.now() - dateBefore >= 3_600_000);
    assert.ok(systemScheduler.now() - before < 1_000);
    wall.step(-7_200_000);
    assert.ok(systemScheduler.now() >= before, "and it never goes backwards");
  } finally {
    wall.restore();
  }
});

Deno.test("VirtualClock: timers fire at their own time, ties in the order armed, chains settle between", async () => {
  const clock = new VirtualClock();
  const log: string[] = [];
  clock.setTimeout(() => log.push(`b@${clock.now()}`), 20);
  clock.setTimeout(() => log.push(`a@${clock.now()}`), 10);
  clock.setTimeout(() => log.push(`a2@${clock.now()}`), 10);
  clock.clearTimeout(clock.setTimeout(() => log.push("never"), 5));
  // A timer that starts a promise chain which arms another timer in the same stretch.
  clock.setTimeout(() => {
    Promise.resolve().then(() => clock.setTimeout(() => log.push(`c@${clock.now()}`), 3));
  }, 12);
  await clock.advance(14);
  assert.deepEqual(log, ["a@10", "a2@10"]);
  assert.equal(clock.now(), 14);
  await clock.advance(100);
  assert.deepEqual(log, ["a@10", "a2@10", "c@15", "b@20"]);
  assert.equal(clock.now(), 114);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("VirtualClock.runUntil stops at the timer that made the condition true, or says what did not happen", async () => {
  const clock = new VirtualClock();
  let ticks = 0;
  const stop = repeat(clock, 100, () => ticks++);
  await clock.runUntil(() => ticks === 3, "three ticks");
  assert.equal(clock.now(), 300);
  await assert.rejects(
    clock.runUntil(() => ticks === 100, "a hundred ticks", 1_000),
    /a hundred ticks: not after 1300 ms/,
  );
  stop();
  await assert.rejects(clock.runUntil(() => false, "anything"), /anything: .*0 timers left/);
});

Deno.test("repeat, sleep and raceTimeout keep time on the scheduler they are given and leave no timer", async () => {
  const clock = new VirtualClock();
  const ticks: number[] = [];
  const stop = repeat(clock, 250, () => ticks.push(clock.now()));
  await clock.advance(1_000);
  stop();
  await clock.advance(1_000);
  assert.deepEqual(ticks, [250, 500, 750, 1_000]);

  let slept = false;
  sleep(clock, 500).then(() => (slept = true));
  await clock.advance(499);
  assert.equal(slept, false);
  await clock.advance(1);
  assert.equal(slept, true);

  const abort = new AbortController();
  let woke = false;
  sleep(clock, 60_000, abort.signal).then(() => (woke = true));
  abort.abort();
  await clock.settle();
  assert.equal(woke, true, "an abort ends the sleep at once");

  let raced = false;
  raceTimeout(clock, new Promise(() => {}), 300).then(() => (raced = true));
  await clock.advance(300);
  assert.equal(raced, true);
  await raceTimeout(clock, Promise.reject(new Error("settled either way")), 300);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("guardedScheduler hands a throw in a timer to onError instead of the event loop", async () => {
  const clock = new VirtualClock();
  const errors: unknown[] = [];
  const guarded: Scheduler = guardedScheduler(clock, (error) => errors.push(error));
  guarded.setTimeout(() => {
    throw new Error("boom");
  }, 10);
  let after = false;
  guarded.setTimeout(() => (after = true), 20);
  await clock.advance(20);
  assert.equal((errors[0] as Error).message, "boom");
  assert.equal(after, true, "later timers still run");
  assert.equal(guarded.now(), 20);
});
