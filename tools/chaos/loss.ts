/**
 * The loss suite: sealed members talk through the fault proxy (loss,
 * duplication and reordering both ways) to a real server process (the
 * audited one: tools/chaos/audited_server.ts); every member must be shown
 * every message exactly once and in seq order, every sender's messages in
 * the order it sent them (revision 2), every sender's messages must be
 * acknowledged, and no (key, nonce) pair may be sealed twice.
 */
import { peekSealedHeader } from "../../protocol/sealed_datagram.ts";
import { type Direction, type FaultProxy, startFaultProxy } from "../fault_proxy.ts";
import { readPeakRssMiB } from "../proc_stat.ts";
import type { SuiteFigures } from "../reliability_report.ts";
import { type ChaosMember, checkSenderOrder, waitFor } from "./member.ts";
import type { NonceAudit } from "./nonce_audit.ts";
import { ChaosRig } from "./rig.ts";

/** Sizes and rates of one run. */
export interface LossSuiteOptions {
  members: number;
  /** Messages each member sends. */
  messages: number;
  /** Share dropped each way. */
  loss: number;
  duplicate: number;
  reorder: number;
  seed: number;
  /** Pause between one member's sends (the server's default limit is 20 a second). */
  sendIntervalMs: number;
  /** Longest wait for everything to arrive after the last send. */
  settleTimeoutMs: number;
  /** The run's nonce audit, told every seal too (the suite keeps its own besides). */
  audit?: NonceAudit;
}

/** A suite's figures and the checks that failed (none on a pass). */
export interface SuiteOutcome {
  figures: SuiteFigures;
  failures: string[];
}

/** Runs the loss suite once. */
export async function runLossSuite(options: LossSuiteOptions): Promise<SuiteOutcome> {
  const started = performance.now();
  const rig = new ChaosRig(options.audit);
  const members: ChaosMember[] = [];
  let proxy: FaultProxy | undefined;
  // What the proxy saw: sealed datagrams by type (member, room); room epochs.
  const kinds: Record<Direction, Map<string, number>> = {
    toServer: new Map(),
    toClient: new Map(),
  };
  const epochs = new Set<number>();
  try {
    const server = await rig.server(["--heartbeat", "1"]);
    proxy = startFaultProxy({
      target: { hostname: "127.0.0.1", port: server.udpPort },
      seed: options.seed,
      lossToServer: options.loss,
      lossToClient: options.loss,
      duplicate: options.duplicate,
      reorder: options.reorder,
      maxDelayMs: 20,
      shouldDrop: (direction, bytes) => {
        const header = peekSealedHeader(bytes);
        if (header.type === "room") epochs.add(header.epoch);
        kinds[direction].set(header.type, (kinds[direction].get(header.type) ?? 0) + 1);
        return false; // only counting what each side sent
      },
    });
    for (let i = 0; i < options.members; i++) {
      members.push(
        await rig.member({
          tcpPort: server.port,
          room: "chaos",
          name: `member${i + 1}`,
          create: i === 0,
          proxy,
        }),
      );
    }
    const expected: string[] = [];
    await Promise.all(members.map(async (member) => {
      for (let k = 1; k <= options.messages; k++) {
        const text = `${member.name} #${k}`;
        expected.push(text);
        member.send(text);
        await new Promise((resolve) => setTimeout(resolve, options.sendIntervalMs));
      }
    }));
    await waitFor(
      () => members.every((m) => m.session.unacknowledged === 0 && m.check(expected).missing === 0),
      options.settleTimeoutMs,
    );
    const peakServerMiB = await readPeakRssMiB(server.child.pid);
    await Promise.all(members.map((m) => m.close()));
    await server.dispose(); // every record read
    const seconds = (performance.now() - started) / 1000;

    const total = expected.length;
    const failures: string[] = [];
    let deliveries = 0;
    let duplicates = 0;
    let acknowledged = 0;
    for (const member of members) {
      const check = member.check(expected);
      deliveries += check.received;
      duplicates += check.duplicates;
      acknowledged += member.of("delivered").length;
      const problems = [...check.problems];
      if (member.of("rejoining").length > 0) {
        problems.push(`had to rejoin (${member.of("rejoining").map((r) => r.reason).join("; ")})`);
      }
      if (problems.length > 0) failures.push(`${member.name}: ${problems.join(", ")}`);
    }
    if (acknowledged !== total) failures.push(`${acknowledged}/${total} messages acknowledged`);
    const order = checkSenderOrder(members);
    if (order.problems.length > 0) failures.push(`per-sender order: ${order.problems.join(", ")}`);
    failures.push(...rig.auditFailures());

    const seen = (direction: Direction, kind: string) => kinds[direction].get(kind) ?? 0;
    const allDatagrams = [...kinds.toServer.values(), ...kinds.toClient.values()]
      .reduce((a, b) => a + b, 0);
    const minimum = 2 + options.members; // MESSAGE, ACK, one EVENT per member
    const notes = [
      `per-sender order: ${order.inOrder}/${order.pairs} (receiver, sender) pairs in send order, ` +
      `${order.outOfOrder} out of order, ${order.missingUnreported} missing and not reported`,
      rig.describeAudit(),
      `MESSAGE sends per message ${(rig.sent("message") / total).toFixed(2)}`,
      `RESEND requests ${rig.sent("resend")}`,
      `room (EVENT) datagrams per delivery ${
        (seen("toClient", "room") / (total * options.members)).toFixed(2)
      } in ${epochs.size} epoch${epochs.size === 1 ? "" : "s"}`,
      `datagrams per message ${(allDatagrams / total).toFixed(1)} (${minimum} without loss)`,
      `proxy dropped ${proxy.stats.toServer.dropped + proxy.stats.toClient.dropped} of ${
        proxy.stats.toServer.received + proxy.stats.toClient.received
      }`,
    ];
    return {
      figures: {
        suite: `sealed: ${pct(options.loss)} loss, ${pct(options.duplicate)} duplication, ` +
          `${pct(options.reorder)} reordering, both ways (seed ${options.seed})`,
        sends: `${options.members} members × ${options.messages} messages, one every ` +
          `${options.sendIntervalMs} ms each`,
        delivered: `${deliveries}/${
          total * options.members
        } shown; ${acknowledged}/${total} acknowledged`,
        duplicates: String(duplicates),
        seconds,
        peakServerMiB,
        passed: failures.length === 0,
        notes: notes.join("; "),
      },
      failures,
    };
  } finally {
    await Promise.all(members.map((m) => m.close()));
    await proxy?.close();
    await rig.dispose();
  }
}

function pct(share: number): string {
  return `${Math.round(share * 100)}%`;
}
