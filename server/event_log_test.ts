import assert from "node:assert/strict";
import { EventType } from "../protocol/datagram.ts";
import { EventLog, eventTextBytes } from "./event_log.ts";

/** A log with `count` MESSAGE events appended, texts "m1", "m2", ... */
function filled(limit: number, count: number): EventLog {
  const log = new EventLog(limit);
  for (let i = 1; i <= count; i++) {
    log.append({ timeMs: 1_000 + i, type: EventType.MESSAGE, name: "ann", text: `m${i}` });
  }
  return log;
}

function seqs(log: EventLog, fromSeq: number, toSeq: number): number[] {
  return log.range(fromSeq, toSeq).map((event) => event.seq);
}

Deno.test("EventLog: an empty log has headSeq 0, firstSeq 1 and no events", () => {
  const log = new EventLog(4);
  assert.equal(log.headSeq, 0);
  assert.equal(log.firstSeq, 1);
  assert.deepEqual(log.range(0, 100), []);
  assert.deepEqual(log.range(1, 1), []);
});

Deno.test("EventLog: append numbers events from 1 and keeps their fields", () => {
  const log = new EventLog(8);
  const first = log.append({ timeMs: 5, type: EventType.JOINED, name: "ann", text: "" });
  const second = log.append({ timeMs: 6, type: EventType.MESSAGE, name: "ann", text: "hi" });
  assert.deepEqual(first, { seq: 1, timeMs: 5, type: EventType.JOINED, name: "ann", text: "" });
  assert.deepEqual(second, { seq: 2, timeMs: 6, type: EventType.MESSAGE, name: "ann", text: "hi" });
  assert.equal(log.headSeq, 2);
  assert.equal(log.firstSeq, 1);
  assert.deepEqual(log.range(1, 2), [first, second]);
});

Deno.test("EventLog: range is inclusive and clamped to what exists", () => {
  const log = filled(10, 5);
  assert.deepEqual(seqs(log, 2, 4), [2, 3, 4]);
  assert.deepEqual(seqs(log, 0, 3), [1, 2, 3]);
  assert.deepEqual(seqs(log, 4, 0xffff_ffff), [4, 5]);
  assert.deepEqual(seqs(log, 3, 3), [3]);
  assert.deepEqual(seqs(log, 6, 9), []);
  assert.deepEqual(seqs(log, 4, 2), []);
  assert.deepEqual(log.range(1, 5).map((event) => event.text), ["m1", "m2", "m3", "m4", "m5"]);
});

Deno.test("EventLog: the ring keeps only the newest `limit` events", () => {
  const log = filled(3, 7);
  assert.equal(log.headSeq, 7);
  assert.equal(log.firstSeq, 5);
  assert.deepEqual(seqs(log, 1, 7), [5, 6, 7]);
  assert.deepEqual(seqs(log, 1, 4), []);
  assert.deepEqual(seqs(log, 3, 6), [5, 6]);
  assert.deepEqual(log.range(0, 100).map((event) => event.text), ["m5", "m6", "m7"]);
});

Deno.test("EventLog: firstSeq stays 1 until the ring is full, then advances by one", () => {
  const log = new EventLog(3);
  const firsts: number[] = [];
  for (let i = 0; i < 6; i++) {
    log.append({ timeMs: i, type: EventType.MESSAGE, name: "x", text: "t" });
    firsts.push(log.firstSeq);
  }
  assert.deepEqual(firsts, [1, 1, 1, 2, 3, 4]);
  assert.equal(log.headSeq, 6);
});

Deno.test("EventLog: a limit of 1 keeps only the newest event", () => {
  const log = filled(1, 3);
  assert.equal(log.firstSeq, 3);
  assert.deepEqual(seqs(log, 0, 10), [3]);
});

Deno.test("EventLog: a limit below 1 or not an integer is refused", () => {
  assert.throws(() => new EventLog(0), RangeError);
  assert.throws(() => new EventLog(-1), RangeError);
  assert.throws(() => new EventLog(1.5), RangeError);
});

Deno.test("EventLog: past maxBytes of text the oldest events go, the newest always stays", () => {
  // Each event costs 2 × (name "ann" + text of 7) = 20.
  const log = new EventLog(100, 60);
  for (let i = 1; i <= 5; i++) {
    log.append({ timeMs: i, type: EventType.MESSAGE, name: "ann", text: `message` });
  }
  assert.equal(log.headSeq, 5);
  assert.equal(log.firstSeq, 3);
  assert.equal(log.textBytes, 60);
  assert.deepEqual(seqs(log, 0, 10), [3, 4, 5]);
  const big = log.append({ timeMs: 6, type: EventType.MESSAGE, name: "ann", text: "x".repeat(97) });
  assert.equal(eventTextBytes(big), 200);
  assert.deepEqual(seqs(log, 0, 10), [6], "an event over the budget on its own is still kept");
  assert.equal(log.textBytes, 200);
  log.append({ timeMs: 7, type: EventType.MESSAGE, name: "ann", text: "message" });
  assert.deepEqual(seqs(log, 0, 10), [7]);
  assert.equal(log.textBytes, 20);
});

Deno.test("EventLog: the count limit and the byte budget together", () => {
  const log = new EventLog(3, 1_000);
  for (let i = 1; i <= 5; i++) {
    log.append({ timeMs: i, type: EventType.MESSAGE, name: "ann", text: `m${i}` });
  }
  assert.deepEqual(seqs(log, 0, 10), [3, 4, 5]);
  assert.equal(log.textBytes, 3 * 2 * 5);
  assert.throws(() => new EventLog(3, -1), RangeError);
});
