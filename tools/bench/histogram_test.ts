import assert from "node:assert/strict";
import { bucketOf, bucketUpperMicros, LatencyHistogram } from "./histogram.ts";

Deno.test("histogram buckets are monotonic and within 3%", () => {
  let last = -1;
  for (let v = 0; v < 5_000_000; v = Math.floor(v * 1.01) + 1) {
    const bucket = bucketOf(v);
    assert.ok(bucket >= last, `bucket of ${v}`);
    last = bucket;
    const upper = bucketUpperMicros(bucket);
    assert.ok(upper >= v && upper <= v * 1.04 + 1, `${v} -> ${upper}`);
  }
});

Deno.test("histogram percentiles and merge", () => {
  const a = new LatencyHistogram();
  for (let i = 1; i <= 1000; i++) a.record(i * 10);
  const b = new LatencyHistogram();
  b.merge(a.toSparse());
  assert.equal(b.total, 1000);
  assert.equal(b.maxMicros, 10_000);
  const p50 = b.percentile(0.5)!;
  assert.ok(p50 >= 5000 && p50 <= 5200, String(p50));
  assert.equal(b.percentile(1), 10_000);
  assert.equal(new LatencyHistogram().percentile(0.5), null);
});
