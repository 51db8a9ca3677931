import assert from "node:assert/strict";
import type { BenchRun } from "./results.ts";
import { renderPerformancePage, withSummary } from "./report.ts";

const RUN: BenchRun = {
  command: "deno task bench",
  finishedAt: "2026-11-26T14:12:00.000Z",
  serverVersion: "0.1.0",
  deno: "2.9.6",
  machine: { cores: 2, cpuModel: "Test CPU" },
  note: "",
  thresholds: { maxLoss: 0.001, maxP99Ms: 50 },
  scenarios: [],
  idle: [],
};

Deno.test("withSummary: replaces only what is between the markers; refuses a README without them", () => {
  const readme = [
    "# chat",
    "<!-- bench summary: written by deno task bench -->",
    "old table",
    "<!-- end of bench summary -->",
    "after",
  ].join("\n");
  const updated = withSummary(readme, RUN);
  assert.ok(updated.startsWith("# chat\n<!-- bench summary: written by deno task bench -->\n"));
  assert.ok(updated.endsWith("<!-- end of bench summary -->\nafter"));
  assert.ok(!updated.includes("old table"));
  assert.match(updated, /2 cores, Test CPU: the newest result of each scenario/);
  assert.match(
    updated,
    /- 2026-11-26 14:12 UTC: `deno task bench` \(server 0\.1\.0, Deno 2\.9\.6\)/,
  );
  assert.match(updated, /!\[latency against offered load\]\(docs\/performance\.svg\)/);
  assert.equal(withSummary(updated, RUN), updated, "the same run gives the same text");
  assert.throws(() => withSummary("# chat\n", RUN), /no "<!-- bench summary/);
});

Deno.test("withSummary: names each chat row's mode, and gives the load average of each run", () => {
  const step = {
    offeredRate: 100,
    offeredDeliveries: 5000,
    sent: 200,
    expected: 10_000,
    received: 10_000,
    missing: 0,
    loss: 0,
    duplicates: 0,
    late: 0,
    deliveredRate: 100,
    deliveriesPerSecond: 5000,
    latencyMs: { p50: 1, p90: 2, p99: 3, max: 4 },
    serverCpuSeconds: 1,
    serverCpuShare: 0.5,
    generatorCpuShare: 0.5,
    serverPeakRssMiB: 80,
    maxTickGapMs: 1,
    held: true,
    why: "",
  };
  const scenario = {
    name: "s",
    target: "chat" as const,
    rooms: 1,
    members: 50,
    senders: 1,
    procs: 1,
    udpIo: "mmsg" as const,
    durationMs: 2000,
    joinMs: 1,
    steps: [step],
    saturationRate: 100,
    saturation: step,
  };
  const run: BenchRun = {
    ...RUN,
    loadAverage: { start: 1.94, end: 3.06 },
    scenarios: [{ ...scenario, sealed: true }, scenario],
  };
  const text = withSummary(
    "<!-- bench summary: written by deno task bench -->\n<!-- end of bench summary -->",
    run,
  );
  assert.match(text, /\| chat serve sealed \(mmsg socket\), 1 × 50, 1 sender +\| 100 /);
  assert.match(text, /\| chat serve plain \(mmsg socket\), 1 × 50, 1 sender +\| 100 /);
  assert.match(text, /Deno 2\.9\.6, load average 1\.9 → 3\.1\)/);
});

Deno.test("the WebSocket rows: ceilings by engine, the mixed room, the stalled reader against the run without it (RSS over time), the restart table", () => {
  const step = (p99: number, rss?: number[]) => ({
    offeredRate: 1000,
    offeredDeliveries: 50_000,
    sent: 2000,
    expected: 100_000,
    received: 100_000,
    missing: 0,
    loss: 0,
    duplicates: 0,
    late: 0,
    deliveredRate: 1000,
    deliveriesPerSecond: 50_000,
    latencyMs: { p50: 1, p90: 2, p99, max: 40 },
    serverCpuSeconds: 1,
    serverCpuShare: 0.5,
    generatorCpuShare: 0.5,
    serverPeakRssMiB: 90,
    maxTickGapMs: 1,
    held: true,
    why: "",
    ...(rss === undefined ? {} : { serverRssSamplesMiB: rss }),
  });
  const base = {
    name: "s",
    target: "chat" as const,
    sealed: true,
    transport: "ws" as const,
    rooms: 1,
    members: 50,
    senders: 1,
    procs: 1,
    udpIo: "mmsg" as const,
    durationMs: 2000,
    joinMs: 1,
    steps: [step(12.5)],
    saturationRate: 1000,
    saturation: step(12.5),
  };
  const stalled = {
    ...base,
    stalled: 1,
    durationMs: 20_000,
    steps: [step(14.25, [80, 84, 85])],
    withoutStalled: step(11.5, [79, 80]),
  };
  const run: BenchRun = {
    ...RUN,
    scenarios: [
      { ...base, target: "relay", relayEngine: "ours" },
      { ...base, target: "relay", relayEngine: "deno" },
      base,
      { ...base, transport: "mixed" },
      stalled,
    ],
    reconnects: [{
      name: "300 pages reconnecting after a server restart",
      pages: 300,
      rooms: 30,
      joinMs: 1,
      back: 300,
      resumed: 0,
      rejoined: 300,
      attempts: 912,
      restartMs: 1234,
      readyToHalfBackMs: 999,
      readyToAllBackMs: 2345,
      killToAllBackMs: 3579,
      serverRssMiB: 100,
      errors: [],
    }],
  };
  const text = withSummary(
    "<!-- bench summary: written by deno task bench -->\n<!-- end of bench summary -->",
    run,
  );
  assert.match(
    text,
    /\| ceiling \(trivial WebSocket relay \(our framing\)\), 1 × 50, 1 sender +\|/,
  );
  assert.match(text, /\| ceiling \(trivial WebSocket relay \(Deno's WebSocket\)\), 1 × 50/);
  assert.match(text, /\| chat serve, WebSocket, 1 × 50, 1 sender +\| 1,000 +\| 50,000 /);
  // 1 s of server CPU over 100,000 deliveries.
  assert.match(text, /\| 50% +\| 10\.0 +\| 90 MiB/);
  assert.match(
    text,
    /\| chat serve, WebSocket and sealed UDP \(mmsg socket\), 1 × 50 \(25 WebSocket, the rest UDP\)/,
  );
  assert.match(text, /1 × 50, 1 sender, 1 stalled reader +\| 1,000, one fixed step +\| 50,000 /);
  assert.match(
    text,
    /the others' p99 14\.3 ms, loss 0\.000%; server RSS about once a second: 80, 84, 85 MiB/,
  );
  assert.match(
    text,
    /Without the stalled reader: p99 11\.5 ms, loss 0\.000%; server RSS about once a second: 79, 80 MiB/,
  );
  const { withoutStalled: _, ...sweptOnly } = stalled;
  assert.match(
    withSummary(
      "<!-- bench summary: written by deno task bench -->\n<!-- end of bench summary -->",
      {
        ...run,
        scenarios: [base, sweptOnly],
      },
    ),
    /Without the stalled reader \(the sweep's step at that rate\): p99 12\.5 ms/,
  );
  assert.match(
    text,
    /300 pages reconnecting after a server restart +\| 30 +\| 300 of 300 +\| 300 +\| 1,234 ms +\| 999 ms +\| 2,345 ms +\| 3,579 ms/,
  );
  assert.match(
    renderPerformancePage(run),
    /A stalled reader \(a WebSocket member that stops reading\)/,
  );
});
