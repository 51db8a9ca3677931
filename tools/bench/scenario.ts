/**
 * One scenario: start the target, start the generators, join every member,
 * warm up, then measure steps at the rates the sweep picks (or one fixed
 * rate), and stop everything.
 */
import type { UdpIo } from "../../server/datagram_socket.ts";
import { Children } from "../../testing/cli.ts";
import { LatencyHistogram } from "./histogram.ts";
import type { Layout, StepReport, Transport } from "./layout.ts";
import type { GeneratorIo } from "./socket.ts";
import { readCpuSeconds, readCpuSecondsOf, readMemoryMiB } from "../proc_stat.ts";
import {
  LoadgenProcess,
  type LoadTarget,
  startChatServer,
  startRelay,
  startWsRelay,
  type WsRelayEngine,
} from "./processes.ts";
import type { IdleResult, ScenarioResult, StepResult } from "./results.ts";
import { nextRate, saturation, type SweepOptions } from "./sweep.ts";

/** What a step must stay within to hold. */
export interface Thresholds {
  maxLoss: number;
  maxP99Ms: number;
}

/** A scenario to run. */
export interface ScenarioOptions {
  name: string;
  target: "chat" | "relay";
  /** With "chat": sealed sessions (the server without --allow-plaintext) instead of plain. */
  sealed?: boolean;
  layout: Layout;
  durationMs: number;
  settleMs: number;
  /** A fixed rate, or a sweep (MESSAGEs a second over all rooms). */
  rates: { fixed: number } | SweepOptions;
  thresholds: Thresholds;
  /** Extra `chat serve` flags. */
  serverFlags?: string[];
  /** Extra `deno run` flags for the server (--cpu-prof, say). */
  serverDenoFlags?: string[];
  /** UDP sockets of the server (or relay). */
  io: UdpIo;
  /** UDP sockets of the load generators. */
  generatorIo: GeneratorIo;
  /** Told each step's result as it comes. */
  onStep?: (step: StepResult) => void;
  /** How the members connect ("udp" when absent); "ws" and "mixed" are sealed. */
  transport?: Transport;
  /** A WebSocket relay's engine (target "relay", transport "ws"). */
  relayEngine?: WsRelayEngine;
  /** Reads the server's RSS every this many ms during each step (layouts with a stalled reader). */
  rssEveryMs?: number;
  /** Message texts padded to this many bytes (absent: the bare stamp, about 30). */
  textBytes?: number;
}

/** A target and its generators, joined. */
export interface Rig {
  kids: Children;
  target: LoadTarget;
  generators: LoadgenProcess[];
  joinMs: number;
}

/** What {@linkcode rigUp} starts. */
export interface RigOptions {
  kind: "chat" | "relay";
  layout: Layout;
  serverFlags: string[];
  io: { server: UdpIo; generators: GeneratorIo };
  serverDenoFlags?: string[];
  sealed?: boolean;
  /** How the members connect ("udp" when absent); "ws" and "mixed" are sealed. */
  transport?: Transport;
  /** A WebSocket relay's engine (kind "relay", transport "ws"). */
  relayEngine?: WsRelayEngine;
  /** Message texts padded to this many bytes. */
  textBytes?: number;
}

/** Starts the target and the generators, and joins every member (hosts first). */
export async function rigUp(options: RigOptions): Promise<Rig> {
  const { kind, layout, io } = options;
  const transport = options.transport ?? "udp";
  const ws = transport !== "udp";
  const kids = new Children();
  const generators: LoadgenProcess[] = [];
  try {
    const target = kind === "relay"
      ? (ws
        ? await startWsRelay(kids, options.relayEngine ?? "ours")
        : await startRelay(kids, io.server))
      : await startChatServer(
        kids,
        ["--udp-io", io.server, ...options.serverFlags],
        options.serverDenoFlags ?? [],
        ws || (options.sealed ?? false),
        { ws },
      );
    for (let proc = 0; proc < layout.procs; proc++) {
      generators.push(
        new LoadgenProcess({
          ...layout,
          target: kind,
          sealed: kind === "chat" && (ws || (options.sealed ?? false)),
          hostname: target.hostname,
          port: target.port,
          proc,
          handshakeConcurrency: Math.max(1, Math.floor(32 / layout.procs)),
          io: io.generators,
          transport,
          ...(target.httpPort === undefined ? {} : { wsPort: target.httpPort }),
          ...(options.textBytes === undefined ? {} : { textBytes: options.textBytes }),
        }),
      );
    }
    const started = performance.now();
    for (const hosts of [true, false]) {
      await Promise.all(generators.map((g) => g.request({ cmd: "join", hosts })));
    }
    return { kids, target, generators, joinMs: Math.round(performance.now() - started) };
  } catch (error) {
    await Promise.allSettled(generators.map((g) => g.close()));
    await kids.dispose();
    throw error;
  }
}

/** Stops the generators and the target. */
export async function rigDown(rig: Rig): Promise<void> {
  await Promise.allSettled(rig.generators.map((g) => g.close()));
  await rig.kids.dispose();
}

async function measureStep(
  rig: Rig,
  options: ScenarioOptions,
  step: number,
  rate: number,
): Promise<StepResult> {
  const { layout, durationMs, settleMs, thresholds } = options;
  const ratePerSender = rate / (layout.rooms * layout.senders);
  const generatorPids = rig.generators.map((g) => g.pid);
  // WebSocket: what an overloaded step left in the buffers arrives before this step starts
  // ("quiet": no bench message arrived for that long; heartbeat answers do not count).
  if (options.transport !== undefined && options.transport !== "udp") {
    await Promise.all(
      rig.generators.map((g) => g.request({ cmd: "drain", quietMs: 300, maxMs: 30_000 })),
    );
  }
  const [serverBefore, generatorsBefore] = await Promise.all([
    readCpuSeconds(rig.target.pid),
    readCpuSecondsOf(generatorPids),
  ]);
  const started = performance.now();
  const rss: number[] = [];
  let sampling = true;
  const sampler = options.rssEveryMs === undefined ? Promise.resolve() : (async () => {
    while (sampling) {
      const memory = await readMemoryMiB(rig.target.pid);
      if (memory !== null) rss.push(Math.round(memory.rssMiB));
      await new Promise((resolve) => setTimeout(resolve, options.rssEveryMs));
    }
  })();
  const reports = await Promise.all(rig.generators.map(async (g) => {
    const answer = await g.request({ cmd: "run", step, ratePerSender, durationMs, settleMs });
    if (!("report" in answer)) throw new Error(`expected a report, got ${JSON.stringify(answer)}`);
    return answer.report;
  })).finally(() => (sampling = false));
  await sampler;
  const wallSeconds = (performance.now() - started) / 1000;
  const [serverAfter, generatorsAfter, memory] = await Promise.all([
    readCpuSeconds(rig.target.pid),
    readCpuSecondsOf(generatorPids),
    readMemoryMiB(rig.target.pid),
  ]);
  const serverCpuSeconds = serverBefore === null || serverAfter === null
    ? null
    : serverAfter - serverBefore;
  const generatorCpuSeconds = generatorsBefore === null || generatorsAfter === null
    ? null
    : generatorsAfter - generatorsBefore;
  return summarize(rate, layout, durationMs, reports, thresholds, {
    serverCpuSeconds,
    serverCpuShare: serverCpuSeconds === null ? null : serverCpuSeconds / wallSeconds,
    generatorCpuShare: generatorCpuSeconds === null ? null : generatorCpuSeconds / wallSeconds,
    serverPeakRssMiB: memory?.peakMiB ?? null,
    ...(options.rssEveryMs === undefined ? {} : { serverRssSamplesMiB: rss }),
  });
}

/** Adds up the generators' reports of one step and decides whether it held. */
export function summarize(
  rate: number,
  layout: Layout,
  durationMs: number,
  reports: StepReport[],
  thresholds: Thresholds,
  measured: Pick<
    StepResult,
    | "serverCpuSeconds"
    | "serverCpuShare"
    | "generatorCpuShare"
    | "serverPeakRssMiB"
    | "serverRssSamplesMiB"
  >,
): StepResult {
  const histogram = new LatencyHistogram();
  for (const report of reports) histogram.merge(report.latency);
  const sum = (pick: (r: StepReport) => number) => reports.reduce((a, r) => a + pick(r), 0);
  const sent = sum((r) => r.sent);
  const received = sum((r) => r.received);
  // A stalled reader receives nothing it is counted for (generator.ts).
  const receivers = layout.members - (layout.stalled ?? 0);
  const expected = sent * receivers;
  const missing = expected - received;
  const loss = expected === 0 ? 0 : missing / expected;
  const seconds = durationMs / 1000;
  const ms = (micros: number | null) => micros === null ? null : micros / 1000;
  const latencyMs = {
    p50: ms(histogram.percentile(0.5)),
    p90: ms(histogram.percentile(0.9)),
    p99: ms(histogram.percentile(0.99)),
    max: ms(histogram.total === 0 ? null : histogram.maxMicros),
  };
  const why: string[] = [];
  if (loss > thresholds.maxLoss) why.push(`loss ${(loss * 100).toFixed(2)}%`);
  if (latencyMs.p99 === null || latencyMs.p99 > thresholds.maxP99Ms) {
    why.push(`p99 ${latencyMs.p99?.toFixed(1) ?? "—"} ms`);
  }
  const checked = reports.filter((r) => r.checks !== undefined);
  const receiverChecks = checked.length === 0 ? undefined : {
    opened: sum((r) => r.checks?.opened ?? 0),
    verified: sum((r) => r.checks?.verified ?? 0),
    matched: sum((r) => r.checks?.matched ?? 0),
    rejected: sum((r) => r.checks?.rejected ?? 0),
  };
  // A sealed copy that did not open, verify or match is a failure of the server, not load.
  if (receiverChecks !== undefined && receiverChecks.rejected > 0) {
    why.push(`${receiverChecks.rejected} sealed datagrams rejected`);
  }
  return {
    offeredRate: rate,
    offeredDeliveries: rate * receivers,
    sent,
    expected,
    received,
    missing,
    loss,
    duplicates: sum((r) => r.duplicates),
    late: sum((r) => r.late),
    deliveredRate: received / receivers / seconds,
    deliveriesPerSecond: received / seconds,
    latencyMs,
    ...measured,
    maxTickGapMs: Math.max(...reports.map((r) => r.maxTickGapMs)),
    held: why.length === 0,
    why: why.join(", "),
    ...(receiverChecks === undefined ? {} : { receiverChecks }),
    ...(reports.some((r) => r.stalledClosedAfterMs !== undefined)
      ? { stalledClosedAfterMs: reports.flatMap((r) => r.stalledClosedAfterMs ?? []) }
      : {}),
  };
}

/** Runs one scenario to its end; always stops its processes. */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const rig = await rigUp({
    kind: options.target,
    layout: options.layout,
    serverFlags: options.serverFlags ?? [],
    io: { server: options.io, generators: options.generatorIo },
    serverDenoFlags: options.serverDenoFlags ?? [],
    sealed: options.sealed ?? false,
    ...(options.transport === undefined ? {} : { transport: options.transport }),
    ...(options.relayEngine === undefined ? {} : { relayEngine: options.relayEngine }),
    ...(options.textBytes === undefined ? {} : { textBytes: options.textBytes }),
  });
  const steps: StepResult[] = [];
  try {
    const first = "fixed" in options.rates ? options.rates.fixed : options.rates.start;
    // Warm-up (not recorded): the JIT and the sockets' first use.
    await measureStep(rig, { ...options, durationMs: 500, settleMs: 200 }, 0, first / 2);
    let step = 1;
    if ("fixed" in options.rates) {
      steps.push(await measureStep(rig, options, step, options.rates.fixed));
      options.onStep?.(steps[0]!);
    } else {
      const sweep = options.rates;
      const tried = () => steps.map((s) => ({ rate: s.offeredRate, held: s.held }));
      for (let rate = nextRate([], sweep); rate !== null; rate = nextRate(tried(), sweep)) {
        const result = await measureStep(rig, options, ++step, rate);
        steps.push(result);
        options.onStep?.(result);
      }
    }
  } finally {
    await rigDown(rig);
  }
  const best = saturation(steps.map((s) => ({ rate: s.offeredRate, held: s.held })));
  return {
    name: options.name,
    target: options.target,
    ...(options.target === "chat"
      ? {
        sealed: options.transport !== undefined && options.transport !== "udp" ||
          (options.sealed ?? false),
      }
      : {}),
    ...options.layout,
    ...(options.transport === undefined || options.transport === "udp"
      ? {}
      : { transport: options.transport }),
    ...(options.textBytes === undefined ? {} : { textBytes: options.textBytes }),
    ...(options.target === "relay" && options.transport === "ws"
      ? { relayEngine: options.relayEngine ?? "ours" }
      : {}),
    udpIo: options.io,
    generatorIo: options.generatorIo,
    durationMs: options.durationMs,
    joinMs: rig.joinMs,
    steps,
    saturationRate: best,
    saturation: steps.find((s) => s.offeredRate === best) ?? null,
  };
}

/** Options of the heartbeat-only measurement. */
export interface IdleOptions {
  members: number;
  membersPerRoom: number;
  procs: number;
  windowSeconds: number;
  heartbeatSeconds: number;
  io: UdpIo;
  generatorIo: GeneratorIo;
  /** Sealed members (each HEARTBEAT answered by a sealed HEARTBEAT_ACK) instead of plain. */
  sealed?: boolean;
  /** Extra `deno run` flags for the server (--cpu-prof, say). */
  serverDenoFlags?: string[];
  /** WebSocket members ("ws") instead of UDP ones. */
  transport?: "udp" | "ws";
}

/**
 * Joins `members` silent members (rooms of `membersPerRoom`) that only send
 * heartbeats, lets them settle for one heartbeat period, then measures the
 * server's CPU over `windowSeconds` and its memory.
 */
export async function runIdle(options: IdleOptions): Promise<IdleResult> {
  const rooms = Math.ceil(options.members / options.membersPerRoom);
  const layout = { rooms, members: options.membersPerRoom, senders: 0, procs: options.procs };
  const ws = options.transport === "ws";
  const rig = await rigUp({
    kind: "chat",
    layout,
    serverFlags: ["--heartbeat", String(options.heartbeatSeconds)],
    io: { server: options.io, generators: options.generatorIo },
    serverDenoFlags: options.serverDenoFlags ?? [],
    sealed: ws || (options.sealed ?? false),
    transport: ws ? "ws" : "udp",
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, options.heartbeatSeconds * 1000));
    const before = await readCpuSeconds(rig.target.pid);
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, options.windowSeconds * 1000));
    const after = await readCpuSeconds(rig.target.pid);
    const wall = (performance.now() - started) / 1000;
    const memory = await readMemoryMiB(rig.target.pid);
    const cpu = before === null || after === null ? null : after - before;
    return {
      name: `${rooms * options.membersPerRoom} ${
        ws ? "idle WebSocket" : `heartbeat-only ${options.sealed ? "sealed" : "plain"}`
      } members`,
      sealed: ws || (options.sealed ?? false),
      ...(ws ? { transport: "ws" as const } : {}),
      members: rooms * options.membersPerRoom,
      rooms,
      udpIo: options.io,
      generatorIo: options.generatorIo,
      joinMs: rig.joinMs,
      windowSeconds: options.windowSeconds,
      heartbeatSeconds: options.heartbeatSeconds,
      serverCpuSeconds: cpu,
      serverCpuShare: cpu === null ? null : cpu / wall,
      serverRssMiB: memory?.rssMiB ?? null,
      serverPeakRssMiB: memory?.peakMiB ?? null,
    };
  } finally {
    await rigDown(rig);
  }
}
