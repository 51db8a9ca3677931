/**
 * Password hashing under load (revision 2, "Handshakes, hashing"): scrypt
 * runs a few at a time, so a flood of password requests from some addresses
 * must not starve another address (the queue is fair per address), and a
 * burst of password CREATE_ROOMs must not hold one scrypt's memory each.
 */
import { readMemoryMiB } from "../proc_stat.ts";
import {
  datagramFor,
  pause,
  requestFrom,
  roomFrame,
  SendOnlySocket,
  tally,
} from "./from_address.ts";
import {
  type AbuseOutcome,
  FLOOD_PEAK_RSS_MIB,
  type Scale,
  type Scenario,
  type Target,
} from "./harness.ts";
import { BYSTANDER_SOURCE, source, sources } from "./sources.ts";

const PASSWORD = "correct horse";
/** Locked rooms each flooding address hosts and guesses at. */
const ROOMS_EACH = 8;

/**
 * One address asking as fast as it is let: `workers` requests in flight,
 * each sent again as soon as the last is answered; a 429 (over a limit)
 * makes that worker wait 100 ms, so the address stays at its limits.
 */
async function asFastAsAllowed(
  until: () => boolean,
  workers: number,
  request: (n: number) => Promise<number | string>,
): Promise<(number | string)[]> {
  const statuses: (number | string)[] = [];
  let n = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (!until()) {
      const status = await request(n++);
      statuses.push(status);
      if (status !== 200) await pause(100);
    }
  }));
  return statuses;
}

const FAIRNESS: Record<Scale, { floodSeconds: number; probes: number; targetMs: number }> = {
  full: { floodSeconds: 8, probes: 6, targetMs: 1_000 },
  test: { floodSeconds: 3, probes: 2, targetMs: 2_500 },
};

/** 8 addresses flood wrong-password JOINs; a 9th's password JOIN must still be quick. */
export const hashFairness: Scenario = {
  name: "password flood from 8 addresses, a 9th joins",
  peakRssMiB: FLOOD_PEAK_RSS_MIB,
  expectedKinds: [],
  serverArgs: [],
  async run(target: Target): Promise<AbuseOutcome> {
    const plan = FAIRNESS[target.scale];
    const flooders = sources(8);
    const ninth = source(8);
    const create = (src: string, room: string, username: string) =>
      requestFrom(
        target.tcpAddr,
        roomFrame("create", room, { username, password: PASSWORD }),
        src,
        15_000,
      );
    // Each flooding address hosts its own locked rooms and guesses their passwords: every
    // guess is a derivation until the wrong-password limits (20 per room and address, then
    // one per 3 s) refuse it unhashed, so 8 rooms each keep the queue full. (The right
    // password would not do: once verified, a room's password is matched without scrypt.)
    const rooms = [
      // One room per probe, so each probe's password is a derivation of its own.
      ...Array.from({ length: plan.probes }, (_, i) => ({
        src: BYSTANDER_SOURCE,
        room: `locked-probe-${i}`,
      })),
      ...flooders.flatMap((src, a) =>
        Array.from({ length: ROOMS_EACH }, (_, r) => ({ src, room: `locked-${a}-${r}` }))
      ),
    ];
    const made = await Promise.all(rooms.map(async ({ src, room }) => {
      // 70 derivations at once overrun the queue's 2 s: a 503 is asked again.
      for (let tries = 1;; tries++) {
        const answer = await create(src, room, "host");
        if (answer.status !== 503 || tries === 20) return answer;
        await pause(500);
      }
    }));
    if (made.some((answer) => answer.status !== 200)) {
      throw new Error(`setup: ${tally(made.map((a) => a.status))}`);
    }
    // The hosts say HELLO, or their unused tokens are revoked after 30 s and the rooms close.
    await Promise.all(rooms.map(({ src, room }, i) => {
      const socket = new SendOnlySocket(target.udpAddr, src);
      return socket.send(datagramFor.hello({ room, token: made[i]!.token! }, 0))
        .finally(() => socket.close());
    }));
    let stop = false;
    const floods = Promise.all(
      flooders.map((src, a) =>
        asFastAsAllowed(() => stop, 8, async (n) =>
          (await requestFrom(
            target.tcpAddr,
            roomFrame("join", `locked-${a}-${n % ROOMS_EACH}`, {
              username: `f${n}`,
              password: `guess ${n}`,
            }),
            src,
            15_000,
          )).status)
      ),
    );
    // The 9th address's JOINs start at fixed times (each may wait long on a server that
    // queues it behind the flood), so the scenario lasts the flood plus one request at most.
    let probes: { status: number | string; ms: number }[] = [];
    try {
      await pause(1_000); // the queue is full by now
      const spacing = (plan.floodSeconds - 1) * 1000 / plan.probes;
      probes = await Promise.all(Array.from({ length: plan.probes }, async (_, i) => {
        await pause(i * spacing);
        const answer = await requestFrom(
          target.tcpAddr,
          roomFrame("join", `locked-probe-${i}`, { username: `p${i}`, password: PASSWORD }),
          ninth,
          12_000,
        );
        return { status: answer.status, ms: answer.ms };
      }));
    } finally {
      stop = true;
    }
    const flood = (await floods).flat();
    const failures: string[] = [];
    const bad = probes.filter((p) => p.status !== 200 || p.ms >= plan.targetMs);
    if (bad.length > 0) {
      failures.push(
        `${bad.length} of ${probes.length} password JOINs from ${ninth} were not 200 within ` +
          `${plan.targetMs} ms`,
      );
    }
    return {
      sends: `8 addresses × 8 wrong-password JOINs in flight (8 rooms each) for ` +
        `${plan.floodSeconds} s ` +
        `(${flood.length} requests); ${plan.probes} password JOINs from a 9th address`,
      failures,
      notes: [
        `the 9th address: ${probes.map((p) => `${p.status} in ${p.ms.toFixed(0)} ms`).join(", ")}`,
        `flood answers: ${tally(flood)} (401: hashed and wrong; 429: refused unhashed by the ` +
        "wrong-password limits or the request rate; 503: not hashed within 2 s)",
      ],
    };
  },
};

const BURST: Record<Scale, { addresses: number; each: number }> = {
  full: { addresses: 32, each: 8 },
  test: { addresses: 4, each: 8 },
};
const HEADROOM_MIB = 256;

/** 256 password CREATE_ROOMs at once: peak memory stays within idle + 256 MiB. */
export const hashMemory: Scenario = {
  name: "256 password CREATE_ROOMs at once",
  expectedKinds: [],
  serverArgs: [],
  // Judged against the idle RSS below, not the harness's fixed bound.
  peakRssMiB: 1_024,
  async run(target: Target): Promise<AbuseOutcome> {
    const { addresses, each } = BURST[target.scale];
    const pid = target.server.process.child.pid;
    const idle = await readMemoryMiB(pid);
    const answers = await Promise.all(
      sources(addresses).flatMap((src, a) =>
        Array.from({ length: each }, (_, k) =>
          requestFrom(
            target.tcpAddr,
            roomFrame("create", `burst-${a}-${k}`, { username: "host", password: PASSWORD }),
            src,
            20_000,
          ))
      ),
    );
    const after = await readMemoryMiB(pid);
    const failures: string[] = [];
    if (idle === null || after === null) {
      failures.push("could not read the server's memory from /proc");
    } else if (!(after.peakMiB < idle.rssMiB + HEADROOM_MIB)) {
      failures.push(
        `peak RSS ${after.peakMiB.toFixed(0)} MiB, not under idle ${idle.rssMiB.toFixed(0)} + ` +
          `${HEADROOM_MIB} MiB`,
      );
    }
    const slowest = Math.max(...answers.map((a) => a.ms));
    return {
      sends: `${addresses * each} password CREATE_ROOMs at once from ${addresses} addresses ` +
        `(${each} each)`,
      failures,
      notes: [
        `server RSS idle ${idle?.rssMiB.toFixed(0)} MiB, peak ${after?.peakMiB.toFixed(0)} MiB`,
        `answers: ${tally(answers.map((a) => a.status))}, the last after ${slowest.toFixed(0)} ms`,
      ],
    };
  },
};
