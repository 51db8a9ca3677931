import assert from "node:assert/strict";
import { renderReliabilityPage, type SuiteRun } from "./reliability_report.ts";

Deno.test("renderReliabilityPage: one table row per suite, failures marked, pipes escaped", () => {
  const run: SuiteRun = {
    command: "deno task chaos",
    finishedAt: "2026-11-26T14:00:00.000Z",
    machine: "2 cores, Test CPU",
    deno: "2.9.6",
    suites: [
      {
        suite: "loss",
        sends: "5 × 1000",
        delivered: "5000/5000",
        duplicates: "0",
        seconds: 12.34,
        peakServerMiB: 51.2,
        passed: true,
        notes: "a|b",
      },
      {
        suite: "restart",
        sends: "4 members",
        delivered: "3/4",
        duplicates: "0",
        seconds: 2,
        peakServerMiB: null,
        passed: false,
        notes: "",
      },
    ],
  };
  const page = renderReliabilityPage([run]);
  assert.match(page, /## `deno task chaos`/);
  assert.match(page, /Last run 2026-11-26 14:00 UTC on 2 cores, Test CPU, Deno 2\.9\.6\./);
  assert.match(
    page,
    /\| loss \| 5 × 1000 \| 5000\/5000 \| 0 \| 12\.3 s \| 51 MiB \| pass \| a\\\|b \|/,
  );
  assert.match(
    page,
    /\| restart \| 4 members \| 3\/4 \| 0 \| 2\.0 s \| — \| \*\*FAIL\*\* \| {2}\|/,
  );
});
