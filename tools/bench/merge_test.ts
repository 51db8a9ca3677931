import assert from "node:assert/strict";
import { mergeRuns, sourcesOf } from "./merge.ts";
import type { BenchRun, ScenarioResult } from "./results.ts";

function scenario(fields: Partial<ScenarioResult>): ScenarioResult {
  return {
    name: "s",
    target: "chat",
    rooms: 1,
    members: 50,
    senders: 1,
    procs: 2,
    udpIo: "mmsg",
    generatorIo: "epoll",
    durationMs: 2000,
    joinMs: 1,
    steps: [],
    saturationRate: 1,
    saturation: null,
    ...fields,
  };
}

function run(finishedAt: string, scenarios: ScenarioResult[], cpuModel = "CPU"): BenchRun {
  return {
    command: `bench at ${finishedAt}`,
    finishedAt,
    serverVersion: "0.1.0",
    deno: "2.9.6",
    machine: { cores: 2, cpuModel },
    note: "",
    thresholds: { maxLoss: 0.001, maxP99Ms: 50 },
    scenarios,
    idle: [],
  };
}

Deno.test("mergeRuns: the newest result of each scenario, ordered by layout, relay first", () => {
  const runs = [
    run("2026-11-26T10:00:00Z", [
      scenario({ saturationRate: 1 }),
      scenario({ rooms: 1000, members: 10, saturationRate: 2 }),
    ]),
    run("2026-11-26T12:00:00Z", [scenario({ saturationRate: 3 })]),
    run("2026-11-26T11:00:00Z", [
      scenario({ target: "relay", rooms: 1000, members: 10, saturationRate: 4 }),
      scenario({ udpIo: "deno", saturationRate: 5 }),
    ]),
  ];
  const merged = mergeRuns(runs);
  assert.equal(merged.finishedAt, "2026-11-26T12:00:00Z");
  assert.deepEqual(
    merged.scenarios.map((s) => [s.saturationRate, s.measuredAt]),
    [
      [3, "2026-11-26T12:00:00Z"], // 1 × 50 mmsg: the 12:00 run replaced the 10:00 one
      [5, "2026-11-26T11:00:00Z"], // 1 × 50 deno after mmsg
      [4, "2026-11-26T11:00:00Z"], // 1,000 × 10: relay before chat
      [2, "2026-11-26T10:00:00Z"],
    ],
  );
  assert.deepEqual(sourcesOf(merged, runs).map((r) => r.finishedAt), [
    "2026-11-26T10:00:00Z",
    "2026-11-26T11:00:00Z",
    "2026-11-26T12:00:00Z",
  ]);
});

Deno.test("mergeRuns: runs on another machine, or with other sockets, are kept apart", () => {
  const runs = [
    run("2026-11-26T10:00:00Z", [scenario({ saturationRate: 1 })], "Other CPU"),
    run("2026-11-26T11:00:00Z", [scenario({ generatorIo: "deno", saturationRate: 2 })]),
    run("2026-11-26T12:00:00Z", [scenario({ saturationRate: 3 })]),
  ];
  const merged = mergeRuns(runs);
  assert.deepEqual(merged.scenarios.map((s) => s.saturationRate).toSorted(), [2, 3]);
  assert.throws(() => mergeRuns([]), RangeError);
});

Deno.test("mergeRuns: sealed and plain results of one layout are kept apart, sealed after plain", () => {
  const runs = [
    run("2026-11-26T10:00:00Z", [scenario({ saturationRate: 1 })]), // before modes: plain
    run("2026-11-26T11:00:00Z", [
      scenario({ sealed: true, saturationRate: 2 }),
      scenario({ target: "relay", saturationRate: 3 }),
    ]),
  ];
  const merged = mergeRuns(runs);
  assert.deepEqual(merged.scenarios.map((s) => [s.target, s.sealed, s.saturationRate]), [
    ["relay", undefined, 3],
    ["chat", undefined, 1],
    ["chat", true, 2],
  ]);
});

Deno.test("mergeRuns: WebSocket, mixed and stalled-reader results, and each relay engine, are kept apart from UDP ones; reconnects are merged too", () => {
  const relay = { target: "relay" as const, saturationRate: 1 };
  const runs = [
    run("2026-12-02T10:00:00.000Z", [
      scenario({ sealed: true }),
      scenario({ sealed: true, transport: "ws" }),
      scenario({ sealed: true, transport: "mixed" }),
      scenario({ sealed: true, transport: "ws", stalled: 1 }),
      scenario(relay),
      scenario({ ...relay, transport: "ws", relayEngine: "ours" }),
      scenario({ ...relay, transport: "ws", relayEngine: "deno" }),
    ]),
    {
      ...run("2026-12-02T11:00:00.000Z", [scenario({ sealed: true, transport: "ws" })]),
      reconnects: [{
        name: "300 pages",
        pages: 300,
        rooms: 30,
        joinMs: 1,
        back: 300,
        resumed: 0,
        rejoined: 300,
        attempts: 900,
        restartMs: 1000,
        readyToAllBackMs: 2000,
        killToAllBackMs: 3000,
        serverRssMiB: 100,
        errors: [],
      }],
    },
  ];
  const merged = mergeRuns(runs);
  assert.equal(merged.scenarios.length, 7);
  assert.equal(
    merged.scenarios.filter((s) => s.measuredAt === "2026-12-02T11:00:00.000Z").length,
    1,
    "only the WebSocket 1 × 50 row is replaced by the newer run",
  );
  assert.equal(merged.reconnects?.length, 1);
  assert.equal(merged.reconnects?.[0]?.measuredAt, "2026-12-02T11:00:00.000Z");
  assert.equal(sourcesOf(merged, runs).length, 2);
});
