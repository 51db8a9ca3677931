import assert from "node:assert/strict";
import { newReplayBudgets, REPLAY_BURST, REPLAY_DATAGRAMS_PER_SECOND } from "./replay.ts";

Deno.test("replay budgets: one bucket per address, refilled at the rate, forgotten when full", () => {
  let now = 0;
  const budgets = newReplayBudgets(true, () => now);
  assert.equal(budgets.takeUpTo("a", REPLAY_BURST + 10), REPLAY_BURST, "a burst at most");
  assert.equal(budgets.takeUpTo("a", 1), 0);
  assert.equal(budgets.takeUpTo("b", 500), 500, "another address has its own");
  now = 10;
  assert.equal(budgets.takeUpTo("a", 100), REPLAY_DATAGRAMS_PER_SECOND / 100, "10 ms' worth");
  budgets.sweep();
  assert.equal(budgets.size, 2, "neither is full yet");
  now = 10 + (REPLAY_BURST / REPLAY_DATAGRAMS_PER_SECOND) * 1000;
  budgets.sweep();
  assert.equal(budgets.size, 0, "both full again: forgotten, so memory follows activity");
  now = 20_000;
  assert.equal(budgets.takeUpTo("a", REPLAY_BURST), REPLAY_BURST, "and a new one is full");
});

Deno.test("replay budgets: off, they grant everything and track nobody", () => {
  const budgets = newReplayBudgets(false, () => 0);
  for (let i = 0; i < 10; i++) assert.equal(budgets.takeUpTo("a", 100_000), 100_000);
  assert.equal(budgets.size, 0);
});
