import assert from "node:assert/strict";
import { HeldPool, MessageWindow, type MessageWindowLimits } from "./message_window.ts";

function windowOf(overrides: Partial<MessageWindowLimits> = {}) {
  const limits = {
    window: 4,
    windowBytes: 100,
    gapTimeoutMs: 5_000,
    pool: new HeldPool(1_000),
    ...overrides,
  };
  return { window: new MessageWindow(limits), pool: limits.pool };
}

const always = () => true;
const released = (steps: { kind: string; msgId: number }[]) =>
  steps.map((step) => step.kind === "message" ? step.msgId : -step.msgId);

Deno.test("messages in order leave at once; later ones wait for the missing one", () => {
  const { window, pool } = windowOf();
  assert.deepEqual(window.offer(1, "a", false, 0), { kind: "held" });
  assert.deepEqual(window.release(0, always), [{ kind: "message", msgId: 1, text: "a" }]);
  assert.equal(window.expected, 2);
  window.offer(4, "d", false, 10);
  window.offer(3, "c", false, 20);
  assert.deepEqual(window.release(20, always), []);
  assert.equal(window.heldCount, 2);
  assert.equal(pool.held, 2);
  window.offer(2, "b", false, 30);
  assert.deepEqual(released(window.release(30, always)), [2, 3, 4]);
  assert.equal(window.expected, 5);
  assert.equal(pool.held, 0);
  assert.equal(window.heldBytes, 0);
});

Deno.test("below expected is a duplicate; held again is dropped; past the window is 429", () => {
  const { window } = windowOf();
  window.offer(1, "a", false, 0);
  window.release(0, always);
  assert.deepEqual(window.offer(1, "a", false, 1), { kind: "duplicate" });
  assert.deepEqual(window.offer(3, "c", false, 1), { kind: "held" });
  assert.deepEqual(window.offer(3, "c", false, 2), { kind: "held-already" });
  // expected 2, W 4: 2..5 fit, 6 does not.
  assert.equal(window.offer(5, "e", false, 2).kind, "held");
  const outside = window.offer(6, "f", false, 2);
  assert.equal(outside.kind, "refused");
  assert.deepEqual(outside.kind === "refused" && [outside.code, outside.final], [429, false]);
  assert.equal(window.heldCount, 2);
});

Deno.test("the rate shapes: a held message leaves when a token comes, never refused", () => {
  const { window } = windowOf();
  let tokens = 1;
  const take = () => tokens > 0 && tokens-- > 0;
  for (let id = 1; id <= 4; id++) assert.equal(window.offer(id, "x", false, 0).kind, "held");
  assert.deepEqual(released(window.release(0, take)), [1]);
  assert.deepEqual(released(window.release(50, take)), []);
  tokens = 2;
  assert.deepEqual(released(window.release(100, take)), [2, 3]);
  tokens = 5;
  assert.deepEqual(released(window.release(150, take)), [4]);
  assert.equal(tokens, 4);
});

Deno.test("a gap is skipped (410) the gap timeout after the first later msgId arrived", () => {
  const { window } = windowOf();
  window.offer(3, "c", false, 1_000);
  window.offer(4, "d", false, 2_000);
  assert.equal(window.gapDeadline(), 6_000);
  assert.deepEqual(window.release(5_999, always), []);
  // 1 and 2 both missing since 3 arrived: both skipped, then 3 and 4 leave.
  assert.deepEqual(released(window.release(6_000, always)), [-1, -2, 3, 4]);
  assert.equal(window.gapDeadline(), null);
  // A second gap counts from the first msgId that arrived after it.
  window.offer(7, "g", false, 7_000);
  window.offer(6, "f", false, 9_000);
  assert.deepEqual(released(window.release(11_999, always)), []);
  assert.deepEqual(released(window.release(12_000, always)), [-5, 6, 7]);
});

Deno.test("a held message waiting for the rate does not start a gap", () => {
  const { window } = windowOf();
  window.offer(1, "a", false, 0);
  window.offer(2, "b", false, 0);
  assert.deepEqual(window.release(0, () => false), []);
  assert.equal(window.gapDeadline(), null);
  assert.deepEqual(window.release(60_000, () => false), []);
  assert.deepEqual(released(window.release(60_001, always)), [1, 2]);
});

Deno.test("oversized: refused for good at once (413) and stepped over", () => {
  const { window } = windowOf();
  const head = window.offer(1, "x", true, 0);
  assert.deepEqual(head.kind === "refused" && [head.code, head.final], [413, true]);
  assert.equal(window.expected, 2);
  window.offer(4, "d", false, 0);
  assert.equal(window.offer(3, "big", true, 0).kind, "refused"); // a placeholder
  assert.deepEqual(window.offer(3, "big", true, 0), { kind: "held-already" });
  window.offer(2, "b", false, 0);
  // 3 is stepped over without a second answer.
  assert.deepEqual(released(window.release(0, always)), [2, 4]);
  assert.equal(window.expected, 5);
  assert.equal(window.heldCount, 0);
});

Deno.test("bytes and the global cap refuse 429 (not final) and hold nothing", () => {
  const { window } = windowOf({ windowBytes: 10 });
  window.offer(2, "12345678", false, 0);
  const over = window.offer(3, "abc", false, 0);
  assert.deepEqual(over.kind === "refused" && [over.code, over.final], [429, false]);
  assert.equal(window.heldBytes, 8);
  assert.equal(window.offer(3, "ab", false, 0).kind, "held"); // exactly 10 bytes
  assert.equal(window.heldBytes, 10);

  const pool = new HeldPool(2);
  const a = new MessageWindow({ window: 4, windowBytes: 100, gapTimeoutMs: 1, pool });
  const b = new MessageWindow({ window: 4, windowBytes: 100, gapTimeoutMs: 1, pool });
  a.offer(2, "x", false, 0);
  b.offer(2, "y", false, 0);
  assert.equal(b.offer(3, "z", false, 0).kind, "refused");
  a.clear();
  assert.equal(pool.held, 1);
  assert.equal(b.offer(3, "z", false, 0).kind, "held");
  assert.equal(pool.held, 2);
});

Deno.test("UTF-8 bytes count, not characters", () => {
  const { window } = windowOf({ windowBytes: 8 });
  assert.equal(window.offer(2, "😀😀", false, 0).kind, "held"); // 8 bytes
  assert.equal(window.offer(3, "é", false, 0).kind, "refused");
});

Deno.test("releaseAll: everything in msgId order, gaps skipped, the rate ignored", () => {
  const { window, pool } = windowOf({ window: 8 });
  window.offer(2, "b", false, 0);
  window.offer(4, "d", true, 0); // oversized placeholder
  window.offer(5, "e", false, 0);
  assert.deepEqual(released(window.releaseAll()), [-1, 2, -3, 5]);
  assert.equal(window.heldCount, 0);
  assert.equal(pool.held, 0);
  assert.equal(window.expected, 6);
  assert.deepEqual(window.releaseAll(), []);
});
