import assert from "node:assert/strict";
import { REPLAY_BURST, REPLAY_DATAGRAMS_PER_SECOND, ReplayBudgets } from "./replay.ts";

Deno.test("replay budgets: one bucket per address, refilled at the rate, forgotten when full", () => {
  const budgets = new ReplayBudgets(true);
  assert.equal(budgets.take("a", 0, REPLAY_BURST + 10), REPLAY_BURST, "a burst at most");
  assert.equal(budgets.take("a", 0, 1), 0);
  assert.equal(budgets.take("b", 0, 500), 500, "another address has its own");
  assert.equal(budgets.take("a", 10, 100), REPLAY_DATAGRAMS_PER_SECOND / 100, "10 ms' worth");
  budgets.sweep(10);
  assert.equal(budgets.size, 2, "neither is full yet");
  budgets.sweep(10 + (REPLAY_BURST / REPLAY_DATAGRAMS_PER_SECOND) * 1000);
  assert.equal(budgets.size, 0, "both full again: forgotten, so memory follows activity");
  assert.equal(budgets.take("a", 20_000, REPLAY_BURST), REPLAY_BURST, "and a new one is full");
});

Deno.test("replay budgets: off, they grant everything and track nobody", () => {
  const budgets = new ReplayBudgets(false);
  for (let i = 0; i < 10; i++) assert.equal(budgets.take("a", 0, 100_000), 100_000);
  assert.equal(budgets.size, 0);
});
