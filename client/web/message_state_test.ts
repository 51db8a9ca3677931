import assert from "node:assert/strict";
import { insertionIndex, type LogSlot, nextState } from "./message_state.ts";

Deno.test("message state: pending ends delivered or undelivered; only undelivered retries", () => {
  assert.equal(nextState("pending", "delivered"), "delivered");
  assert.equal(nextState("pending", "undelivered"), "undelivered");
  assert.equal(nextState("pending", "retry"), null);
  assert.equal(nextState("undelivered", "retry"), "pending");
  assert.equal(nextState("undelivered", "delivered"), null);
  assert.equal(nextState("delivered", "undelivered"), null);
  assert.equal(nextState("delivered", "retry"), null);
});

const event = (seq: number): LogSlot => ({ seq, ours: false });
const note: LogSlot = { seq: null, ours: false };
const mine: LogSlot = { seq: null, ours: true };

const index = (slots: LogSlot[], seq: number) =>
  insertionIndex(slots.length, (i) => slots[i]!, seq);

Deno.test("message order: events append in seq order, above our pending messages", () => {
  assert.equal(index([], 1), 0);
  assert.equal(index([event(1), event(2)], 3), 2);
  assert.equal(index([event(1), mine, mine], 2), 1);
  assert.equal(index([event(1), event(5), mine], 3), 1);
  assert.equal(index([event(1), note], 2), 2);
  assert.equal(index([event(1), note, event(5)], 3), 1);
});
