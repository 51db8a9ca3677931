/**
 * Replay floods (revision 2, "Replays"): many memberships send HEARTBEAT
 * with lastSeq 0 as fast as they like, each asking the server to replay
 * their room's history. The budget is per address and drains round-robin
 * across addresses, so a bystander at another address must keep its ACK
 * round trip short and get a lost range back with RESEND.
 */
import { enterRoom, type UdpMember } from "../../testing/raw_client.ts";
import { readCpuSeconds } from "../proc_stat.ts";
import { leaveCrowd, makeCrowd, membersOf } from "./crowd.ts";
import { datagramFor, paced, pause, quantile, tally } from "./from_address.ts";
import {
  type AbuseOutcome,
  FLOOD_PEAK_RSS_MIB,
  type Scale,
  type Scenario,
  type Target,
} from "./harness.ts";
import { sources } from "./sources.ts";

interface ReplayPlan {
  addresses: number;
  memberships: number;
  roomsPerAddress: number;
  /**
   * HEARTBEATs a second from each address, spread over its memberships: the
   * issue measured 100 a second from one address (about 7 KiB/s in), each
   * asking for the room's whole history. The attack is amplification, not a
   * packet flood.
   */
  heartbeatsPerAddress: number;
  seconds: number;
  /** Messages each member sends first, so each room has history to replay (up to its 1024). */
  messagesEach: number;
}

/** The targets: the issue's at full size; looser at test size, for a loaded 2-core machine. */
const TARGETS: Record<Scale, { ackP99Ms: number; repairMs: number }> = {
  full: { ackP99Ms: 100, repairMs: 2_000 },
  test: { ackP99Ms: 1_000, repairMs: 4_000 },
};
const PROBE_INTERVAL_MS = 100; // 10 messages a second: well inside the 20/s message rate
const REPAIR_RANGE = 10;
const ACK_GIVE_UP_MS = 3_000;
/** Retransmission of an unacknowledged probe MESSAGE, as the reference client does it. */
const RETRY_MS = [300, 600, 1_200, 2_000];

/**
 * The bystander's raw members at 127.0.0.1: a sender timing each MESSAGE to
 * its ACK, and a receiver that asks for ranges again with RESEND.
 */
class Probe {
  #sender: UdpMember;
  #receiver: UdpMember;
  #sentAt = new Map<number, number>();
  #rtt = new Map<number, number>();
  #ackSeq = new Map<number, number>();
  #running = true;
  #reader: Promise<void>;
  /** Retransmission waits, cut short by finish() so no timer outlives the probe. */
  #sleeps = new Map<ReturnType<typeof setTimeout>, () => void>();

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#sleeps.delete(timer);
        resolve();
      }, ms);
      this.#sleeps.set(timer, resolve);
    });
  }

  constructor(sender: UdpMember, receiver: UdpMember) {
    this.#sender = sender;
    this.#receiver = receiver;
    this.#reader = this.#readAcks();
  }

  async #readAcks(): Promise<void> {
    while (this.#running) {
      const ack = await this.#sender.next("ack", 200).catch(() => null);
      if (ack === null) continue;
      const sentAt = this.#sentAt.get(ack.msgId);
      if (sentAt !== undefined && !this.#rtt.has(ack.msgId)) {
        this.#rtt.set(ack.msgId, performance.now() - sentAt);
        this.#ackSeq.set(ack.msgId, ack.seq);
      }
    }
  }

  /**
   * Sends `msgId` again while it has no ACK, 300 ms after the first try and
   * doubling: a lost datagram costs the round trip a retry, as it would a
   * person, instead of counting as never acknowledged.
   */
  async #retransmit(msgId: number, text: string): Promise<void> {
    for (const ms of RETRY_MS) {
      await this.#sleep(ms);
      if (this.#rtt.has(msgId) || !this.#running) return;
      await this.#sender.send({ kind: "message", msgId, text }).catch(() => {});
    }
  }

  /** Says a message every PROBE_INTERVAL_MS until `done()`. */
  async talk(done: () => boolean): Promise<void> {
    while (!done()) {
      const at = performance.now();
      const text = `probe ${this.#sentAt.size}`;
      const msgId = await this.#sender.say(text);
      this.#sentAt.set(msgId, at);
      this.#retransmit(msgId, text);
      await pause(PROBE_INTERVAL_MS);
    }
  }

  /**
   * Takes the newest REPAIR_RANGE seqs up to the newest acknowledged one as lost, asks for them
   * with RESEND (again every 500 ms, as the reference client does), and
   * returns how long until all came, or null after `giveUpMs`.
   */
  async repair(giveUpMs: number): Promise<number | null> {
    // Every seq up to the newest acknowledged one exists (the first two are the probe's joins).
    const newest = Math.max(0, ...this.#ackSeq.values());
    if (newest === 0) return null;
    const from = Math.max(1, newest - REPAIR_RANGE + 1);
    const missing = new Set(Array.from({ length: newest - from + 1 }, (_, i) => from + i));
    await this.#receiver.drain(0);
    const started = performance.now();
    let askedAt = -Infinity;
    while (missing.size > 0 && performance.now() - started < giveUpMs) {
      if (performance.now() - askedAt >= 500) {
        askedAt = performance.now();
        await this.#receiver.send({
          kind: "resend",
          fromSeq: Math.min(...missing),
          toSeq: Math.max(...missing),
        });
      }
      for (const body of await this.#receiver.drain(20)) {
        if (body.kind === "event") missing.delete(body.seq);
      }
    }
    return missing.size === 0 ? performance.now() - started : null;
  }

  /**
   * Round trips from the first try, with a message not acknowledged within
   * ACK_GIVE_UP_MS after the flood counted as Infinity.
   */
  async finish(): Promise<{ sent: number; rtt: number[] }> {
    const deadline = performance.now() + ACK_GIVE_UP_MS;
    while (this.#rtt.size < this.#sentAt.size && performance.now() < deadline) await pause(20);
    this.#running = false;
    for (const [timer, resolve] of this.#sleeps) {
      clearTimeout(timer);
      resolve();
    }
    this.#sleeps.clear();
    await this.#reader;
    const rtt = [...this.#sentAt.keys()].map((id) => this.#rtt.get(id) ?? Infinity);
    return { sent: this.#sentAt.size, rtt };
  }
}

async function replayFlood(target: Target, plan: ReplayPlan): Promise<AbuseOutcome> {
  const goal = TARGETS[target.scale];
  const { households: crowd, refused } = await makeCrowd(target, {
    sources: sources(plan.addresses),
    memberships: plan.memberships,
    roomsPerAddress: plan.roomsPerAddress,
    prefix: "replay",
  });
  const members = membersOf(crowd);
  const sender = await enterRoom(target, "create", { room: "probe", username: "ps" });
  const receiver = await enterRoom(target, "join", { room: "probe", username: "pr" })
    .catch(async (error) => {
      await sender.member.close();
      throw error;
    });
  try {
    // History to replay: every member says a few things (within its burst of 40).
    for (let k = 1; k <= plan.messagesEach; k++) {
      await Promise.all(members.map(([socket, m]) => socket.send(datagramFor.message(m, k, "x"))));
      await pause(100); // one round at a time, so the server's receive buffer does not overflow
    }
    await pause(500);
    const probe = new Probe(sender.member, receiver.member);
    const pid = target.server.process.child.pid;
    const cpuBefore = await readCpuSeconds(pid);
    const rate = plan.addresses * plan.heartbeatsPerAddress;
    const total = Math.round(rate * plan.seconds);
    const floodMs = plan.seconds * 1000;
    const repairs: (number | null)[] = [];
    const floodStart = performance.now();
    const repairing = (async () => {
      for (const at of [0.25, 0.5, 0.75]) {
        await pause(Math.max(0, floodStart + floodMs * at - performance.now()));
        repairs.push(await probe.repair(goal.repairMs * 2));
      }
    })();
    // The probe talks as long as the flood lasts (longer than planned when the generator
    // cannot keep up on a loaded machine).
    let flooding = true;
    const [flood] = await Promise.all([
      paced(
        total,
        rate,
        (i) => {
          const [socket, m] = members[i % members.length]!;
          return [socket, datagramFor.heartbeat(m, 0)];
        },
      ).finally(() => flooding = false),
      probe.talk(() => !flooding),
      repairing,
    ]);
    const cpuAfter = await readCpuSeconds(pid);
    const { sent, rtt } = await probe.finish();
    const p50 = quantile(rtt, 0.5);
    const p99 = quantile(rtt, 0.99);
    const failures: string[] = [];
    if (members.length < 0.9 * plan.memberships) {
      failures.push(`only ${members.length} of ${plan.memberships} memberships were admitted`);
    }
    if (!(p99 < goal.ackP99Ms)) {
      failures.push(
        `bystander ACK round trip p99 ${p99.toFixed(0)} ms, not under ${goal.ackP99Ms} ms`,
      );
    }
    const slow = repairs.filter((ms) => ms === null || ms > goal.repairMs);
    if (slow.length > 0) {
      failures.push(
        `${slow.length} of ${repairs.length} RESEND repairs did not complete within ${goal.repairMs} ms`,
      );
    }
    const cpu = cpuBefore !== null && cpuAfter !== null
      ? `; server CPU ${((cpuAfter - cpuBefore) / flood.seconds * 100).toFixed(0)}% of a core`
      : "";
    const unacked = rtt.filter((ms) => ms === Infinity).length;
    return {
      sends: `${members.length} memberships from ${plan.addresses} address` +
        `${plan.addresses === 1 ? "" : "es"} (${crowd.length * plan.roomsPerAddress} rooms, ` +
        `${plan.messagesEach} messages each first), HEARTBEAT lastSeq 0 ` +
        `${plan.heartbeatsPerAddress}/s from each address for ${plan.seconds} s`,
      failures,
      notes: [
        ...(refused.length > 0
          ? [`handshakes refused while the crowd joined: ${tally(refused)}`]
          : []),
        `offered ${total.toLocaleString("en-US")} heartbeats, sent ${
          flood.sent.toLocaleString("en-US")
        } in ${flood.seconds.toFixed(1)} s (${Math.round(flood.sent / flood.seconds)}/s)${cpu}`,
        `bystander (127.0.0.1) ACK round trip p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms ` +
        `over ${sent} messages (${unacked} never acknowledged)`,
        `RESEND of ${REPAIR_RANGE} lost events: ${
          repairs.map((ms) => ms === null ? "incomplete" : `${ms.toFixed(0)} ms`).join(", ")
        }`,
        "server run with --request-rate 0 (the crowd joins fast: the point is the replays)",
      ],
    };
  } finally {
    await leaveCrowd(crowd);
    await Promise.all([sender.member.close(), receiver.member.close()]);
  }
}

const PLANS: Record<"one" | "forty", Record<Scale, ReplayPlan>> = {
  // 256: revision 2's --max-members-per-ip default, so the crowd fits one address there too.
  one: {
    full: {
      addresses: 1,
      memberships: 256,
      roomsPerAddress: 8,
      heartbeatsPerAddress: 100,
      seconds: 6,
      messagesEach: 32, // 32 members a room × 32: 1024 events, a full history
    },
    test: {
      addresses: 1,
      memberships: 32,
      roomsPerAddress: 2,
      heartbeatsPerAddress: 100,
      seconds: 2,
      messagesEach: 2,
    },
  },
  forty: {
    full: {
      addresses: 40,
      memberships: 500,
      roomsPerAddress: 1,
      heartbeatsPerAddress: 100,
      seconds: 6,
      messagesEach: 32, // 12-13 members a room: about 400 events each
    },
    test: {
      addresses: 8,
      memberships: 40,
      roomsPerAddress: 1,
      heartbeatsPerAddress: 100,
      seconds: 2,
      messagesEach: 2,
    },
  },
};

const REPLAY_SERVER_ARGS = ["--request-rate", "0"];

/** Replay flood from one address. */
export const replayFloodOneAddress: Scenario = {
  name: "replay flood, one address",
  peakRssMiB: FLOOD_PEAK_RSS_MIB,
  expectedKinds: [],
  serverArgs: REPLAY_SERVER_ARGS,
  run: (target) => replayFlood(target, PLANS.one[target.scale]),
};

/** Replay flood from 40 addresses. */
export const replayFloodFortyAddresses: Scenario = {
  name: "replay flood, 40 addresses",
  peakRssMiB: FLOOD_PEAK_RSS_MIB,
  expectedKinds: [],
  serverArgs: REPLAY_SERVER_ARGS,
  run: (target) => replayFlood(target, PLANS.forty[target.scale]),
};
