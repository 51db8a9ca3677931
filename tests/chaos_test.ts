/**
 * The chaos suites at a size that fits in `deno task test` (the full run is
 * `deno task chaos`): real server processes (the audited `chat serve`
 * server), real sealed sessions, the fault proxy in between, and the nonce
 * audit over all of them. Each suite returns the checks that failed.
 */
import assert from "node:assert/strict";
import { runChurnSuite } from "../tools/chaos/churn.ts";
import { runLossSuite } from "../tools/chaos/loss.ts";
import { NonceAudit } from "../tools/chaos/nonce_audit.ts";
import { runRestartSuite } from "../tools/chaos/restart.ts";
import { runSilenceSuite } from "../tools/chaos/silence.ts";

// Shared by every test below: no (key, nonce) pair may repeat across the suites either.
const audit = new NonceAudit();

Deno.test("chaos: 20% loss, 10% duplication and reordering both ways: every message shown once, in order, acknowledged; no nonce repeats", async () => {
  const { failures, figures } = await runLossSuite({
    members: 5,
    messages: 40,
    loss: 0.2,
    duplicate: 0.1,
    reorder: 0.1,
    seed: 11,
    sendIntervalMs: 60,
    settleTimeoutMs: 30_000,
    audit,
  });
  assert.deepEqual(failures, [], figures.notes);
  assert.equal(figures.delivered, "1000/1000 shown; 200/200 acknowledged");
  assert.equal(figures.duplicates, "0");
  assert.match(
    figures.notes,
    /^per-sender order: 25\/25 \(receiver, sender\) pairs in send order, 0 out of order, 0 missing/,
  );
  assert.match(figures.notes, /nonce audit: \d+ \(key, nonce\) pairs .*, 0 repeated/);
});

Deno.test("chaos: join/leave churn under loss: the room rekeys, those who stay miss nothing; no nonce repeats", async () => {
  const { failures, figures } = await runChurnSuite({
    steady: 3,
    messages: 30,
    visitors: 3,
    visits: 3,
    loss: 0.1,
    seed: 12,
    sendIntervalMs: 60,
    settleTimeoutMs: 30_000,
    audit,
  });
  assert.deepEqual(failures, [], figures.notes);
  assert.equal(figures.delivered, "297/297 shown to those who stayed");
  assert.match(
    figures.notes,
    /^9 visits, 9 departures seen by the host, room datagrams in \d+ epochs/,
  );
});

Deno.test("chaos: a member silent for less than the limit misses nothing; one silent longer is removed, told, and returns", async () => {
  const { failures, figures } = await runSilenceSuite({
    heartbeatSeconds: 0.5,
    messagesDuringShortSilence: 10,
    audit,
  });
  assert.deepEqual(failures, [], figures.notes);
});

Deno.test("chaos: after a server restart (same key) every member rejoins on the reset and what was typed meanwhile is delivered", async () => {
  const { failures, figures } = await runRestartSuite({
    members: 3,
    downMs: 500,
    heartbeatSeconds: 1, // the silence limit (3 s) leaves the reset room to come first
    audit,
  });
  assert.deepEqual(failures, [], figures.notes);
  assert.equal(figures.delivered, "18/18 shown");
  assert.match(figures.notes, /3\/3 rejoined on the server's stateless reset/);
});

Deno.test("chaos: the nonce audit over every suite above found no (key, nonce) pair twice", () => {
  const { pairs, repeats, seals } = audit.figures;
  assert.equal(repeats, 0);
  // All four suites ran (each alone would be fewer), and every kind of seal was recorded.
  assert.ok(pairs > 2_000, `${pairs} pairs`);
  for (const party of ["server", "client"] as const) {
    assert.ok(seals[party].member > 0 && seals[party].handshake > 0, JSON.stringify(seals));
  }
  assert.ok(seals.server.room > 0);
});
