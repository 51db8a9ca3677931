/**
 * The abuse suite at test size: each scenario against a real `chat serve`
 * process, with a bystander room talking throughout. tools/abuse/harness.ts
 * judges each run (server still serving, every bystander message on time,
 * peak RSS, log lines per kind); `deno task abuse` runs the same at full size.
 */
import assert from "node:assert/strict";
import { BOUNDS, runScenario } from "../tools/abuse/harness.ts";
import { SCENARIOS } from "../tools/abuse/scenarios.ts";

for (const scenario of SCENARIOS) {
  Deno.test(`abuse: ${scenario.name}`, async () => {
    const report = await runScenario(scenario, "test");
    const { bystander } = report;
    assert.deepEqual(report.failures, [], JSON.stringify(report, null, 2));
    assert.equal(bystander.delivered, bystander.sent);
    assert.ok(bystander.maxMs <= BOUNDS.bystanderMaxMs);
    assert.ok(report.peakRssMiB <= BOUNDS.peakRssMiB);
    for (const kind of scenario.expectedKinds) {
      const lines = report.abuseLines[kind] ?? 0;
      assert.ok(lines >= 1 && lines <= BOUNDS.linesPerKind, `${lines} lines about ${kind}`);
    }
  });
}
