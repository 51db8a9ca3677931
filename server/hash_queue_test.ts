import assert from "node:assert/strict";
import { HashQueue, HashQueueBusy } from "./hash_queue.ts";

/** A job the test finishes by hand, recording when it started. */
function manualJob(log: string[], name: string) {
  let finish!: (value: string) => void;
  const done = new Promise<string>((resolve) => (finish = resolve));
  return {
    job: () => {
      log.push(`start ${name}`);
      return done;
    },
    finish: () => finish(name),
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("HashQueue: at most `concurrency` jobs run; the rest start in order as slots free", async () => {
  const queue = new HashQueue({ concurrency: 2, monotonic: () => 0 });
  const log: string[] = [];
  const jobs = ["a", "b", "c", "d"].map((name) => manualJob(log, name));
  const results = jobs.map((j) => queue.run(j.job));
  await tick();
  assert.deepEqual(log, ["start a", "start b"]);
  assert.equal(queue.running, 2);
  assert.equal(queue.waiting, 2);
  jobs[1]!.finish();
  assert.equal(await results[1], "b");
  await tick();
  assert.deepEqual(log, ["start a", "start b", "start c"]);
  jobs[0]!.finish();
  jobs[2]!.finish();
  await tick();
  assert.deepEqual(log, ["start a", "start b", "start c", "start d"]);
  jobs[3]!.finish();
  assert.deepEqual(await Promise.all(results), ["a", "b", "c", "d"]);
  assert.equal(queue.running, 0);
});

Deno.test("HashQueue: a waiting job whose signal fires is dropped and never runs", async () => {
  const queue = new HashQueue({ concurrency: 1, monotonic: () => 0 });
  const log: string[] = [];
  const first = manualJob(log, "first");
  const second = manualJob(log, "second");
  const running = queue.run(first.job);
  const cancel = new AbortController();
  const dropped = queue.run(second.job, { signal: cancel.signal });
  cancel.abort(new Error("the client went away"));
  await assert.rejects(dropped, /the client went away/);
  assert.equal(queue.waiting, 0);
  first.finish();
  await running;
  await tick();
  assert.deepEqual(log, ["start first"]);
  // An already aborted signal never queues at all.
  await assert.rejects(queue.run(second.job, { signal: cancel.signal }), /went away/);
});

Deno.test("HashQueue: a job still waiting at its deadline gets HashQueueBusy", async () => {
  let now = 1_000;
  const queue = new HashQueue({ concurrency: 1, monotonic: () => now });
  const log: string[] = [];
  const first = manualJob(log, "first");
  const running = queue.run(first.job);
  const late = queue.run(manualJob(log, "late").job, { deadline: now + 20 });
  now += 20;
  await assert.rejects(late, HashQueueBusy);
  assert.equal(queue.waiting, 0);
  first.finish();
  await running;
  assert.deepEqual(log, ["start first"]);
});

Deno.test("HashQueue: a failing job frees its slot", async () => {
  const queue = new HashQueue({ concurrency: 1, monotonic: () => 0 });
  await assert.rejects(queue.run(() => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(await queue.run(() => Promise.resolve(7)), 7);
  assert.equal(queue.running, 0);
});
