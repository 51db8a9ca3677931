/**
 * The bench's outputs: a table for people (stdout and docs/performance.md),
 * and the run as JSON (docs/results/bench/<time>.json and latest.json).
 */
import { mergeRuns, sourcesOf } from "./merge.ts";
import {
  type BenchRun,
  type IdleResult,
  layoutOf,
  type ReconnectResult,
  type ScenarioResult,
  type StepResult,
  targetOf,
} from "./results.ts";
import { renderLatencyPlot } from "./svg.ts";

/** Where the JSON files go. */
export const BENCH_RESULTS_DIR: URL = new URL("../../docs/results/bench/", import.meta.url);
/** The generated page. */
export const PERFORMANCE_PAGE: URL = new URL("../../docs/performance.md", import.meta.url);
/** The generated plot. */
export const PERFORMANCE_SVG: URL = new URL("../../docs/performance.svg", import.meta.url);
/** The README, whose Performance section carries the summary between two markers. */
export const README: URL = new URL("../../README.md", import.meta.url);
const SUMMARY_START = "<!-- bench summary: written by deno task bench -->";
const SUMMARY_END = "<!-- end of bench summary -->";

const thousands = (n: number) => Math.round(n).toLocaleString("en-US");
const millis = (ms: number | null) => ms === null ? "—" : ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
const percent = (share: number | null, digits = 0) =>
  share === null ? "—" : `${(share * 100).toFixed(digits)}%`;
const mib = (value: number | null) => value === null ? "—" : `${value.toFixed(0)} MiB`;

const STEP_HEADER = [
  "offered msg/s",
  "offered deliveries/s",
  "delivered msg/s",
  "deliveries/s",
  "loss",
  "dup",
  "p50 ms",
  "p90 ms",
  "p99 ms",
  "max ms",
  "server CPU",
  "server CPU µs/delivery",
  "generator CPU",
  "server peak RSS",
  "held",
];

function stepRow(step: StepResult): string[] {
  return [
    thousands(step.offeredRate),
    thousands(step.offeredDeliveries),
    thousands(step.deliveredRate),
    thousands(step.deliveriesPerSecond),
    percent(step.loss, 3),
    String(step.duplicates),
    millis(step.latencyMs.p50),
    millis(step.latencyMs.p90),
    millis(step.latencyMs.p99),
    millis(step.latencyMs.max),
    percent(step.serverCpuShare),
    microsPerDelivery(step),
    percent(step.generatorCpuShare),
    mib(step.serverPeakRssMiB),
    step.held ? "yes" : `no: ${step.why}`,
  ];
}

/**
 * Server CPU time a delivery, µs: what a delivery costs whatever share of a
 * core the server got (on a loaded machine the share says more about the
 * load than about the server).
 */
function microsPerDelivery(step: StepResult): string {
  if (step.serverCpuSeconds === null || step.received === 0) return "—";
  return ((step.serverCpuSeconds * 1e6) / step.received).toFixed(1);
}

function markdownTable(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`),
  ];
}

/** The headline table: one row per scenario at its saturation point, one per idle run. */
export function summaryTable(run: BenchRun): string[] {
  const merged = run.scenarios.some((s) => s.measuredAt !== undefined);
  const rows = run.scenarios.map((s) => {
    // A stalled reader's run is one fixed step, shown whether or not it held (its point is the
    // comparison below the table, at a rate chosen to be light).
    const fixed = (s.stalled ?? 0) > 0 ? s.steps[0] ?? null : null;
    const at = fixed ?? s.saturation;
    const rate = fixed !== null
      ? `${thousands(fixed.offeredRate)}, one fixed step${fixed.held ? "" : ` (${fixed.why})`}`
      : s.saturationRate === null
      ? "none held"
      : thousands(s.saturationRate);
    return [
      s.target === "relay"
        ? `${s.transport === "ws" ? "ceiling" : "generator ceiling"} (${targetOf(s)}), ${
          layoutOf(s)
        }`
        : `${targetOf(s)}, ${layoutOf(s)}`,
      rate,
      at === null ? "—" : thousands(at.deliveriesPerSecond),
      at === null ? "—" : percent(at.loss, 3),
      at === null ? "—" : millis(at.latencyMs.p50),
      at === null ? "—" : millis(at.latencyMs.p99),
      at === null ? "—" : percent(at.serverCpuShare),
      at === null ? "—" : microsPerDelivery(at),
      at === null ? "—" : mib(at.serverPeakRssMiB),
      ...(merged ? [shortTime(s.measuredAt)] : []),
    ];
  });
  return markdownTable(
    [
      "scenario",
      "last rate that held, msg/s",
      "deliveries/s there",
      "loss",
      "p50 ms",
      "p99 ms",
      "server CPU",
      "server CPU µs/delivery",
      "server peak RSS",
      ...(merged ? ["measured"] : []),
    ],
    rows,
  );
}

/** "2026-11-26 14:12" from an ISO time; "—" without one. */
function shortTime(iso: string | undefined): string {
  return iso === undefined ? "—" : iso.slice(0, 16).replace("T", " ");
}

/** ", load average 1.9 → 2.4" (1 minute, at the run's start and end), or "". */
function loadText(r: BenchRun): string {
  const load = r.loadAverage;
  if (load === undefined || load.start === null || load.end === null) return "";
  return `, load average ${load.start.toFixed(1)} → ${load.end.toFixed(1)}`;
}

/** The runs behind a merged summary, one line each. */
function sourceLines(sources: readonly BenchRun[]): string[] {
  return sources.map((r) =>
    `- ${shortTime(r.finishedAt)} UTC: \`${r.command}\` (server ${r.serverVersion}, Deno ${r.deno}${
      loadText(r)
    })${r.note ? `: ${r.note}` : ""}`
  );
}

function idleTable(idle: IdleResult[]): string[] {
  const merged = idle.some((i) => i.measuredAt !== undefined);
  return markdownTable(
    [
      "scenario",
      "rooms",
      "heartbeat",
      "window",
      "server CPU",
      "server RSS",
      "server peak RSS",
      ...(merged ? ["measured"] : []),
    ],
    idle.map((i) => [
      i.name,
      thousands(i.rooms),
      `${i.heartbeatSeconds} s (sent every ${i.heartbeatSeconds / 2} s)`,
      `${i.windowSeconds} s`,
      `${percent(i.serverCpuShare, 1)} of one core`,
      mib(i.serverRssMiB),
      mib(i.serverPeakRssMiB),
      ...(merged ? [shortTime(i.measuredAt)] : []),
    ]),
  );
}

function reconnectTable(reconnects: ReconnectResult[]): string[] {
  const merged = reconnects.some((r) => r.measuredAt !== undefined);
  return markdownTable(
    [
      "scenario",
      "rooms",
      "back",
      "rejoined after a reset",
      "restart (kill → answering)",
      "answering → half back",
      "answering → all back",
      "kill → all back",
      "attempts",
      "server RSS after",
      ...(merged ? ["measured"] : []),
    ],
    reconnects.map((r) => [
      r.name,
      thousands(r.rooms),
      `${thousands(r.back)} of ${thousands(r.pages)}`,
      thousands(r.rejoined),
      `${thousands(r.restartMs)} ms`,
      r.readyToHalfBackMs === undefined ? "—" : `${thousands(r.readyToHalfBackMs)} ms`,
      `${thousands(r.readyToAllBackMs)} ms`,
      `${thousands(r.killToAllBackMs)} ms`,
      thousands(r.attempts),
      mib(r.serverRssMiB),
      ...(merged ? [shortTime(r.measuredAt)] : []),
    ]),
  );
}

/**
 * For each scenario with a stalled reader: the server's RSS through its
 * steps, and the others' p99 against the same layout without it at the same
 * rate (the step of that rate, when the run without it tried that rate).
 */
export function stalledLines(run: BenchRun): string[] {
  const dropped = (step: StepResult) => {
    const after = step.stalledClosedAfterMs ?? [];
    return after.length === 0
      ? "the server had not dropped the stalled reader by the end"
      : `the server dropped the stalled reader (its socket closed) ${
        after.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(", ")
      } after it stopped reading`;
  };
  const lines: string[] = [];
  for (const s of run.scenarios) {
    if ((s.stalled ?? 0) === 0) continue;
    const base = run.scenarios.find((b) =>
      (b.stalled ?? 0) === 0 && b.target === s.target && b.transport === s.transport &&
      b.rooms === s.rooms && b.members === s.members && b.senders === s.senders
    );
    for (const step of s.steps) {
      const without = s.withoutStalled ??
        base?.steps.find((b) => b.offeredRate === step.offeredRate);
      const rss = (t: StepResult | undefined) =>
        t?.serverRssSamplesMiB === undefined || t.serverRssSamplesMiB.length === 0
          ? ""
          : `; server RSS about once a second: ${t.serverRssSamplesMiB.join(", ")} MiB (peak ${
            mib(t.serverPeakRssMiB)
          })`;
      lines.push(
        `- ${targetOf(s)}, ${layoutOf(s)}, ${thousands(step.offeredRate)} msg/s for ` +
          `${s.durationMs / 1000} s${
            s.textBytes === undefined ? "" : `, ${thousands(s.textBytes)}-byte texts`
          }: the others' p99 ${millis(step.latencyMs.p99)} ms, loss ` +
          `${percent(step.loss, 3)}${rss(step)}; ${dropped(step)}.`,
        without === undefined
          ? "  Without the stalled reader: no step at that rate stored."
          : `  Without the stalled reader${
            s.withoutStalled === undefined ? " (the sweep's step at that rate)" : ""
          }: p99 ${millis(without.latencyMs.p99)} ms, loss ${percent(without.loss, 3)}${
            rss(without)
          }.`,
      );
    }
  }
  return lines;
}

/** Every step of a scenario. */
export function stepsTable(s: ScenarioResult): string[] {
  return markdownTable(STEP_HEADER, s.steps.map(stepRow));
}

/**
 * docs/performance.md: `run` is usually merged (merge.ts) from `sources`,
 * the stored runs its rows came from.
 */
export function renderPerformancePage(run: BenchRun, sources: readonly BenchRun[] = [run]): string {
  const lines = [
    "# Performance figures",
    "",
    "Written by `deno task bench` (tools/bench/) at the end of each run, from the newest result",
    "of each scenario in `docs/results/bench/`; do not edit by hand. The runs they came from:",
    "",
    ...sourceLines(sources),
    "",
    `Machine: ${run.machine.cores} cores, ${run.machine.cpuModel}.`,
    "",
    `A rate holds when loss stays at most ${percent(run.thresholds.maxLoss, 1)} and p99 latency ` +
    `at most ${run.thresholds.maxP99Ms} ms. Loss is counted without retransmission. The load ` +
    "generator runs in separate processes on the same machine; a trivial relay row is its " +
    "ceiling in that layout. WebSocket rows: the members are Deno's WebSocket clients on the " +
    "server's `/ws`; their ceiling is a trivial WebSocket relay (our framing: the server's own " +
    "WsConnection; Deno's: Deno.serve). Server CPU µs/delivery is the server's CPU time over " +
    "the step divided by the deliveries: what a delivery costs, whatever share of a core the " +
    "shared machine gave the server.",
    "",
    ...summaryTable(run),
    "",
  ];
  if (run.idle.length > 0) lines.push(...idleTable(run.idle), "");
  if ((run.reconnects ?? []).length > 0) lines.push(...reconnectTable(run.reconnects!), "");
  const stalled = stalledLines(run);
  if (stalled.length > 0) {
    lines.push("A stalled reader (a WebSocket member that stops reading):", "", ...stalled, "");
  }
  lines.push("![latency against offered load](performance.svg)", "");
  for (const s of run.scenarios) {
    lines.push(
      `## ${targetOf(s)}: ${layoutOf(s)}`,
      "",
      `${s.procs} generator process${s.procs === 1 ? "" : "es"} on ${
        s.generatorIo ?? "deno"
      } sockets, ${s.durationMs / 1000} s a step, ` +
        `joins took ${thousands(s.joinMs)} ms.` +
        (s.measuredAt === undefined ? "" : ` Measured ${shortTime(s.measuredAt)} UTC.`),
      "",
      ...stepsTable(s),
      "",
      ...checksLines(s),
    );
  }
  return lines.join("\n");
}

/** A sealed scenario's receiver checks over all its steps, as one sentence. */
function checksLines(s: ScenarioResult): string[] {
  const steps = s.steps.filter((step) => step.receiverChecks !== undefined);
  if (steps.length === 0) return [];
  const total = (pick: (c: NonNullable<StepResult["receiverChecks"]>) => number) =>
    thousands(steps.reduce((a, step) => a + pick(step.receiverChecks!), 0));
  return [
    `Receivers, over these steps: ${total((c) => c.opened)} room datagrams opened ` +
    `(${total((c) => c.verified)} of them signature-verified), ${total((c) => c.matched)} ` +
    `copies matched to an opened one, ${total((c) => c.rejected)} rejected.`,
    "",
  ];
}

/** Every stored run (docs/results/bench/*.json but latest.json), oldest first. */
export async function readStoredRuns(dir: URL = BENCH_RESULTS_DIR): Promise<BenchRun[]> {
  const runs: BenchRun[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".json") || entry.name === "latest.json") continue;
    runs.push(JSON.parse(await Deno.readTextFile(new URL(entry.name, dir))) as BenchRun);
  }
  return runs.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
}

/**
 * Writes the run's JSON files, then the page, the plot and the README
 * summary from the newest result of each scenario stored. Returns the
 * timestamped file's URL.
 */
export async function writeBenchResults(run: BenchRun): Promise<URL> {
  await Deno.mkdir(BENCH_RESULTS_DIR, { recursive: true });
  const json = JSON.stringify(run, null, 2) + "\n";
  const file = new URL(`${run.finishedAt.replace(/[:.]/g, "-")}.json`, BENCH_RESULTS_DIR);
  await Deno.writeTextFile(file, json);
  await Deno.writeTextFile(new URL("latest.json", BENCH_RESULTS_DIR), json);
  const runs = await readStoredRuns();
  const merged = mergeRuns(runs);
  const sources = sourcesOf(merged, runs);
  await Deno.writeTextFile(PERFORMANCE_PAGE, renderPerformancePage(merged, sources));
  await Deno.writeTextFile(PERFORMANCE_SVG, renderLatencyPlot(merged));
  await Deno.writeTextFile(
    README,
    withSummary(await Deno.readTextFile(README), merged, sources),
  );
  // The README is checked by deno fmt, which aligns tables; let it do so now.
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "-q", decodeURIComponent(README.pathname)],
  })
    .output();
  return file;
}

/** `readme` with the text between the summary markers replaced by this run's summary. */
export function withSummary(
  readme: string,
  run: BenchRun,
  sources: readonly BenchRun[] = [run],
): string {
  const start = readme.indexOf(SUMMARY_START);
  const end = readme.indexOf(SUMMARY_END);
  if (start < 0 || end < start) {
    throw new Error(`README.md has no "${SUMMARY_START}" ... "${SUMMARY_END}" section`);
  }
  const summary = [
    SUMMARY_START,
    "",
    `${run.machine.cores} cores, ${run.machine.cpuModel}: the newest result of each scenario, ` +
    "from these runs:",
    "",
    ...sourceLines(sources),
    "",
    ...summaryTable(run),
    "",
    ...(run.idle.length > 0 ? [...idleTable(run.idle), ""] : []),
    ...((run.reconnects ?? []).length > 0 ? [...reconnectTable(run.reconnects!), ""] : []),
    ...(stalledLines(run).length > 0 ? [...stalledLines(run), ""] : []),
    "![latency against offered load](docs/performance.svg)",
    "",
  ];
  return readme.slice(0, start) + summary.join("\n") + readme.slice(end);
}
