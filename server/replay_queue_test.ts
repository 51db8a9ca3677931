import assert from "node:assert/strict";
import fc from "fast-check";
import type { Endpoint, EndpointTransport } from "./endpoint.ts";
import { type QueuedReplay, type ReplayDatagram, ReplayQueue } from "./replay_queue.ts";

const transport = {} as EndpointTransport;

/** A datagram of `size` bytes for `address`, labelled so tests read what left. */
function item(address: string, label: string, size = 10): QueuedReplay {
  const to: Endpoint = { transport, address, addressKey: address };
  const datagram: ReplayDatagram = { body: { kind: "error", code: 429, text: label }, size };
  labels.set(datagram, `${address}:${label}`);
  return { datagram, to };
}
const labels = new WeakMap<ReplayDatagram, string>();
const shown = (items: QueuedReplay[]) => items.map((i) => labels.get(i.datagram));

function push(queue: ReplayQueue, address: string, ...labelList: string[]): void {
  for (const label of labelList) queue.push(address, item(address, label));
}

Deno.test("replay queue: one datagram per address per turn; a newcomer waits for its turn", () => {
  const queue = new ReplayQueue({ flushDatagrams: 5 });
  push(queue, "a", "1", "2", "3", "4");
  push(queue, "b", "1", "2");
  assert.deepEqual(shown(queue.take()), ["a:1", "b:1", "a:2", "b:2", "a:3"]);
  push(queue, "c", "1", "2");
  push(queue, "b", "3");
  // a keeps its place; c and b (back after emptying) follow in arrival order.
  assert.deepEqual(shown(queue.take()), ["a:4", "c:1", "b:3", "c:2"]);
  assert.deepEqual(queue.take(), []);
  assert.equal(queue.addresses, 0);
});

Deno.test("replay queue: a flush takes at most its cap in datagrams and in bytes", () => {
  const queue = new ReplayQueue({ flushDatagrams: 3, flushBytes: 25 });
  push(queue, "a", "1", "2", "3", "4", "5", "6", "7");
  assert.deepEqual(shown(queue.take()), ["a:1", "a:2"], "a third 10-byte one would pass 25");
  queue.push("b", item("b", "big", 100));
  assert.deepEqual(shown(queue.take()), ["a:3"], "b's turn would pass the cap: the flush ends");
  assert.deepEqual(shown(queue.take()), ["b:big"], "one over the byte cap still leaves, alone");
  assert.deepEqual(shown(queue.take()), ["a:4", "a:5"]);
  assert.deepEqual(shown(queue.take()), ["a:6", "a:7"]);
  assert.equal(queue.stats.waiting, 0);
  assert.equal(queue.stats.taken, 8);
  assert.equal(queue.stats.takenBytes, 170);
});

Deno.test("replay queue: an address past its bound is refused more, counted", () => {
  const queue = new ReplayQueue({ addressDatagrams: 3, addressBytes: 35, flushDatagrams: 100 });
  push(queue, "a", "1", "2", "3", "4", "5");
  push(queue, "b", "1");
  assert.deepEqual(queue.stats, {
    waiting: 4,
    waitingBytes: 40,
    taken: 0,
    takenBytes: 0,
    dropped: 2,
    droppedBytes: 20,
  });
  assert.equal(queue.push("b", item("b", "2", 30)), false, "40 bytes for b: refused");
  assert.equal(queue.push("b", item("b", "3", 25)), true, "35 fit");
  assert.deepEqual(shown(queue.take()), ["a:1", "b:1", "a:2", "b:3", "a:3"], "the oldest kept");
  assert.equal(queue.stats.dropped, 3);
  assert.equal(queue.stats.droppedBytes, 50);
  push(queue, "a", "6");
  assert.deepEqual(shown(queue.take()), ["a:6"], "room again once taken");
});

Deno.test("replay queue: past the total, a loud address is refused; a quiet one still adds", () => {
  const queue = new ReplayQueue({ totalDatagrams: 10, flushDatagrams: 100 });
  for (let i = 1; i <= 30; i++) push(queue, "loud", String(i));
  assert.equal(queue.stats.waiting, 10, "alone, loud may hold the whole total");
  push(queue, "quiet", "1", "2", "3", "4", "5");
  assert.equal(queue.stats.dropped, 20, "the quiet address was refused nothing (5 is its share)");
  assert.equal(queue.stats.waiting, 15);
  push(queue, "quiet", "6");
  assert.equal(queue.stats.dropped, 21, "past its share, quiet is refused too");
  const taken = shown(queue.take());
  assert.deepEqual(
    taken.filter((l) => l!.startsWith("quiet")),
    ["1", "2", "3", "4", "5"].map((n) => `quiet:${n}`),
  );
  assert.deepEqual(taken.filter((l) => l!.startsWith("loud")).length, 10);
});

Deno.test("replay queue: past twice the total, every address is refused", () => {
  const queue = new ReplayQueue({ totalDatagrams: 4 });
  // Each newcomer may fill its share of 4 (4, 2, 1, 1) while the others keep theirs.
  push(queue, "a", "1", "2", "3", "4");
  push(queue, "b", "1", "2");
  push(queue, "c", "1");
  push(queue, "d", "1");
  assert.equal(queue.stats.waiting, 8);
  assert.equal(queue.stats.dropped, 0);
  push(queue, "e", "1");
  assert.equal(queue.stats.waiting, 8);
  assert.equal(queue.stats.dropped, 1);
  assert.equal(queue.addresses, 4, "e, refused, is not waiting");
});

Deno.test("replay queue: counts add up, turns are fair, and it stays within twice its bounds", () => {
  const limits = { flushDatagrams: 7, addressDatagrams: 20, totalDatagrams: 40 };
  const step = fc.oneof(
    fc.record({
      push: fc.constantFrom("a", "b", "c", "d", "e"),
      n: fc.integer({ min: 1, max: 30 }),
    }),
    fc.constant({ take: true }),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const queue = new ReplayQueue(limits);
      let pushed = 0;
      for (const s of steps) {
        if ("push" in s) {
          for (let i = 0; i < s.n; i++) push(queue, s.push, String(pushed++));
        } else {
          const taken = shown(queue.take()).map((l) => l!.split(":")[0]);
          assert.ok(taken.length <= limits.flushDatagrams);
          // Round-robin: an address takes a second turn only after every other one waiting.
          const firstRound = taken.slice(0, new Set(taken).size);
          assert.equal(new Set(firstRound).size, firstRound.length, taken.join());
        }
        const { waiting, taken, dropped } = queue.stats;
        assert.equal(waiting + taken + dropped, pushed);
        assert.ok(waiting <= 2 * limits.totalDatagrams, `${waiting} waiting`);
      }
    }),
  );
});
