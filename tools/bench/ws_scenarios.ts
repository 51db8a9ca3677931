/**
 * The WebSocket measurement that is no rate sweep: pages coming back after a
 * server restart. `pages` WebSocket members (rooms of `membersPerRoom`,
 * m0 the host) join; the server is killed (SIGKILL: no CLOSED, no close
 * frame, as a crash or a power cut) and started again on the same ports
 * with the same key file (the same HOME); each member does what the page
 * does (generator.ts reconnect): its socket closed, it resumes on a new one
 * with backoff, gets a stateless reset (the new process does not know the
 * session, and proves it with the same key), and joins again with a fresh
 * handshake (the host creates the room again; the others retry their JOIN
 * while the room does not exist yet). Measured: the restart itself, and from
 * the server being ready again to the last member's WELCOME.
 *
 * @module
 */
import type { UdpIo } from "../../server/datagram_socket.ts";
import { readMemoryMiB } from "../proc_stat.ts";
import type { ReconnectReport } from "./layout.ts";
import { portsOf, startChatServer } from "./processes.ts";
import type { ReconnectResult } from "./results.ts";
import { rigDown, rigUp } from "./scenario.ts";
import type { GeneratorIo } from "./socket.ts";

/** Options of the restart measurement. */
export interface ReconnectOptions {
  pages: number;
  membersPerRoom: number;
  procs: number;
  io: UdpIo;
  generatorIo: GeneratorIo;
  serverDenoFlags?: string[];
  /** Extra `chat serve` flags for both servers (e.g. a larger --unauthenticated-rate). */
  serverFlags?: string[];
}

/** Joins the pages, restarts the server under them, and times their return. */
export async function runReconnect(options: ReconnectOptions): Promise<ReconnectResult> {
  const rooms = Math.ceil(options.pages / options.membersPerRoom);
  const layout = { rooms, members: options.membersPerRoom, senders: 0, procs: options.procs };
  const serverFlags = ["--udp-io", options.io, ...options.serverFlags ?? []];
  const rig = await rigUp({
    kind: "chat",
    layout,
    serverFlags: options.serverFlags ?? [],
    io: { server: options.io, generators: options.generatorIo },
    serverDenoFlags: options.serverDenoFlags ?? [],
    sealed: true,
    transport: "ws",
  });
  try {
    const old = rig.target;
    const killedAt = Date.now();
    old.handle.kill("SIGKILL");
    await old.handle.exited(10_000);
    const answers = Promise.all(rig.generators.map(async (g) => {
      const answer = await g.request({ cmd: "reconnect" });
      if (!("reconnected" in answer)) {
        throw new Error(`expected reconnected: ${JSON.stringify(answer)}`);
      }
      return answer.reconnected;
    }));
    const fresh = await startChatServer(
      rig.kids,
      serverFlags,
      options.serverDenoFlags ?? [],
      true,
      { ws: true, ports: portsOf(old) },
    );
    const readyAt = Date.now();
    rig.target = fresh;
    const reports = await answers;
    const memory = await readMemoryMiB(fresh.pid);
    const sum = (pick: (r: ReconnectReport) => number) => reports.reduce((a, r) => a + pick(r), 0);
    const lastBackAt = Math.max(...reports.map((r) => r.lastBackAt));
    const backAt = reports.flatMap((r) => r.backAt).sort((a, b) => a - b);
    const halfBackAt = backAt[Math.max(0, Math.ceil(backAt.length / 2) - 1)] ?? lastBackAt;
    return {
      name: `${rooms * options.membersPerRoom} pages reconnecting after a server restart`,
      pages: rooms * options.membersPerRoom,
      rooms,
      joinMs: rig.joinMs,
      back: sum((r) => r.back),
      resumed: sum((r) => r.resumed),
      rejoined: sum((r) => r.rejoined),
      attempts: sum((r) => r.attempts),
      restartMs: readyAt - killedAt,
      readyToAllBackMs: Math.max(0, lastBackAt - readyAt),
      readyToHalfBackMs: Math.max(0, halfBackAt - readyAt),
      killToAllBackMs: lastBackAt - killedAt,
      serverRssMiB: memory?.rssMiB ?? null,
      errors: reports.flatMap((r) => r.errors).slice(0, 10),
      rejoinRetries: addCounts(reports.map((r) => r.rejoinRetries ?? {})),
    };
  } finally {
    await rigDown(rig);
  }
}

function addCounts(all: Record<string, number>[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const counts of all) {
    for (const [kind, n] of Object.entries(counts)) sum[kind] = (sum[kind] ?? 0) + n;
  }
  return sum;
}
