/** What a bench run measured, as written to docs/results/bench/*.json. */
import type { UdpIo } from "../../server/datagram_socket.ts";
import type { GeneratorIo } from "./socket.ts";
import type { ReceiverChecks } from "./target.ts";
import type { Transport } from "./layout.ts";

/** Latency figures in milliseconds (null when nothing was received). */
export interface LatencyMs {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

/** One offered rate, measured. */
export interface StepResult {
  /** MESSAGEs a second offered, over all rooms. */
  offeredRate: number;
  /** Deliveries a second offered: offeredRate × members. */
  offeredDeliveries: number;
  /** MESSAGEs sent (the generators send exactly the offered count, paced). */
  sent: number;
  /** Deliveries expected: sent × members (every member gets every message, the sender too). */
  expected: number;
  /** Distinct deliveries received. */
  received: number;
  /** expected − received: lost, no retransmission in the bench. */
  missing: number;
  /** missing / expected. */
  loss: number;
  duplicates: number;
  /** Deliveries of an earlier step that arrived in this one (not counted as received). */
  late: number;
  /** MESSAGEs a second delivered to every member: received / members / seconds. */
  deliveredRate: number;
  /** received / seconds of the sending window. */
  deliveriesPerSecond: number;
  latencyMs: LatencyMs;
  /** Server (or relay) CPU seconds over the step (sending window and settle time). */
  serverCpuSeconds: number | null;
  /** The same over the step's wall time: 1 = one core busy. */
  serverCpuShare: number | null;
  /** Load generator CPU over the step's wall time, all its processes: 1 = one core. */
  generatorCpuShare: number | null;
  /** Peak RSS of the server so far, MiB. */
  serverPeakRssMiB: number | null;
  /** Longest pause between two pacing ticks in any generator. */
  maxTickGapMs: number;
  held: boolean;
  /** Why it did not hold ("" when it held). */
  why: string;
  /** Sealed: what the generators' receivers checked (tools/bench/sealed_wire.ts). */
  receiverChecks?: ReceiverChecks;
  /** The server's RSS, MiB, read about once a second through the step (a stalled reader's layout). */
  serverRssSamplesMiB?: number[];
  /**
   * Stalled readers the server dropped (their socket closed: a slow reader's 4008), each with
   * the ms from its stall (since it joined, so earlier steps count too).
   */
  stalledClosedAfterMs?: number[];
}

/** A scenario: a layout against a target, swept or at one rate. */
export interface ScenarioResult {
  name: string;
  target: "chat" | "relay";
  /** Chat only: sealed sessions (absent in runs before they existed: plain). */
  sealed?: boolean;
  rooms: number;
  members: number;
  senders: number;
  procs: number;
  /** Stalled readers a room (WebSocket members that stop reading; none when absent). */
  stalled?: number;
  /** How members connect: absent is UDP; "ws" WebSocket; "mixed" half and half. */
  transport?: Transport;
  /** A trivial WebSocket relay's engine: our own framing, or Deno's WebSocket. */
  relayEngine?: "ours" | "deno";
  /** Message texts padded to this many bytes (absent: the bare stamp, about 30 bytes). */
  textBytes?: number;
  /** The server's (or relay's) UDP sockets: `deno` or `mmsg` (recvmmsg/sendmmsg). */
  udpIo: UdpIo;
  /** The load generators' sockets (runs before it was recorded used `deno`). */
  generatorIo?: GeneratorIo;
  durationMs: number;
  joinMs: number;
  steps: StepResult[];
  /** The highest offered rate (MESSAGEs a second) that held, or null. */
  saturationRate: number | null;
  /** The step at that rate. */
  saturation: StepResult | null;
  /**
   * With a stalled reader: the same layout without it, at the same rate for as long,
   * measured just before in a server of its own.
   */
  withoutStalled?: StepResult;
  /** Set when runs are merged (merge.ts): the finishedAt of the run it came from. */
  measuredAt?: string;
}

/** Heartbeat-only members: what they cost the server. */
export interface IdleResult {
  name: string;
  /** Sealed members (absent in runs before they existed: plain). */
  sealed?: boolean;
  /** "ws": WebSocket members (absent: UDP). */
  transport?: "ws";
  members: number;
  rooms: number;
  udpIo: UdpIo;
  generatorIo?: GeneratorIo;
  joinMs: number;
  windowSeconds: number;
  heartbeatSeconds: number;
  serverCpuSeconds: number | null;
  /** CPU over the window's wall time: 1 = one core. */
  serverCpuShare: number | null;
  serverRssMiB: number | null;
  serverPeakRssMiB: number | null;
  /** Set when runs are merged (merge.ts): the finishedAt of the run it came from. */
  measuredAt?: string;
}

/** Pages coming back after a server restart (ws_scenarios.ts). */
export interface ReconnectResult {
  name: string;
  pages: number;
  rooms: number;
  joinMs: number;
  /** Members back (WELCOMEd on a new socket): all of them, or the run failed. */
  back: number;
  /** Back with their old session (none after a restart: the server forgot them). */
  resumed: number;
  /** Told by a stateless reset, and joined again with a fresh handshake. */
  rejoined: number;
  /** Connection attempts of all members, the failed ones included. */
  attempts: number;
  /** From the kill to the new server answering, ms. */
  restartMs: number;
  /** From the new server answering to the last member's WELCOME, ms. */
  readyToAllBackMs: number;
  /** From the new server answering until half of the members were back, ms. */
  readyToHalfBackMs?: number;
  /** From the kill to the last member's WELCOME, ms. */
  killToAllBackMs: number;
  serverRssMiB: number | null;
  /** Failed attempts by kind, "<count> × <message>" (refused ones expected while it is down). */
  errors: string[];
  /**
   * Joins after a reset that were refused and retried, by status: 404 (the host had not
   * made its room again yet: a whole handshake each), 429/503 (the handshake gate).
   */
  rejoinRetries?: Record<string, number>;
  /** Set when runs are merged (merge.ts): the finishedAt of the run it came from. */
  measuredAt?: string;
}

/** A whole run. */
export interface BenchRun {
  command: string;
  finishedAt: string;
  /** deno.json version and git commit. */
  serverVersion: string;
  deno: string;
  machine: { cores: number; cpuModel: string };
  /** Another helper ran tests on the same machine, say. */
  note: string;
  /**
   * /proc/loadavg's 1-minute load average when the run started and when it
   * ended (runs before it was recorded have none): the machine is shared.
   */
  loadAverage?: { start: number | null; end: number | null };
  thresholds: { maxLoss: number; maxP99Ms: number };
  scenarios: ScenarioResult[];
  idle: IdleResult[];
  /** Pages reconnecting after a restart (absent in runs before the WebSocket layouts). */
  reconnects?: ReconnectResult[];
}

/**
 * "chat serve sealed (mmsg socket)", "chat serve (deno socket)", "trivial relay (mmsg socket)",
 * "chat serve, WebSocket", "chat serve, WebSocket and sealed UDP (mmsg socket)",
 * "trivial WebSocket relay (our framing)".
 */
export function targetOf(
  s: Pick<ScenarioResult, "target" | "sealed" | "udpIo" | "transport" | "relayEngine">,
): string {
  if (s.target === "relay") {
    if (s.transport === "ws") {
      return `trivial WebSocket relay (${
        s.relayEngine === "deno" ? "Deno's WebSocket" : "our framing"
      })`;
    }
    return `trivial relay (${s.udpIo} socket)`;
  }
  if (s.transport === "ws") return "chat serve, WebSocket";
  if (s.transport === "mixed") return `chat serve, WebSocket and sealed UDP (${s.udpIo} socket)`;
  return `chat serve ${s.sealed ? "sealed" : "plain"} (${s.udpIo} socket)`;
}

/** The layout of a scenario, e.g. "1 × 50, 1 sender". */
export function layoutOf(
  s: Pick<ScenarioResult, "rooms" | "members" | "senders" | "stalled" | "transport">,
): string {
  const thousands = (n: number) => Math.round(n).toLocaleString("en-US");
  const stalled = s.stalled ?? 0;
  const each = s.rooms > 1 ? " each" : "";
  return `${thousands(s.rooms)} × ${thousands(s.members)}${
    s.transport === "mixed" ? ` (${Math.ceil(s.members / 2)} WebSocket, the rest UDP)` : ""
  }, ${s.senders} sender${s.senders === 1 ? "" : "s"}${each}${
    stalled > 0 ? `, ${stalled} stalled reader${stalled === 1 ? "" : "s"}${each}` : ""
  }`;
}
