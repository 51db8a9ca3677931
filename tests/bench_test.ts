/**
 * The bench machinery at a tiny size against a real `chat serve` process:
 * separate load generator processes, real handshakes and datagrams. Checks
 * that the counts add up, not how fast anything is.
 */
import assert from "node:assert/strict";
import { runIdle, runScenario } from "../tools/bench/scenario.ts";
import { runReconnect } from "../tools/bench/ws_scenarios.ts";

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

const wsSmoke = {
  io: "mmsg",
  generatorIo: "epoll",
  target: "chat",
  sealed: true,
  durationMs: 1_000,
  settleMs: 300,
  rates: { fixed: 200 },
  thresholds: { maxLoss: 0.001, maxP99Ms: 50 },
} as const;

Deno.test("bench over WebSocket (sealed TCRP and sealed datagrams on /ws): 1 room × 5 members, 200 msg/s for 1 s, every delivery accounted for and checked", async () => {
  const result = await runScenario({
    ...wsSmoke,
    name: "smoke, WebSocket",
    transport: "ws",
    layout: { rooms: 1, members: 5, senders: 1, procs: 2 },
  });
  assert.equal(result.transport, "ws");
  assert.equal(result.sealed, true);
  const step = result.steps[0]!;
  assert.equal(step.sent, 200);
  assert.equal(step.expected, 200 * 5);
  assert.equal(step.received, step.expected, "a reliable transport loses nothing at this rate");
  assert.equal(step.duplicates, 0);
  const checks = step.receiverChecks!;
  assert.equal(checks.rejected, 0);
  assert.ok(checks.verified >= 1, "a sample of signatures was verified");
  assert.equal(checks.opened + checks.matched, step.received + step.late, JSON.stringify(step));
  assert.ok(step.latencyMs.p99 !== null);
});

Deno.test("bench, a mixed room (WebSocket and sealed UDP members): 1 room × 6, every delivery accounted for and checked", async () => {
  const result = await runScenario({
    ...wsSmoke,
    name: "smoke, mixed",
    transport: "mixed",
    layout: { rooms: 1, members: 6, senders: 1, procs: 2 },
  });
  assert.equal(result.transport, "mixed");
  const step = result.steps[0]!;
  assert.equal(step.expected, 200 * 6);
  assert.ok(step.loss < 0.05, `loss ${step.loss}`);
  assert.equal(step.duplicates, 0);
  assert.equal(step.receiverChecks?.rejected, 0);
});

Deno.test("bench, a stalled reader: the others are counted without it, and the server's RSS is read through the step", async () => {
  const result = await runScenario({
    ...wsSmoke,
    name: "smoke, stalled reader",
    transport: "ws",
    layout: { rooms: 1, members: 5, senders: 1, procs: 1, stalled: 1 },
    rssEveryMs: 200,
  });
  assert.equal(result.stalled, 1);
  const step = result.steps[0]!;
  assert.equal(step.expected, 200 * 4, "the stalled member is no receiver");
  assert.equal(step.received, step.expected);
  assert.ok((step.serverRssSamplesMiB?.length ?? 0) >= 3, JSON.stringify(step.serverRssSamplesMiB));
  assert.ok(step.serverRssSamplesMiB!.every((mib) => mib > 0));
});

Deno.test("bench, idle WebSocket members: the server's CPU and RSS are stated", async () => {
  const idle = await runIdle({
    members: 20,
    membersPerRoom: 10,
    procs: 1,
    windowSeconds: 1,
    heartbeatSeconds: 1,
    io: "mmsg",
    generatorIo: "epoll",
    sealed: true,
    transport: "ws",
  });
  assert.equal(idle.transport, "ws");
  assert.equal(idle.members, 20);
  assert.match(idle.name, /20 idle WebSocket members/);
  assert.ok(idle.serverRssMiB !== null && idle.serverRssMiB > 0);
  assert.ok(idle.serverCpuShare !== null && idle.serverCpuShare >= 0);
});

Deno.test("bench, pages after a server restart (killed, started again with the same key): each is reset, joins again, and all are back", async () => {
  const r = await runReconnect({
    pages: 20,
    membersPerRoom: 10,
    procs: 1,
    io: "mmsg",
    generatorIo: "epoll",
  });
  assert.equal(r.pages, 20);
  assert.equal(r.back, 20, JSON.stringify(r));
  assert.equal(r.rejoined, 20, "the new server knew no session: a stateless reset for each");
  assert.equal(r.resumed, 0);
  assert.ok(r.restartMs > 0 && r.killToAllBackMs >= r.readyToAllBackMs, JSON.stringify(r));
});
