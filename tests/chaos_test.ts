/**
 * The chaos suites at a size that fits in `deno task test` (the full run is
 * `deno task chaos`): real `chat serve` processes, real sessions, the fault
 * proxy in between. Each suite returns the checks that failed.
 */
import assert from "node:assert/strict";
import { runLossSuite } from "../tools/chaos/loss.ts";
import { runRestartSuite } from "../tools/chaos/restart.ts";
import { runSilenceSuite } from "../tools/chaos/silence.ts";

Deno.test("chaos: 20% loss, 10% duplication and reordering both ways: every message shown once, in order, acknowledged", async () => {
  const { failures, figures } = await runLossSuite({
    members: 5,
    messages: 40,
    loss: 0.2,
    duplicate: 0.1,
    reorder: 0.1,
    seed: 11,
    sendIntervalMs: 60,
    settleTimeoutMs: 30_000,
  });
  assert.deepEqual(failures, [], figures.notes);
  assert.equal(figures.delivered, "1000/1000 shown; 200/200 acknowledged");
  assert.equal(figures.duplicates, "0");
  assert.match(
    figures.notes,
    /^per-sender order: 25\/25 \(receiver, sender\) pairs in send order, 0 out of order, 0 missing/,
  );
});

Deno.test("chaos: a member silent for less than the limit misses nothing; one silent longer is removed, told, and returns", async () => {
  const { failures, figures } = await runSilenceSuite({
    heartbeatSeconds: 0.5,
    messagesDuringShortSilence: 10,
  });
  assert.deepEqual(failures, [], figures.notes);
});

Deno.test("chaos: after a server restart every member rejoins and what was typed meanwhile is delivered", async () => {
  const { failures, figures } = await runRestartSuite({
    members: 3,
    downMs: 500,
    heartbeatSeconds: 0.5,
  });
  assert.deepEqual(failures, [], figures.notes);
  assert.equal(figures.delivered, "18/18 shown");
});
