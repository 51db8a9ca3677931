/**
 * Several stored runs as one: the newest result of each scenario. The
 * default `deno task bench` and the larger layouts (`--rooms 1000 --members
 * 10`, say) are separate runs; the README and docs/performance.md show the
 * newest figures of every scenario measured on this machine, each with the
 * run it came from, instead of only whichever command ran last.
 */
import type { BenchRun, IdleResult, ReconnectResult, ScenarioResult } from "./results.ts";

/** What makes two scenario results comparable: the same target, sockets and layout. */
export function scenarioKey(s: ScenarioResult): string {
  const mode = s.target === "chat" && s.sealed ? "sealed" : "plain";
  return [
    s.target,
    mode,
    s.udpIo,
    s.generatorIo ?? "deno",
    s.rooms,
    s.members,
    s.senders,
    // Added with the WebSocket layouts; absent in older runs, which keep their keys.
    ...(s.transport === undefined ? [] : [s.transport]),
    ...(s.relayEngine === undefined ? [] : [s.relayEngine]),
    ...(s.stalled === undefined || s.stalled === 0 ? [] : [`stalled ${s.stalled}`]),
  ].join("|");
}

function idleKey(i: IdleResult): string {
  const mode = i.sealed ? "sealed" : "plain";
  return [
    mode,
    i.udpIo,
    i.generatorIo ?? "deno",
    i.members,
    i.rooms,
    i.heartbeatSeconds,
    ...(i.transport === undefined ? [] : [i.transport]),
  ].join("|");
}

/**
 * The newest run, with its scenarios and idle results replaced by the newest
 * of each kind across `runs` (those on the newest run's machine). Each result
 * carries `measuredAt`, its run's finishedAt. Scenarios are ordered by layout
 * (smallest first), the trivial relay before the server it bounds.
 */
export function mergeRuns(runs: readonly BenchRun[]): BenchRun {
  const sorted = [...runs].sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  const newest = sorted.at(-1);
  if (newest === undefined) throw new RangeError("no runs to merge");
  const sameMachine = sorted.filter((r) =>
    r.machine.cores === newest.machine.cores && r.machine.cpuModel === newest.machine.cpuModel
  );
  const scenarios = new Map<string, ScenarioResult>();
  const idle = new Map<string, IdleResult>();
  const reconnects = new Map<string, ReconnectResult>();
  for (const run of sameMachine) {
    for (const s of run.scenarios) {
      scenarios.set(scenarioKey(s), { ...s, measuredAt: run.finishedAt });
    }
    for (const i of run.idle) idle.set(idleKey(i), { ...i, measuredAt: run.finishedAt });
    for (const r of run.reconnects ?? []) {
      reconnects.set(`${r.pages}|${r.rooms}`, { ...r, measuredAt: run.finishedAt });
    }
  }
  const order = (s: ScenarioResult) => [
    s.rooms * s.members,
    s.rooms,
    s.target === "relay" ? 0 : s.sealed ? 2 : 1,
  ];
  const merged = [...scenarios.values()].sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return a.udpIo === b.udpIo ? 0 : a.udpIo === "mmsg" ? -1 : 1;
  });
  return {
    ...newest,
    scenarios: merged,
    idle: [...idle.values()],
    ...(reconnects.size === 0 ? {} : { reconnects: [...reconnects.values()] }),
  };
}

/** The runs a merged run's results came from: finishedAt and command, oldest first. */
export function sourcesOf(merged: BenchRun, runs: readonly BenchRun[]): BenchRun[] {
  const used = new Set(
    [...merged.scenarios, ...merged.idle, ...merged.reconnects ?? []].map((r) => r.measuredAt),
  );
  return runs.filter((r) => used.has(r.finishedAt))
    .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
}
