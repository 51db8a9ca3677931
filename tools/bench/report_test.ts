import assert from "node:assert/strict";
import type { BenchRun } from "./results.ts";
import { withSummary } from "./report.ts";

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
