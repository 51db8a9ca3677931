/**
 * `deno task abuse`: every abuse scenario at full size against a real
 * `chat serve` process, a table on stdout, and the figures saved through
 * tools/reliability_report.ts (docs/results/abuse.json, docs/reliability.md).
 * Exits 1 when any scenario failed its checks.
 */
import { ABUSE_KINDS } from "../../server/abuse_log.ts";
import { BOUNDS, runScenario, type ScenarioReport } from "./harness.ts";
import { SCENARIOS } from "./scenarios.ts";
import { newSuiteRun, type SuiteFigures, writeReliabilityResults } from "../reliability_report.ts";

const encoder = new TextEncoder();
const print = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));

// It takes no options: say so rather than start a run of several minutes on `--help`.
if (Deno.args.length > 0) {
  const help = Deno.args.length === 1 && ["--help", "-h"].includes(Deno.args[0]!);
  print(
    "Usage: deno task abuse\n\nRuns every abuse scenario at full size against a chat serve " +
      "process and writes docs/results/abuse.json and docs/reliability.md; takes no options.",
  );
  Deno.exit(help ? 0 : 2);
}

/** One report as a row of the reliability table. */
function figures(report: ScenarioReport): SuiteFigures {
  const b = report.bystander;
  const lines = Object.entries(report.abuseLines)
    .map(([kind, n]) => `${n} about ${ABUSE_KINDS[kind as keyof typeof ABUSE_KINDS]}`)
    .join("; ");
  const notes = [
    `bystander latency p50 ${b.p50Ms.toFixed(0)} ms, p99 ${b.p99Ms.toFixed(0)} ms, ` +
    `max ${b.maxMs.toFixed(0)} ms`,
    ...report.notes,
    `log lines: ${lines || "none"}`,
    ...report.failures.map((failure) => `FAILED: ${failure}`),
  ];
  return {
    suite: report.name,
    sends: report.sends,
    delivered: `${b.delivered}/${b.sent}`,
    duplicates: String(b.duplicates),
    seconds: report.seconds,
    peakServerMiB: report.peakRssMiB,
    passed: report.failures.length === 0,
    notes: notes.join("; "),
  };
}

print(
  `abuse suite: ${SCENARIOS.length} scenarios, one server each; bounds: peak RSS ≤ ` +
    `${BOUNDS.peakRssMiB} MiB, bystander messages within ${BOUNDS.bystanderMaxMs} ms, ` +
    `≤ ${BOUNDS.linesPerKind} log lines per kind and address`,
);
const rows: SuiteFigures[] = [];
for (const scenario of SCENARIOS) {
  const row = figures(await runScenario(scenario, "full"));
  rows.push(row);
  print("");
  print(`${row.passed ? "pass" : "FAIL"}  ${row.suite}: ${row.sends}`);
  print(
    `      bystander ${row.delivered} delivered, ${row.duplicates} duplicates; ` +
      `${row.seconds.toFixed(1)} s; server peak ${row.peakServerMiB?.toFixed(0)} MiB`,
  );
  for (const note of row.notes.split("; ")) print(`      ${note}`);
}
await writeReliabilityResults("abuse", newSuiteRun("deno task abuse", rows));
const failed = rows.filter((row) => !row.passed).length;
print("");
print(
  `${
    rows.length - failed
  }/${rows.length} passed; wrote docs/results/abuse.json and docs/reliability.md`,
);
Deno.exit(failed === 0 ? 0 : 1);
