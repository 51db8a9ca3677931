import assert from "node:assert/strict";
import { KeyedRateLimiter, type KeyedRateLimiterOptions, TokenBucket } from "./rate_limit.ts";

/** How many of `count` takes at one instant succeed. */
function takeMany(take: () => boolean, count: number): number {
  let passed = 0;
  for (let i = 0; i < count; i++) if (take()) passed++;
  return passed;
}

Deno.test("TokenBucket: a full bucket allows exactly `burst` takes at once", () => {
  const bucket = new TokenBucket(10, 20, 0);
  assert.equal(takeMany(() => bucket.take(0), 25), 20);
  assert.equal(bucket.take(0), false);
});

Deno.test("TokenBucket: it refills at the rate, never past the burst", () => {
  const bucket = new TokenBucket(10, 20, 0);
  takeMany(() => bucket.take(0), 20);
  assert.equal(bucket.take(50), false, "half a token after 50 ms");
  assert.equal(bucket.take(100), true, "one token after 100 ms");
  assert.equal(bucket.take(100), false);
  assert.equal(takeMany(() => bucket.take(1_100), 50), 10, "one second gives 10 more");
  assert.equal(takeMany(() => bucket.take(60_000), 50), 20, "a long pause refills only to burst");
});

Deno.test("TokenBucket: a clock going backwards adds nothing", () => {
  const bucket = new TokenBucket(10, 2, 1_000);
  takeMany(() => bucket.take(1_000), 2);
  assert.equal(bucket.take(500), false);
  assert.equal(bucket.take(600), true, "refill counts from the last time seen");
});

Deno.test("TokenBucket: isFull only once every spent token is back", () => {
  const bucket = new TokenBucket(10, 5, 0);
  assert.equal(bucket.isFull(0), true);
  bucket.take(0);
  assert.equal(bucket.isFull(0), false);
  assert.equal(bucket.isFull(99), false);
  assert.equal(bucket.isFull(100), true);
});

function limiter(overrides: Partial<KeyedRateLimiterOptions> = {}) {
  const state = { now: 1_000_000 };
  const rl = new KeyedRateLimiter({
    ratePerSecond: 2,
    burst: 3,
    clock: () => state.now,
    ...overrides,
  });
  return { rl, state };
}

Deno.test("KeyedRateLimiter: each key has its own bucket", () => {
  const { rl, state } = limiter();
  assert.equal(takeMany(() => rl.take("1.1.1.1"), 10), 3);
  assert.equal(takeMany(() => rl.take("2.2.2.2"), 10), 3, "another key is not affected");
  assert.equal(rl.size, 2);
  state.now += 500;
  assert.equal(takeMany(() => rl.take("1.1.1.1"), 10), 1, "one token back after 500 ms at 2/s");
  state.now += 10_000;
  assert.equal(takeMany(() => rl.take("2.2.2.2"), 10), 3, "refills to burst, no further");
});

Deno.test("KeyedRateLimiter: a rate of 0 turns it off and tracks nothing", () => {
  const { rl } = limiter({ ratePerSecond: 0 });
  assert.equal(takeMany(() => rl.take("1.1.1.1"), 1_000), 1_000);
  assert.equal(rl.size, 0);
});

Deno.test("KeyedRateLimiter: sweep forgets full buckets and keeps spent ones", () => {
  const { rl, state } = limiter();
  rl.take("a");
  state.now += 1_000; // "a" has refilled
  rl.take("b");
  assert.equal(rl.size, 2);
  rl.sweep();
  assert.equal(rl.size, 1, "only the spent bucket of b is kept");
  assert.equal(takeMany(() => rl.take("b"), 10), 2, "b still remembers its spent token");
  state.now += 10_000;
  rl.sweep();
  assert.equal(rl.size, 0);
});

Deno.test("KeyedRateLimiter: past maxKeys it sweeps, then refuses new keys", () => {
  const { rl, state } = limiter({ maxKeys: 2 });
  assert.equal(rl.take("a"), true);
  assert.equal(rl.take("b"), true);
  assert.equal(rl.take("c"), false, "no room for a third key while a and b are spent");
  assert.equal(rl.size, 2);
  assert.equal(rl.take("a"), true, "known keys keep working");
  state.now += 10_000; // a and b refill
  assert.equal(rl.take("c"), true, "the sweep made room");
  assert.equal(rl.size, 1);
});
