/**
 * The churn suite: sealed members come and go while others talk, through
 * the fault proxy. Every departure rekeys the room (docs/protocol.md 6.2),
 * so the members who stay see KEYs arrive late, lost, or after the events
 * of the new epoch, while the room's counter runs on across epochs. Those
 * who stay must be shown every message exactly once and in order (their own
 * and those each visitor had acknowledged), the room must have rekeyed, and
 * no (key, nonce) pair may be sealed twice.
 */
import { peekSealedHeader } from "../../protocol/sealed_datagram.ts";
import { type FaultProxy, startFaultProxy } from "../fault_proxy.ts";
import { readPeakRssMiB } from "../proc_stat.ts";
import type { SuiteOutcome } from "./loss.ts";
import { type ChaosMember, checkSenderOrder, waitFor } from "./member.ts";
import type { NonceAudit } from "./nonce_audit.ts";
import { ChaosRig } from "./rig.ts";

/** Sizes and rates of one run. */
export interface ChurnSuiteOptions {
  /** Members present throughout (the first is the host). */
  steady: number;
  /** Messages each of them sends. */
  messages: number;
  /** Members that keep joining, saying one thing and leaving... */
  visitors: number;
  /** ...this many times each. */
  visits: number;
  /** Share dropped each way; duplication and reordering are half of it. */
  loss: number;
  seed: number;
  /** Pause between one steady member's sends. */
  sendIntervalMs: number;
  /** Longest wait for everything to arrive after the last send. */
  settleTimeoutMs: number;
  /** The run's nonce audit, told every seal too. */
  audit?: NonceAudit;
}

/** Runs the churn suite once. */
export async function runChurnSuite(options: ChurnSuiteOptions): Promise<SuiteOutcome> {
  const started = performance.now();
  const rig = new ChaosRig(options.audit);
  const steady: ChaosMember[] = [];
  const visiting = new Set<ChaosMember>();
  let proxy: FaultProxy | undefined;
  const epochs = new Set<number>();
  const failures: string[] = [];
  try {
    const server = await rig.server(["--heartbeat", "1"]);
    proxy = startFaultProxy({
      target: { hostname: "127.0.0.1", port: server.udpPort },
      seed: options.seed,
      lossToServer: options.loss,
      lossToClient: options.loss,
      duplicate: options.loss / 2,
      reorder: options.loss / 2,
      maxDelayMs: 20,
      shouldDrop: (direction, bytes) => {
        if (direction === "toClient") {
          const header = peekSealedHeader(bytes);
          if (header.type === "room") epochs.add(header.epoch);
        }
        return false;
      },
    });
    const open = (name: string, create: boolean) =>
      rig.member({ tcpPort: server.port, room: "churn", name, create, proxy });
    for (let i = 0; i < options.steady; i++) steady.push(await open(`stay${i + 1}`, i === 0));

    const acknowledged: string[] = [];
    let visitsDone = 0;
    const visitProblems: string[] = [];
    const talk = Promise.all(steady.map(async (member) => {
      for (let k = 1; k <= options.messages; k++) {
        member.send(`${member.name} #${k}`);
        await new Promise((resolve) => setTimeout(resolve, options.sendIntervalMs));
      }
    }));
    const churn = Promise.all(Array.from({ length: options.visitors }, async (_, v) => {
      for (let k = 1; k <= options.visits; k++) {
        const name = `visit${v + 1}x${k}`;
        let visitor: ChaosMember;
        try {
          visitor = await open(name, false);
        } catch (error) {
          visitProblems.push(`${name} could not join: ${error}`);
          continue;
        }
        visiting.add(visitor);
        const text = `${name} says hello`;
        visitor.send(text);
        if (await waitFor(() => visitor.of("delivered").length === 1, 15_000)) {
          acknowledged.push(text);
        } else {
          visitProblems.push(`${name}: its message was not acknowledged`);
        }
        await visitor.close(); // LEAVE: the room rekeys
        visiting.delete(visitor);
        visitsDone++;
      }
    }));
    await Promise.all([talk, churn]);
    const expected = [...steady.flatMap((m) => m.sent), ...acknowledged];
    await waitFor(
      () => steady.every((m) => m.session.unacknowledged === 0 && m.check(expected).missing === 0),
      options.settleTimeoutMs,
    );
    const peakServerMiB = await readPeakRssMiB(server.child.pid);
    const left = steady[0]!.of("left").length;

    let deliveries = 0;
    let duplicates = 0;
    for (const member of steady) {
      const check = member.check(expected);
      deliveries += check.received;
      duplicates += check.duplicates;
      const problems = [...check.problems];
      if (member.of("rejoining").length > 0) problems.push("had to rejoin");
      if (problems.length > 0) failures.push(`${member.name}: ${problems.join(", ")}`);
    }
    failures.push(...visitProblems);
    const order = checkSenderOrder(steady);
    if (order.problems.length > 0) failures.push(`per-sender order: ${order.problems.join(", ")}`);
    // Departures one after another, at most two rekeys a second: several epochs.
    if (epochs.size < 2) failures.push(`room datagrams came in ${epochs.size} epoch(s): no rekey`);

    await Promise.all(steady.map((m) => m.close()));
    await server.dispose();
    failures.push(...rig.auditFailures());
    return {
      figures: {
        suite: `sealed: join/leave churn, ${pct(options.loss)} loss, ${pct(options.loss / 2)} ` +
          `duplication and reordering both ways (seed ${options.seed})`,
        sends: `${options.steady} members × ${options.messages} messages, one every ` +
          `${options.sendIntervalMs} ms each; meanwhile ${options.visitors} visitors × ` +
          `${options.visits} visits (join, 1 message, leave)`,
        delivered: `${deliveries}/${expected.length * options.steady} shown to those who stayed`,
        duplicates: String(duplicates),
        seconds: (performance.now() - started) / 1000,
        peakServerMiB,
        passed: failures.length === 0,
        notes: [
          `${visitsDone} visits, ${left} departures seen by the host, room datagrams in ` +
          `${epochs.size} epochs (rekeys at most 2 a second)`,
          `per-sender order: ${order.inOrder}/${order.pairs} (receiver, sender) pairs in send ` +
          `order`,
          `HELLOs sent ${rig.sent("hello")} (a HELLO also asks for a missed KEY)`,
          rig.describeAudit(),
        ].join("; "),
      },
      failures,
    };
  } finally {
    await Promise.all([...steady, ...visiting].map((m) => m.close()));
    await proxy?.close();
    await rig.dispose();
  }
}

function pct(share: number): string {
  return `${Math.round(share * 100)}%`;
}
