import assert from "node:assert/strict";
import { DEFAULT_TCRP_TIMEOUT_MS } from "../client/tcrp_client.ts";
import { DEFAULT_TIMINGS } from "../client/session_options.ts";
import { HASH_WAIT_MS, HashQueue, HashQueueBusy } from "./hash_queue.ts";

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

Deno.test("HashQueue: free slots go round robin between keys, each key's jobs in order", async () => {
  const queue = new HashQueue({ concurrency: 1, monotonic: () => 0 });
  const log: string[] = [];
  const blocker = manualJob(log, "blocker");
  const running = queue.run(blocker.job);
  // Address a queues five jobs before b and c queue theirs.
  const order: [string, string][] = [
    ["a", "a1"],
    ["a", "a2"],
    ["a", "a3"],
    ["a", "a4"],
    ["a", "a5"],
    ["b", "b1"],
    ["c", "c1"],
    ["b", "b2"],
  ];
  const jobs = new Map(order.map(([key, name]) => [name, { key, ...manualJob(log, name) }]));
  const results = [...jobs.values()].map((j) => queue.run(j.job, { key: j.key }));
  assert.equal(queue.waiting, 8);
  blocker.finish();
  await running;
  // One slot: finish whichever job started last, so the next one can start.
  for (let i = 0; i < order.length; i++) {
    await tick();
    jobs.get(log.at(-1)!.slice("start ".length))!.finish();
  }
  await Promise.all(results);
  assert.deepEqual(log, [
    "start blocker",
    "start a1",
    "start b1",
    "start c1",
    "start a2",
    "start b2",
    "start a3",
    "start a4",
    "start a5",
  ]);
  assert.equal(queue.waiting, 0);
  assert.equal(queue.keys, 0, "keys with nothing running or waiting are forgotten");
});

Deno.test("HashQueue: waiting is bounded by maxWaitMs even when the deadline is later", async () => {
  const queue = new HashQueue({ concurrency: 1, monotonic: () => 0, maxWaitMs: 30 });
  const log: string[] = [];
  const first = manualJob(log, "first");
  const running = queue.run(first.job);
  const started = performance.now();
  await assert.rejects(
    queue.run(manualJob(log, "late").job, { deadline: 10_000, key: "x" }),
    HashQueueBusy,
  );
  const waited = performance.now() - started;
  assert(waited >= 25 && waited < 1_000, `waited ${waited} ms`);
  assert.equal(queue.waiting, 0);
  first.finish();
  await running;
  assert.deepEqual(log, ["start first"]);
});

Deno.test("HashQueue: a cancelled job leaves its key's line; the others keep their turn", async () => {
  const queue = new HashQueue({ concurrency: 1, monotonic: () => 0 });
  const log: string[] = [];
  const blocker = manualJob(log, "blocker");
  const running = queue.run(blocker.job);
  const cancel = new AbortController();
  const a = manualJob(log, "a");
  const b = manualJob(log, "b");
  const dropped = queue.run(a.job, { key: "a", signal: cancel.signal });
  const kept = queue.run(b.job, { key: "b" });
  cancel.abort(new Error("gone"));
  await assert.rejects(dropped, /gone/);
  assert.equal(queue.waiting, 1);
  blocker.finish();
  await running;
  await tick();
  b.finish();
  assert.equal(await kept, "b");
  assert.deepEqual(log, ["start blocker", "start b"]);
});

Deno.test("HASH_WAIT_MS is well inside the reference client's TCRP timeouts, so a busy server's 503 arrives first", () => {
  assert.ok(HASH_WAIT_MS * 4 <= DEFAULT_TCRP_TIMEOUT_MS);
  assert.ok(HASH_WAIT_MS * 4 <= DEFAULT_TIMINGS.connectTimeoutMs);
});
