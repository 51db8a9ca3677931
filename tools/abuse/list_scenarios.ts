/**
 * A LIST_ROOMS flood (revision 2, "LIST_ROOMS ... pages"): with 1,000 rooms
 * of long names, addresses that pull the list as fast as they may must be
 * held to the per-address byte budget (256 KiB/s, bursts of 1 MiB), and a
 * bystander's list must still come quickly. A revision-1 server answers the
 * whole list every time; the pullers then ask for it whole again.
 */
import { closeCrowd, type Household, leaveCrowd } from "./crowd.ts";
import {
  datagramFor,
  limited,
  listFrame,
  pause,
  requestFrom,
  roomFrame,
  SendOnlySocket,
  setupRequestFrom,
  tally,
} from "./from_address.ts";
import {
  type AbuseOutcome,
  FLOOD_PEAK_RSS_MIB,
  type Scale,
  type Scenario,
  type Target,
} from "./harness.ts";
import { BYSTANDER_SOURCE, sources } from "./sources.ts";

const PLAN: Record<Scale, { rooms: number; pullers: number; seconds: number }> = {
  full: { rooms: 999, pullers: 10, seconds: 6 },
  test: { rooms: 120, pullers: 2, seconds: 2 },
};
const CREATORS = 40;
const BUDGET_BYTES_PER_SECOND = 256 * 1024;
const BUDGET_BURST_BYTES = 1024 * 1024;
/** Slack over the design's budget: pages in flight when the budget runs out, and timing. */
const SLACK = 1.25;

/** Rooms with names of about 200 bytes, 25 per address, each host said HELLO. */
async function makeRooms(target: Target, rooms: number): Promise<Household[]> {
  const households: Household[] = [];
  try {
    await Promise.all(
      sources(CREATORS).map(async (src, a) => {
        const household: Household = {
          source: src,
          socket: new SendOnlySocket(target.udpAddr, src),
          members: [],
        };
        households.push(household);
        const mine = Array.from({ length: rooms }, (_, i) => i).filter((i) => i % CREATORS === a);
        const answers = await limited(
          mine.map((i) => () => {
            const room = `room ${String(i).padStart(4, "0")} `.padEnd(200, "~");
            return setupRequestFrom(
              target.tcpAddr,
              roomFrame("create", room, { username: "host" }),
              src,
            )
              .then((answer) => ({ room, answer }));
          }),
          // 40 creators × 4 in flight stay under --max-handshakes (256): past it the
          // oldest unfinished connection is evicted.
          4,
        );
        for (const { room, answer } of answers) {
          if (answer.token === null) {
            throw new Error(`setup: ${src} CREATE refused: ${JSON.stringify(answer.json)}`);
          }
          household.members.push({ room, token: answer.token });
          await household.socket.send(datagramFor.hello({ room, token: answer.token }, 0));
        }
      }),
    );
  } catch (error) {
    closeCrowd(households);
    throw error;
  }
  return households;
}

/**
 * One address pulling the list, 8 requests in flight: page after page while
 * the answer carries a `next` cursor, from the start again after the last
 * page or when there is none (revision 1). 100 ms after a refusal.
 */
async function pull(target: Target, src: string, end: number) {
  const figures = { bytes: 0, answers: [] as (number | string)[] };
  let cursor: string | null = null;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (performance.now() < end) {
      const frame = cursor === null ? listFrame() : listFrame({ cursor, limit: 200 });
      const answer = await requestFrom(target.tcpAddr, frame, src, 5_000);
      figures.bytes += answer.bytes;
      figures.answers.push(answer.status);
      if (answer.status !== 200) {
        await pause(100);
        continue;
      }
      const next = answer.json?.next;
      cursor = typeof next === "string" ? next : null;
    }
  }));
  return figures;
}

/** 1,000 rooms; 10 addresses pull LIST pages as fast as they may; a bystander lists too. */
export const listFlood: Scenario = {
  name: "LIST_ROOMS flood from 10 addresses",
  peakRssMiB: FLOOD_PEAK_RSS_MIB,
  expectedKinds: [],
  // 25 rooms per address from 40 addresses: the point is the list, not the rooms-per-address limit.
  serverArgs: ["--max-rooms-per-ip", "32"],
  async run(target: Target): Promise<AbuseOutcome> {
    const plan = PLAN[target.scale];
    const rooms = await makeRooms(target, plan.rooms);
    try {
      const started = performance.now();
      const end = started + plan.seconds * 1000;
      const bystander: { status: number | string; ms: number }[] = [];
      const [pulled] = await Promise.all([
        Promise.all(sources(plan.pullers).map((src) => pull(target, src, end))),
        (async () => {
          while (performance.now() < end) {
            const answer = await requestFrom(target.tcpAddr, listFrame(), BYSTANDER_SOURCE, 5_000);
            bystander.push({ status: answer.status, ms: answer.ms });
            await pause(500);
          }
        })(),
      ]);
      const seconds = (performance.now() - started) / 1000;
      const bytes = pulled.reduce((sum, p) => sum + p.bytes, 0);
      const allowed = SLACK * plan.pullers *
        (BUDGET_BURST_BYTES + BUDGET_BYTES_PER_SECOND * seconds);
      const failures: string[] = [];
      if (bytes > allowed) {
        failures.push(
          `the pullers got ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s, over ` +
            `${(allowed / 1e6).toFixed(1)} MB (${plan.pullers} × (1 MiB + 256 KiB/s) × ${SLACK})`,
        );
      }
      const slow = bystander.filter((b) => b.status !== 200 || b.ms >= 1_000);
      if (slow.length > 0) {
        failures.push(
          `the bystander's LIST_ROOMS: ${slow.length} of ${bystander.length} not 200 within 1 s`,
        );
      }
      const answers = pulled.flatMap((p) => p.answers);
      return {
        sends:
          `${plan.rooms} rooms with 200-byte names; ${plan.pullers} addresses × 8 LIST_ROOMS ` +
          `in flight for ${plan.seconds} s (server --max-rooms-per-ip 32)`,
        failures,
        notes: [
          `sent to the pullers ${(bytes / seconds / 1e6).toFixed(2)} MB/s ` +
          `(${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s); answers ${tally(answers)}`,
          `bystander LIST_ROOMS: ${tally(bystander.map((b) => b.status))}, slowest ${
            Math.max(...bystander.map((b) => b.ms)).toFixed(0)
          } ms`,
        ],
      };
    } finally {
      await leaveCrowd(rooms);
    }
  },
};
