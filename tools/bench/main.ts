/**
 * `deno task bench`: how fast `chat serve` fans messages out, measured from
 * separate load generator processes over loopback, plain, sealed and
 * WebSocket side by side (`--modes`). First the generator's own ceiling
 * against the trivial relay (a trivial WebSocket relay for WebSocket), then
 * the chat scenarios, each swept from
 * a start rate (doubling, then bisecting) to the last rate where loss stays
 * within 0.1% and p99 latency within 50 ms. Prints tables; writes
 * docs/results/bench/<time>.json, latest.json, docs/performance.md and
 * docs/performance.svg.
 */
import os from "node:os";
import { Command, InvalidArgumentError } from "commander";
import denoJson from "../../deno.json" with { type: "json" };
import { writeAllSync } from "./lines.ts";
import { stalledLines, stepsTable, summaryTable, writeBenchResults } from "./report.ts";
import {
  type BenchRun,
  type IdleResult,
  layoutOf,
  type ReconnectResult,
  type ScenarioResult,
  targetOf,
} from "./results.ts";
import type { WsRelayEngine } from "./processes.ts";
import { type Planned, planScenarios } from "./plan.ts";
import { runReconnect } from "./ws_scenarios.ts";
import type { UdpIo } from "../../server/datagram_socket.ts";
import type { GeneratorIo } from "./socket.ts";
import { runIdle, runScenario, type ScenarioOptions, type Thresholds } from "./scenario.ts";

function whole(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError("expected a whole number");
  return Number(text);
}

function positive(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError("expected a number > 0");
  }
  return value;
}

type Mode = "plain" | "sealed" | "ws";

function modes(text: string): Mode[] {
  const list = text.split(",").map((m) => m.trim()).filter((m) => m !== "");
  if (list.length === 0 || list.some((m) => m !== "plain" && m !== "sealed" && m !== "ws")) {
    throw new InvalidArgumentError("a comma-separated list of plain, sealed and ws");
  }
  return [...new Set(list as Mode[])];
}

function engines(text: string): WsRelayEngine[] {
  const list = text.split(",").map((m) => m.trim()).filter((m) => m !== "");
  if (list.some((m) => m !== "ours" && m !== "deno")) {
    throw new InvalidArgumentError("a comma-separated list of ours and deno (or empty)");
  }
  return [...new Set(list as WsRelayEngine[])];
}

const flags = new Command("bench")
  .description("fan-out speed of chat serve, swept to its saturation point")
  .option(
    "--modes <list>",
    "sessions to measure, each scenario (and the idle members) once per mode, each in a " +
      "server of its own: plain (serve --allow-plaintext, the plain protocol), sealed " +
      "(serve as by default: sealed TCRP joins, sealed datagrams) and ws (the WebSocket " +
      "layouts: sealed over /ws, a mixed room, a stalled reader, idle sockets, a restart)",
    (text: string) => (modes(text), text),
    "plain,sealed,ws",
  )
  .option(
    "--ws-relays <list>",
    "trivial WebSocket relays measured as the ceiling of the ws mode: ours (the server's own " +
      "framing, WsConnection) and deno (Deno.serve's WebSocket); empty: none",
    (text: string) => (engines(text), text),
    "ours,deno",
  )
  .option(
    "--stall-seconds <seconds>",
    "how long the ws mode's stalled-reader step lasts (the reader's kernel buffers fill first)",
    positive,
    60,
  )
  .option(
    "--stall-text-bytes <n>",
    "message size in the stalled-reader step (larger ones fill the stalled socket's buffers " +
      "sooner; the room without it gets the same)",
    whole,
    3000,
  )
  .option("--ws-idle-members <n>", "ws mode: idle WebSocket members measured (0: no)", whole, 1000)
  .option(
    "--reconnect-pages <n>",
    "ws mode: WebSocket members brought back after a server restart (0: no)",
    whole,
    300,
  )
  .option("--rooms <n>", "rooms of a custom scenario (replaces the default ones)", whole)
  .option("--members <n>", "members a room in the custom scenario", whole)
  .option("--senders <n>", "senders a room in the custom scenario", whole)
  .option(
    "--rate <msgs>",
    "one fixed offered rate, MESSAGEs a second over all rooms (no sweep)",
    positive,
  )
  .option("--start-rate <msgs>", "first rate of each chat sweep (default: per scenario)", positive)
  .option("--duration <seconds>", "sending time of each step", positive, 2)
  .option("--settle <ms>", "wait after each step for late deliveries", whole, 500)
  .option("--max-steps <n>", "most steps in a sweep", whole, 7)
  .option("--procs <n>", "load generator processes", whole, 1)
  .option(
    "--idle-members <n>",
    "also measure this many heartbeat-only members (0: no)",
    whole,
    10_000,
  )
  .option("--idle-window <seconds>", "how long the idle measurement lasts", positive, 10)
  .option("--heartbeat <seconds>", "server heartbeat period in the idle measurement", whole, 10)
  .option(
    "--gen-io <io>",
    "UDP sockets of the load generators: epoll (one epoll set and recvmmsg, Linux) or deno",
    (text: string) => {
      if (text !== "epoll" && text !== "deno") throw new InvalidArgumentError("epoll or deno");
      return text;
    },
    Deno.build.os === "linux" ? "epoll" : "deno",
  )
  .option(
    "--udp-io <io>",
    "UDP sockets of the server and the relay: mmsg (recvmmsg/sendmmsg, Linux) or deno",
    (text: string) => {
      if (text !== "mmsg" && text !== "deno") throw new InvalidArgumentError("mmsg or deno");
      return text;
    },
    Deno.build.os === "linux" ? "mmsg" : "deno",
  )
  .option("--no-ceiling", "skip the generator's ceiling check against the trivial relay")
  .option(
    "--server-cpu-prof <dir>",
    "run each chat server with deno's --cpu-prof, writing its profile into <dir> on exit",
  )
  .option("--note <text>", "a remark stored with the run", "")
  .option("--no-write", "do not write docs/results/bench/ and docs/performance.*")
  .parse(Deno.args, { from: "user" })
  .opts();

const STALL_MAX_RATE = 60;
const print = (line = "") => writeAllSync(Deno.stdout, line + "\n");
const thresholds: Thresholds = { maxLoss: 0.001, maxP99Ms: 50 };

const procs = Math.max(1, flags.procs);
const io = flags.udpIo as UdpIo;
const generatorIo = flags.genIo as GeneratorIo;
const allModes = modes(flags.modes);
const sealedModes = allModes.filter((mode) => mode !== "ws").map((mode) => mode === "sealed");
const wsMode = allModes.includes("ws");
const custom =
  flags.rooms !== undefined || flags.members !== undefined || flags.senders !== undefined
    ? { rooms: flags.rooms ?? 1, members: flags.members ?? 50, senders: flags.senders ?? 1 }
    : undefined;
const planned = planScenarios({
  ...(custom === undefined ? {} : { custom }),
  ...(flags.startRate === undefined ? {} : { startRate: flags.startRate }),
  procs,
  io,
  sealedModes,
  wsMode,
  wsRelays: engines(flags.wsRelays),
  ceiling: flags.ceiling,
});

const serverDenoFlags = flags.serverCpuProf === undefined
  ? []
  : ["--cpu-prof", `--cpu-prof-dir=${flags.serverCpuProf}`];
const started = performance.now();
const loadAtStart = await loadAverage();
const scenarios: ScenarioResult[] = [];
const resultOf = new Map<Planned, ScenarioResult>();
for (const plan of planned) {
  const name = `${
    targetOf({
      target: plan.target,
      sealed: plan.sealed,
      udpIo: plan.io,
      ...(plan.transport === undefined ? {} : { transport: plan.transport }),
      ...(plan.relayEngine === undefined ? {} : { relayEngine: plan.relayEngine }),
    })
  }, ${layoutOf({ ...plan.layout, transport: plan.transport })}`;
  print(`${name}…`);
  // Half the rate where the room without it saturated in its 2 s steps, and at most 60 msg/s
  // (its texts are 100 times longer: 60 × 3,000 bytes is 180 KB/s into each socket, which
  // fills the stalled one's kernel buffers in about half a minute): a light load the server
  // carries for the whole step, so that a change is the stalled reader's doing. (At 250 and
  // 1,063 msg/s the room without it had a p99 of 0.9–1.2 s on the shared machine.)
  const stallRate = plan.stallBase === undefined ? undefined : Math.min(
    STALL_MAX_RATE,
    Math.round((resultOf.get(plan.stallBase)?.saturationRate ?? plan.start) / 2),
  );
  const options: ScenarioOptions = {
    name,
    target: plan.target,
    sealed: plan.sealed,
    layout: plan.layout,
    ...(plan.transport === undefined ? {} : { transport: plan.transport }),
    ...(plan.relayEngine === undefined ? {} : { relayEngine: plan.relayEngine }),
    ...(stallRate === undefined ? {} : { rssEveryMs: 1000, textBytes: flags.stallTextBytes }),
    durationMs: (stallRate === undefined ? flags.duration : flags.stallSeconds) * 1000,
    settleMs: flags.settle,
    rates: stallRate !== undefined ? { fixed: stallRate } : flags.rate !== undefined &&
        plan.target === "chat"
      ? { fixed: flags.rate }
      : {
        start: plan.start,
        maxSteps: flags.maxSteps,
        precision: 0.1,
        // Below this a sender sends fewer than 4 messages a step (at 125 msg/s over 1,000
        // senders, none: a step with nothing to count, which cannot hold).
        minRate: Math.ceil((4 * plan.layout.rooms * plan.layout.senders) / flags.duration),
        maxRate: 10_000_000,
      },
    thresholds,
    io: plan.io,
    generatorIo,
    serverDenoFlags,
    onStep: (step) =>
      print(
        `  ${Math.round(step.offeredRate)} msg/s: ${Math.round(step.deliveriesPerSecond)} ` +
          `deliveries/s, loss ${(step.loss * 100).toFixed(3)}%, p99 ` +
          `${step.latencyMs.p99?.toFixed(1) ?? "—"} ms${step.held ? "" : ` (${step.why})`}` +
          (step.receiverChecks === undefined ? "" : checksText(step.receiverChecks)) +
          `; server CPU ${((step.serverCpuShare ?? NaN) * 100).toFixed(0)}%, generators ` +
          `${((step.generatorCpuShare ?? NaN) * 100).toFixed(0)}%, longest tick gap ` +
          `${step.maxTickGapMs.toFixed(0)} ms` +
          (step.serverRssSamplesMiB === undefined
            ? ""
            : `; server RSS each second ${step.serverRssSamplesMiB.join(", ")} MiB`) +
          (step.stalledClosedAfterMs === undefined
            ? ""
            : `; stalled readers dropped after ${JSON.stringify(step.stalledClosedAfterMs)} ms`),
      ),
  };
  // A stalled reader is compared with the same room without it, measured just before it at
  // the same rate for as long (one after the other: the machine's load moves).
  let control: ScenarioResult | undefined;
  if (stallRate !== undefined) {
    print("  without the stalled reader first:");
    control = await runScenario({ ...options, layout: { ...plan.layout, stalled: 0 } });
    print("  with it:");
  }
  const result = await runScenario(options);
  if (control?.steps[0] !== undefined) result.withoutStalled = control.steps[0];
  resultOf.set(plan, result);
  scenarios.push(result);
  print();
  print(stepsTable(result).join("\n"));
  print();
}

const idle: IdleResult[] = [];
// What every idle measurement shares; each adds its members and transport.
const idleRun = {
  membersPerRoom: 10,
  procs,
  windowSeconds: flags.idleWindow,
  heartbeatSeconds: flags.heartbeat,
  io,
  generatorIo,
  serverDenoFlags,
};
for (const sealed of flags.idleMembers > 0 ? sealedModes : []) {
  print(`${flags.idleMembers} heartbeat-only ${sealed ? "sealed" : "plain"} members…`);
  idle.push(await runIdle({ ...idleRun, members: flags.idleMembers, sealed }));
}

if (wsMode && flags.wsIdleMembers > 0) {
  print(`${flags.wsIdleMembers} idle WebSocket members…`);
  idle.push(
    await runIdle({ ...idleRun, members: flags.wsIdleMembers, sealed: true, transport: "ws" }),
  );
}

const reconnects: ReconnectResult[] = [];
if (wsMode && flags.reconnectPages > 0) {
  print(`${flags.reconnectPages} pages reconnecting after a server restart…`);
  const r = await runReconnect({
    pages: flags.reconnectPages,
    membersPerRoom: 10,
    procs,
    io,
    generatorIo,
    serverDenoFlags,
  });
  reconnects.push(r);
}

const cpus = os.cpus();
const run: BenchRun = {
  command: ["deno task bench", ...Deno.args].join(" "),
  finishedAt: new Date().toISOString(),
  serverVersion: `${denoJson.version} (${await gitCommit()})`,
  deno: Deno.version.deno,
  machine: { cores: cpus.length, cpuModel: cpus[0]?.model.trim() ?? "unknown CPU" },
  note: flags.note,
  loadAverage: { start: loadAtStart, end: await loadAverage() },
  thresholds,
  scenarios,
  idle,
  ...(reconnects.length === 0 ? {} : { reconnects }),
};
print(summaryTable(run).join("\n"));
for (const i of idle) {
  print(
    `${i.name}: server ${((i.serverCpuShare ?? NaN) * 100).toFixed(1)}% of one core, ` +
      `RSS ${i.serverRssMiB?.toFixed(0)} MiB (peak ${i.serverPeakRssMiB?.toFixed(0)} MiB)`,
  );
}
for (const r of reconnects) {
  print(
    `${r.name}: ${r.back} of ${r.pages} back (${r.rejoined} after a stateless reset, ` +
      `${r.resumed} resumed), the restart took ${r.restartMs} ms, then half were back after ` +
      `${r.readyToHalfBackMs} ms and the last after ${r.readyToAllBackMs} ms (${r.killToAllBackMs} ` +
      `ms from the kill), ${r.attempts} attempts; joins retried: ` +
      `${JSON.stringify(r.rejoinRetries ?? {})}`,
  );
}
for (const line of stalledLines(run)) print(line);
print(
  `\n${((performance.now() - started) / 1000).toFixed(0)} s in all; load average ` +
    `${run.loadAverage?.start ?? "?"} at the start, ${run.loadAverage?.end ?? "?"} at the end`,
);
if (flags.write) {
  const file = await writeBenchResults(run);
  print(`wrote ${decodeURIComponent(file.pathname)}, latest.json, docs/performance.md and .svg`);
  print("(the page, plot and README summary show the newest result of each scenario stored)");
}

function checksText(c: NonNullable<ScenarioResult["steps"][0]["receiverChecks"]>): string {
  return `; receivers opened ${c.opened} (${c.verified} verified), matched ${c.matched}, ` +
    `rejected ${c.rejected}`;
}

/**
 * The 1-minute load average (Linux), or null. Read by `cat`: Deno refuses
 * /proc/loadavg to a process without --allow-all, and the task runs without
 * --allow-sys=loadavg.
 */
async function loadAverage(): Promise<number | null> {
  try {
    const { stdout, success } = await new Deno.Command("cat", {
      args: ["/proc/loadavg"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const value = Number(new TextDecoder().decode(stdout).split(" ")[0]);
    return success && Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

async function gitCommit(): Promise<string> {
  try {
    const { stdout, success } = await new Deno.Command("git", {
      args: ["rev-parse", "--short", "HEAD"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return success ? new TextDecoder().decode(stdout).trim() : "unknown commit";
  } catch {
    return "unknown commit";
  }
}
