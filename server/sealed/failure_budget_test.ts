import assert from "node:assert/strict";
import { FailureBudget } from "./failure_budget.ts";

Deno.test("failure budget: asking is free; failures spend it; time forgives them", () => {
  let now = 0;
  const budget = new FailureBudget({ ratePerSecond: 2, burst: 3, clock: () => now });
  for (let i = 0; i < 10; i++) assert.ok(budget.allows("a"));
  assert.equal(budget.size, 0);
  for (let i = 0; i < 3; i++) budget.charge("a");
  assert.equal(budget.allows("a"), false);
  assert.ok(budget.allows("b"));
  now += 500;
  assert.ok(budget.allows("a"));
  now += 1_000;
  budget.sweep();
  assert.equal(budget.size, 0);
});

Deno.test("failure budget: past maxKeys new keys share one overflow budget", () => {
  const budget = new FailureBudget({ ratePerSecond: 1, burst: 1, clock: () => 0, maxKeys: 2 });
  budget.charge("a");
  budget.charge("b");
  budget.charge("c"); // overflow: c, d, e... share it
  assert.equal(budget.allows("d"), false);
  assert.equal(budget.size, 3);
});
