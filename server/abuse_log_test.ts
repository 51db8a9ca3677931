import assert from "node:assert/strict";
import { AbuseLog } from "./abuse_log.ts";

function fakeLog(maxKeys?: number) {
  const clock = { now: 0 };
  const lines: string[] = [];
  const log = new AbuseLog({
    clock: () => clock.now,
    write: (line) => lines.push(line),
    intervalMs: 60_000,
    maxKeys,
  });
  return { clock, lines, log };
}

Deno.test("AbuseLog: the first occurrence is one line at once; 99,999 more are one summary", () => {
  const { clock, lines, log } = fakeLog();
  for (let i = 0; i < 100_000; i++) log.report("malformed-datagram", "10.0.0.1", "too short");
  assert.deepEqual(lines, [
    "abuse: malformed datagrams from 10.0.0.1 (first: too short); further ones are counted",
  ]);
  clock.now = 30_000;
  log.sweep();
  assert.equal(lines.length, 1, "no summary before the interval has passed");
  clock.now = 60_000;
  log.sweep();
  log.sweep();
  assert.deepEqual(lines.slice(1), [
    "abuse: 99,999 more malformed datagrams from 10.0.0.1 in the last 60 s",
  ]);
});

Deno.test("AbuseLog: kinds and addresses are counted apart; a quiet entry is forgotten", () => {
  const { clock, lines, log } = fakeLog();
  log.report("unknown-token", "10.0.0.1", "a");
  log.report("unknown-token", "10.0.0.2", "b");
  log.report("foreign-token", "10.0.0.1", "c");
  log.report("unknown-token", "10.0.0.1", "d");
  assert.equal(lines.length, 3);
  clock.now = 61_000;
  log.sweep();
  assert.deepEqual(lines.slice(3), [
    "abuse: 1 more datagrams with an unknown or guessed token from 10.0.0.1 in the last 61 s",
  ]);
  assert.equal(log.size, 1, "the two quiet entries are gone; the summarized one waits a turn");
  clock.now = 122_000;
  log.sweep();
  assert.equal(log.size, 0);
  log.report("unknown-token", "10.0.0.1", "again");
  assert.match(lines.at(-1)!, /from 10\.0\.0\.1 \(first: again\)/, "a new first line after quiet");
});

Deno.test("AbuseLog: flush writes pending counts; details lose control characters and length", () => {
  const { lines, log } = fakeLog();
  log.report("bad-request", "10.0.0.1", "name\n2026-01-01 error fake" + "x".repeat(500));
  log.report("bad-request", "10.0.0.1", "x");
  log.flush();
  log.flush();
  assert.equal(lines.length, 2);
  assert.ok(!lines[0]!.includes("\n"));
  assert.ok(lines[0]!.length < 300, "the detail is cut");
  assert.equal(
    lines[1],
    "abuse: 1 more malformed TCRP requests (header, JSON or names) from 10.0.0.1 in the last 1 s",
  );
});

Deno.test("AbuseLog: past maxKeys, new addresses share one entry per kind", () => {
  const { clock, lines, log } = fakeLog(4);
  for (let i = 0; i < 1000; i++) log.report("handshake-limit", `10.0.${i >> 8}.${i & 255}`, "x");
  assert.equal(log.size, 5);
  assert.equal(lines.length, 5);
  assert.match(lines[4]!, /from other addresses/);
  clock.now = 60_000;
  log.sweep();
  assert.deepEqual(lines.slice(5), [
    "abuse: 995 more TCRP connections over the per-address limit from other addresses in the last 60 s",
  ]);
});
