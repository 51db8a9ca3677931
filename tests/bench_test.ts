/**
 * The bench machinery at a tiny size against a real `chat serve` process:
 * separate load generator processes, real handshakes and datagrams. Checks
 * that the counts add up, not how fast anything is.
 */
import assert from "node:assert/strict";
import { runScenario } from "../tools/bench/scenario.ts";

// Each socket kind of the server with one of the generators', so all four run.
const pairs = [
  { io: "deno", generatorIo: "deno" },
  { io: "mmsg", generatorIo: "epoll" },
] as const;

for (const { io, generatorIo } of pairs) {
  Deno.test(`bench (server on ${io} sockets, generators on ${generatorIo}): 1 room × 5 members, 200 msg/s for 1 s, every delivery accounted for`, async () => {
    const result = await runScenario({
      io,
      generatorIo,
      name: "smoke",
      target: "chat",
      layout: { rooms: 1, members: 5, senders: 1, procs: 2 },
      durationMs: 1_000,
      settleMs: 300,
      rates: { fixed: 200 },
      thresholds: { maxLoss: 0.001, maxP99Ms: 50 },
    });
    assert.equal(result.steps.length, 1);
    const step = result.steps[0]!;
    assert.equal(step.sent, 200);
    assert.equal(step.expected, 200 * 5);
    assert.equal(step.received + step.missing, step.expected);
    assert.ok(step.received > 0, "something was delivered");
    // 1,000 deliveries a second on loopback: anything near 5% lost is the
    // bench miscounting (a process without senders stopped counting early once).
    assert.ok(step.loss < 0.05, `loss ${step.loss}`);
    assert.equal(step.duplicates, 0);
    const { p50, p90, p99, max } = step.latencyMs;
    assert.ok(p50 !== null && p90 !== null && p99 !== null && max !== null, "latency percentiles");
    assert.ok(p50 >= 0 && p50 <= p90 && p90 <= p99 && p99 <= max, JSON.stringify(step.latencyMs));
    assert.ok(step.serverCpuSeconds === null || step.serverCpuSeconds >= 0);
    assert.equal(result.saturationRate === null, !step.held);
    assert.equal(result.udpIo, io);
    assert.equal(result.generatorIo, generatorIo);
  });
}

Deno.test("bench, sealed (a server without --allow-plaintext, sealed joins and datagrams): 1 room × 5 members, 200 msg/s for 1 s, every delivery accounted for and checked", async () => {
  const result = await runScenario({
    io: "mmsg",
    generatorIo: "epoll",
    name: "smoke, sealed",
    target: "chat",
    sealed: true,
    layout: { rooms: 1, members: 5, senders: 1, procs: 2 },
    durationMs: 1_000,
    settleMs: 300,
    rates: { fixed: 200 },
    thresholds: { maxLoss: 0.001, maxP99Ms: 50 },
  });
  assert.equal(result.sealed, true);
  const step = result.steps[0]!;
  assert.equal(step.sent, 200);
  assert.equal(step.expected, 200 * 5);
  assert.equal(step.received + step.missing, step.expected);
  assert.ok(step.loss < 0.05, `loss ${step.loss}`);
  assert.equal(step.duplicates, 0);
  const checks = step.receiverChecks;
  assert.ok(checks !== undefined, "the sealed receivers report their checks");
  assert.equal(checks.rejected, 0);
  // Each of the 2 processes opens the first copy of each message it gets, and only that one.
  assert.ok(checks.opened >= step.sent && checks.opened <= 2 * step.sent + 10, `${checks.opened}`);
  assert.ok(checks.verified >= 1, "a sample of signatures was verified");
  assert.equal(checks.opened + checks.matched, step.received + step.late, JSON.stringify(step));
});

for (const relayEngine of ["ours", "deno"] as const) {
  Deno.test(`bench, trivial WebSocket relay (${relayEngine}): 1 room × 5 members on WebSockets, 200 msg/s for 1 s, every delivery accounted for`, async () => {
    const result = await runScenario({
      io: "mmsg",
      generatorIo: "epoll",
      name: "smoke, WebSocket relay",
      target: "relay",
      transport: "ws",
      relayEngine,
      layout: { rooms: 1, members: 5, senders: 1, procs: 2 },
      durationMs: 1_000,
      settleMs: 300,
      rates: { fixed: 200 },
      thresholds: { maxLoss: 0.001, maxP99Ms: 50 },
    });
    assert.equal(result.transport, "ws");
    assert.equal(result.relayEngine, relayEngine);
    const step = result.steps[0]!;
    assert.equal(step.sent, 200);
    assert.equal(step.expected, 200 * 5);
    // A reliable transport: nothing lost, nothing twice.
    assert.equal(step.received, step.expected);
    assert.equal(step.duplicates, 0);
    assert.ok(step.latencyMs.p99 !== null && step.deliveriesPerSecond > 0, JSON.stringify(step));
  });
}
