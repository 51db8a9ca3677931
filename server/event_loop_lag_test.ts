import assert from "node:assert/strict";
import { waitUntil } from "../testing/wait.ts";
import { EventLoopLag } from "./event_loop_lag.ts";

Deno.test("lag is how late the timer ran; max covers the samples since the previous read", async () => {
  let now = 0;
  const lag = new EventLoopLag({ intervalMs: 10, monotonic: () => now });
  try {
    assert.deepEqual(lag.read(), { lastMs: 0, maxMs: 0 });
    now = 110; // the first timer was due at 10
    await waitUntil(() => lag.read().lastMs === 100, "the late sample");
    assert.deepEqual(lag.read(), { lastMs: 100, maxMs: 100 });
    now = 125; // the next was due at 120
    await waitUntil(() => lag.read().lastMs === 5, "a prompt sample");
    // The read in the wait above reset max to the last sample then.
    assert.equal(lag.read().maxMs, 5);
    now = 135 + 40;
    await waitUntil(() => lag.read().lastMs !== 5, "another sample");
  } finally {
    lag.stop();
  }
});

Deno.test("a really blocked event loop shows as lag, and stop() ends the sampling", async () => {
  const lag = new EventLoopLag({ intervalMs: 10 });
  try {
    const blockedUntil = performance.now() + 150;
    while (performance.now() < blockedUntil) { /* the loop is blocked */ }
    let max = 0;
    await waitUntil(() => (max = Math.max(max, lag.read().maxMs)) >= 100, "a sample of 100+ ms");
  } finally {
    lag.stop();
  }
  const after = lag.read();
  assert.ok(after.lastMs >= 0);
});
