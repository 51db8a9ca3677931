import assert from "node:assert/strict";
import { REPLAY_WINDOW_SIZE, ReplayWindow } from "./replay_window.ts";

/** Accepts a counter the way a receiver does: check, then record. */
function take(window: ReplayWindow, counter: number): boolean {
  if (!window.canAccept(counter)) return false;
  window.accept(counter);
  return true;
}

Deno.test("replay window: counters in order are each accepted once, each the new highest", () => {
  const window = new ReplayWindow();
  assert.equal(window.highest, -1);
  for (let c = 0; c < 5000; c++) {
    assert.equal(window.canAccept(c), true);
    assert.equal(window.accept(c), true);
    assert.equal(window.highest, c);
    assert.equal(window.canAccept(c), false);
  }
});

Deno.test("replay window: reordered counters within the window are accepted, not as highest", () => {
  const window = new ReplayWindow();
  assert.equal(window.accept(100), true);
  for (const late of [99, 0, 50, 98]) {
    assert.equal(window.canAccept(late), true, `counter ${late}`);
    assert.equal(window.accept(late), false);
    assert.equal(window.highest, 100);
    assert.equal(window.canAccept(late), false, `counter ${late} again`);
  }
  assert.equal(window.canAccept(97), true);
});

Deno.test("replay window: a duplicate is refused and accept ignores it", () => {
  const window = new ReplayWindow();
  window.accept(7);
  window.accept(5);
  for (const again of [7, 5]) {
    assert.equal(window.canAccept(again), false);
    assert.equal(window.accept(again), false);
  }
  assert.equal(window.highest, 7);
});

Deno.test("replay window: counters size or more below the highest are too old", () => {
  const window = new ReplayWindow();
  const top = 10_000;
  window.accept(top);
  assert.equal(window.canAccept(top - REPLAY_WINDOW_SIZE + 1), true); // the oldest it can tell
  assert.equal(window.canAccept(top - REPLAY_WINDOW_SIZE), false);
  assert.equal(window.accept(top - REPLAY_WINDOW_SIZE), false);
  assert.equal(window.canAccept(0), false);
  assert.equal(window.highest, top);
});

Deno.test("replay window: sliding forgets old bits so new counters sharing them are accepted", () => {
  const window = new ReplayWindow(64);
  for (let c = 0; c < 64; c++) window.accept(c);
  // 64..127 reuse the bits of 0..63; each is new and must be accepted exactly once.
  for (let c = 64; c < 128; c += 2) assert.equal(take(window, c), true, `counter ${c}`);
  for (let c = 65; c < 128; c += 2) assert.equal(take(window, c), true, `counter ${c}`);
  for (let c = 64; c < 128; c++) assert.equal(window.canAccept(c), false, `counter ${c} again`);
  // A jump past the whole window forgets everything below it.
  assert.equal(window.accept(1000), true);
  for (let c = 1000 - 63; c < 1000; c++) assert.equal(window.canAccept(c), true, `counter ${c}`);
  assert.equal(window.canAccept(1000 - 64), false);
});

Deno.test("replay window: the highest it reaches is Number.MAX_SAFE_INTEGER; nothing odd passes", () => {
  const window = new ReplayWindow();
  assert.equal(window.accept(Number.MAX_SAFE_INTEGER), true);
  assert.equal(window.canAccept(Number.MAX_SAFE_INTEGER - 1), true);
  assert.equal(window.canAccept(Number.MAX_SAFE_INTEGER), false);
  for (const odd of [-1, 1.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 1]) {
    assert.equal(new ReplayWindow().canAccept(odd), false, `counter ${odd}`);
    assert.equal(new ReplayWindow().accept(odd), false, `counter ${odd}`);
  }
  assert.throws(() => new ReplayWindow(0), RangeError);
});

Deno.test("replay window: matches a set-based model over random traffic", () => {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (const size of [1, 31, 32, 100, REPLAY_WINDOW_SIZE]) {
    const window = new ReplayWindow(size);
    const seen = new Set<number>();
    let highest = -1;
    let sent = 0;
    for (let i = 0; i < 20_000; i++) {
      // Mostly forward, sometimes late, sometimes a replay of a recent one.
      const counter = random() < 0.7
        ? (sent += Math.floor(random() * 3))
        : Math.max(0, sent - Math.floor(random() * size * 1.5));
      const expected = !seen.has(counter) && (counter > highest || highest - counter < size);
      assert.equal(window.canAccept(counter), expected, `size ${size}, counter ${counter}`);
      if (expected) {
        assert.equal(window.accept(counter), counter > highest);
        seen.add(counter);
        highest = Math.max(highest, counter);
      }
      assert.equal(window.highest, highest);
    }
  }
});
