import assert from "node:assert/strict";
import { nextRate, saturation, type SweepOptions, type Tried } from "./sweep.ts";

const options: SweepOptions = {
  start: 1000,
  maxSteps: 20,
  precision: 0.1,
  minRate: 10,
  maxRate: 1e6,
};

function sweep(limit: number): Tried[] {
  const tried: Tried[] = [];
  for (let rate = nextRate(tried, options); rate !== null; rate = nextRate(tried, options)) {
    tried.push({ rate, held: rate <= limit });
  }
  return tried;
}

Deno.test("the sweep doubles, then bisects to within the precision", () => {
  const tried = sweep(5000);
  assert.deepEqual(tried.slice(0, 4).map((t) => t.rate), [1000, 2000, 4000, 8000]);
  const best = saturation(tried)!;
  assert.ok(best <= 5000 && best >= 5000 / 1.1, String(best));
});

Deno.test("the sweep halves when the start fails, and stops at the step limit", () => {
  const tried = sweep(300);
  assert.deepEqual(tried.slice(0, 3).map((t) => t.rate), [1000, 500, 250]);
  assert.ok(saturation(tried)! >= 270);
  assert.equal(sweep(1e9).at(-1)?.rate, options.maxRate);
  assert.equal(nextRate(sweep(1e9).slice(0, 3), { ...options, maxSteps: 3 }), null);
  assert.equal(saturation(sweep(1)), null);
});
