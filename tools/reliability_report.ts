/**
 * The README's reliability figures: `deno task chaos` and `deno task abuse`
 * each write their last run to docs/results/<suite group>.json, and this
 * module renders docs/reliability.md from every such file, so no figure in
 * it is typed by hand.
 */
import os from "node:os";

/** One suite's row in the table. */
export interface SuiteFigures {
  /** Short name, e.g. "20% loss, 10% duplication, reordering". */
  suite: string;
  /** What it sends, e.g. "5 members × 1,000 messages". */
  sends: string;
  /** Delivered over expected, e.g. "25000/25000", or "—" where nothing is counted. */
  delivered: string;
  /** Duplicates a user was shown. */
  duplicates: string;
  /** Wall time of the suite, seconds. */
  seconds: number;
  /** Peak resident memory of the server process, MiB (null when not measured). */
  peakServerMiB: number | null;
  /** Whether every check of the suite held. */
  passed: boolean;
  /** Anything else measured: retransmissions per message, latency, log lines. */
  notes: string;
}

/** One command's last run. */
export interface SuiteRun {
  /** The command that wrote it, e.g. "deno task chaos". */
  command: string;
  /** ISO time the run finished. */
  finishedAt: string;
  /** Cores and CPU model. */
  machine: string;
  /** Deno version. */
  deno: string;
  suites: SuiteFigures[];
}

/** Where the files live. */
export const RESULTS_DIR: URL = new URL("../docs/results/", import.meta.url);
/** The page the README links. */
export const RELIABILITY_PAGE: URL = new URL("../docs/reliability.md", import.meta.url);
const GROUPS = ["chaos", "abuse"] as const;
/** A suite group, one JSON file each. */
export type SuiteGroup = typeof GROUPS[number];

/** The machine, as the tables name it. */
export function describeMachine(): string {
  const cpus = os.cpus();
  return `${cpus.length} cores, ${cpus[0]?.model.trim() ?? "unknown CPU"}`;
}

/** A run with this machine's description filled in. */
export function newSuiteRun(command: string, suites: SuiteFigures[]): SuiteRun {
  return {
    command,
    finishedAt: new Date().toISOString(),
    machine: describeMachine(),
    deno: Deno.version.deno,
    suites,
  };
}

/** Saves one group's run and rewrites docs/reliability.md from every saved run. */
export async function writeReliabilityResults(group: SuiteGroup, run: SuiteRun): Promise<void> {
  await Deno.mkdir(RESULTS_DIR, { recursive: true });
  await Deno.writeTextFile(
    new URL(`${group}.json`, RESULTS_DIR),
    JSON.stringify(run, null, 2) + "\n",
  );
  const runs: SuiteRun[] = [];
  for (const name of GROUPS) {
    try {
      runs.push(JSON.parse(await Deno.readTextFile(new URL(`${name}.json`, RESULTS_DIR))));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  await Deno.writeTextFile(RELIABILITY_PAGE, renderReliabilityPage(runs));
}

/** The markdown page for a list of runs. */
export function renderReliabilityPage(runs: SuiteRun[]): string {
  const lines = [
    "# Reliability figures",
    "",
    "Written by `deno task chaos` and `deno task abuse` at the end of each run (from",
    "`docs/results/*.json`); do not edit by hand. How the suites work: README, section Reliability.",
    "",
  ];
  for (const run of runs) {
    lines.push(
      `## \`${run.command}\``,
      "",
      `Last run ${
        run.finishedAt.slice(0, 16).replace("T", " ")
      } UTC on ${run.machine}, Deno ${run.deno}.`,
      "",
      "| suite | what it sends | delivered | duplicates shown | time | server peak RSS | result | also measured |",
      "| --- | --- | --- | --- | --- | --- | --- | --- |",
    );
    for (const s of run.suites) {
      const memory = s.peakServerMiB === null ? "—" : `${s.peakServerMiB.toFixed(0)} MiB`;
      lines.push(
        `| ${cell(s.suite)} | ${cell(s.sends)} | ${cell(s.delivered)} | ${cell(s.duplicates)} | ` +
          `${s.seconds.toFixed(1)} s | ${memory} | ${s.passed ? "pass" : "**FAIL**"} | ${
            cell(s.notes)
          } |`,
      );
    }
    lines.push("");
  }
  return lines.join("\n");
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}
