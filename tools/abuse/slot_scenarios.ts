/**
 * Handshake slots and member slots (revision 2, "Handshakes ... slots"):
 * idle connections from many addresses must not lock real requests out,
 * addresses joining as fast as they may must leave room for a new address,
 * and a class behind one address must all get into its room at once.
 */
import net from "node:net";
import { type Household, leaveCrowd } from "./crowd.ts";
import { listFrame, pause, requestFrom, roomFrame, SendOnlySocket, tally } from "./from_address.ts";
import {
  type AbuseOutcome,
  FLOOD_PEAK_RSS_MIB,
  type Scale,
  type Scenario,
  type Target,
} from "./harness.ts";
import { BYSTANDER_SOURCE, source, sources } from "./sources.ts";

/**
 * Keeps `count` TCP connections from `src` open and silent; one the server
 * closes is opened again at once, as an attacker holding slots would.
 */
class SlotHolder {
  #open = new Set<net.Socket>();
  #stopped = false;
  /** Connections the server closed (timed out or evicted). */
  closedByServer = 0;

  constructor(private addr: Deno.NetAddr, private src: string, count: number) {
    for (let i = 0; i < count; i++) this.#connect();
  }

  #connect(): void {
    if (this.#stopped) return;
    const socket = net.connect({
      host: this.addr.hostname,
      port: this.addr.port,
      localAddress: this.src,
    });
    this.#open.add(socket);
    const gone = () => {
      if (!this.#open.delete(socket)) return;
      socket.destroy();
      if (this.#stopped) return;
      this.closedByServer++;
      setTimeout(() => this.#connect(), 10);
    };
    socket.on("data", () => {}); // a refusal frame; the close follows
    socket.on("end", gone);
    socket.on("close", gone);
    socket.on("error", gone);
  }

  /** Closes every connection and opens no more. */
  stop(): void {
    this.#stopped = true;
    for (const socket of this.#open) socket.destroy();
    this.#open.clear();
  }
}

const SLOTS: Record<Scale, { holders: number; seconds: number; askers: number }> = {
  full: { holders: 32, seconds: 6, askers: 8 },
  test: { holders: 4, seconds: 2, askers: 2 },
};

/** 32 addresses × 8 idle connections; real requests from 8 other addresses. */
export const idleSlots: Scenario = {
  name: "idle connections from 32 addresses",
  expectedKinds: [],
  serverArgs: [],
  async run(target: Target): Promise<AbuseOutcome> {
    const plan = SLOTS[target.scale];
    const holders = sources(plan.holders).map((src) => new SlotHolder(target.tcpAddr, src, 8));
    const results: { status: number | string; ms: number }[] = [];
    try {
      await pause(500);
      const end = performance.now() + plan.seconds * 1000;
      // 5 requests a second per address: inside every revision's request rate.
      await Promise.all(
        sources(plan.askers, plan.holders).map(async (src) => {
          while (performance.now() < end) {
            const answer = await requestFrom(target.tcpAddr, listFrame(), src, 1_000);
            results.push({ status: answer.status, ms: answer.ms });
            await pause(Math.max(0, 200 - answer.ms));
          }
        }),
      );
    } finally {
      for (const holder of holders) holder.stop();
    }
    const served = results.filter((r) => r.status === 200 && r.ms < 1_000).length;
    const failures: string[] = [];
    if (!(served >= 0.99 * results.length)) {
      failures.push(`${served} of ${results.length} real requests answered within 1 s (< 99%)`);
    }
    const closed = holders.reduce((sum, h) => sum + h.closedByServer, 0);
    return {
      sends: `${plan.holders} addresses × 8 idle TCP connections (reopened when closed) for ` +
        `${plan.seconds} s; LIST_ROOMS 5/s from ${plan.askers} other addresses`,
      failures,
      notes: [
        `real requests: ${served}/${results.length} answered within 1 s (${
          tally(results.map((r) => r.status))
        })`,
        `idle connections closed by the server: ${closed}`,
      ],
    };
  },
};

const JOINS: Record<Scale, { addresses: number; seconds: number; maxMembers: number }> = {
  full: { addresses: 40, seconds: 6, maxMembers: 2_000 },
  test: { addresses: 8, seconds: 3, maxMembers: 300 },
};

/**
 * 40 addresses join as fast as they are let (8 requests in flight each, 100
 * ms after a refusal); the server's --max-members is lowered to 2,000 so
 * they reach it in seconds (the point is who gets the last slots, not the
 * total). In the flood's last second an address holding nothing asks to join.
 */
export const joinFlood: Scenario = {
  name: "40 addresses join as fast as allowed, a new one joins",
  peakRssMiB: FLOOD_PEAK_RSS_MIB,
  expectedKinds: [],
  serverArgs: (scale) => ["--max-members", String(JOINS[scale].maxMembers)],
  async run(target: Target): Promise<AbuseOutcome> {
    const plan = JOINS[target.scale];
    const probeRoom = await requestFrom(
      target.tcpAddr,
      roomFrame("create", "newcomers", { username: "host" }),
      BYSTANDER_SOURCE,
    );
    if (probeRoom.status !== 200) throw new Error(`setup: ${JSON.stringify(probeRoom.json)}`);
    const end = performance.now() + plan.seconds * 1000;
    const statuses: (number | string)[] = [];
    const admitted = { n: 0 };
    const hosts: Household[] = [];
    const crowd = Promise.all(
      sources(plan.addresses).map(async (src, a) => {
        const rooms = [`crowd-${a}-0`, `crowd-${a}-1`];
        const household: Household = {
          source: src,
          socket: new SendOnlySocket(target.udpAddr, src),
          members: [],
        };
        hosts.push(household);
        for (const room of rooms) {
          const host = await requestFrom(
            target.tcpAddr,
            roomFrame("create", room, { username: "host" }),
            src,
          );
          if (host.token !== null) household.members.push({ room, token: host.token });
        }
        let n = 0;
        await Promise.all(Array.from({ length: 8 }, async () => {
          while (performance.now() < end) {
            const i = n++;
            const answer = await requestFrom(
              target.tcpAddr,
              roomFrame("join", rooms[i % 2]!, { username: `j${i}` }),
              src,
            );
            statuses.push(answer.status);
            if (answer.status === 200) admitted.n++;
            else await pause(100);
          }
        }));
      }),
    );
    // A new address asks once, in the flood's last second, when the crowd has filled what it can.
    await pause(Math.max(0, end - 1_000 - performance.now()));
    const newcomer = await requestFrom(
      target.tcpAddr,
      roomFrame("join", "newcomers", { username: "newcomer" }),
      source(plan.addresses),
    );
    await crowd;
    // The hosts leave, closing the crowd's rooms: the harness's last check needs member slots.
    await leaveCrowd(hosts);
    const failures: string[] = [];
    if (newcomer.status !== 200) {
      failures.push(
        `a new address was refused: ${newcomer.status} ${JSON.stringify(newcomer.json?.error)}`,
      );
    }
    return {
      sends: `${plan.addresses} addresses × 8 JOINs in flight for ${plan.seconds} s ` +
        `(server --max-members ${plan.maxMembers}); one JOIN from a new address in the last second`,
      failures,
      notes: [
        `the crowd got ${admitted.n} memberships; answers ${tally(statuses)}`,
        `the new address: ${newcomer.status} in ${newcomer.ms.toFixed(0)} ms`,
      ],
    };
  },
};

const CLASS: Record<Scale, number> = { full: 31, test: 12 };

/** A teacher's password room; the whole class joins at once from the same address. */
export const classJoins: Scenario = {
  name: "a class behind one address joins at once",
  expectedKinds: [],
  serverArgs: [],
  async run(target: Target): Promise<AbuseOutcome> {
    const size = CLASS[target.scale];
    const school = source(0);
    const room = await requestFrom(
      target.tcpAddr,
      roomFrame("create", "class 7b", { username: "teacher", password: "photosynthesis" }),
      school,
    );
    if (room.status !== 200) throw new Error(`setup: ${JSON.stringify(room.json)}`);
    const answers = await Promise.all(Array.from({ length: size }, (_, i) =>
      requestFrom(
        target.tcpAddr,
        roomFrame("join", "class 7b", { username: `pupil ${i + 1}`, password: "photosynthesis" }),
        school,
        15_000,
      )));
    const admitted = answers.filter((a) => a.status === 200).length;
    const failures: string[] = [];
    if (admitted !== size) {
      failures.push(`${admitted} of ${size} pupils got in at the first try`);
    }
    const slowest = Math.max(...answers.map((a) => a.ms));
    return {
      sends: `${size} password JOINs at once from one address (the teacher's), one try each`,
      failures,
      notes: [
        `answers: ${tally(answers.map((a) => a.status))}; the last after ${slowest.toFixed(0)} ms`,
      ],
    };
  },
};
