/**
 * Many memberships from many source addresses, made with raw TCRP requests:
 * each address hosts a few rooms and fills them with members, a handful of
 * handshakes at a time (within the 8 connections per address both
 * revisions allow; 40 addresses × 4 stay under the server's 256 in all), then one send-only UDP socket per address says HELLO
 * for every membership it holds.
 */
import type { Target } from "./harness.ts";
import {
  datagramFor,
  limited,
  type Membership,
  roomFrame,
  SendOnlySocket,
  setupRequestFrom,
} from "./from_address.ts";

/** Handshakes in flight per address while a crowd is made. */
const WIDTH_PER_ADDRESS = 4;

/** One address's memberships and its UDP socket. */
export interface Household {
  source: string;
  socket: SendOnlySocket;
  members: Membership[];
}

/** What to make: `memberships` spread evenly over `sources`, `roomsPerAddress` rooms each. */
export interface CrowdPlan {
  sources: string[];
  memberships: number;
  roomsPerAddress: number;
  /** Room name prefix, unique per scenario. */
  prefix: string;
  /** Room password, if any. */
  password?: string;
}

/** A crowd, and the statuses of the handshakes the server refused while making it. */
export interface Crowd {
  households: Household[];
  refused: (number | string)[];
}

/**
 * Makes the crowd. A refused handshake is counted, not thrown: a server
 * with lower per-address limits than planned gets a smaller crowd, which
 * the scenario reports (and judges).
 */
export async function makeCrowd(target: Target, plan: CrowdPlan): Promise<Crowd> {
  const n = plan.sources.length;
  const households: Household[] = [];
  const refusedAll: (number | string)[] = [];
  try {
    await Promise.all(plan.sources.map(async (source, a) => {
      const count = Math.floor(plan.memberships / n) + (a < plan.memberships % n ? 1 : 0);
      const rooms = Math.max(1, Math.min(plan.roomsPerAddress, count));
      const names = Array.from({ length: rooms }, (_, k) => `${plan.prefix}-${a}-${k}`);
      const ask = (op: "create" | "join", room: string, i: number) => async () => {
        const fields = { username: `m${a}-${i}`, password: plan.password ?? null };
        const answer = await setupRequestFrom(target.tcpAddr, roomFrame(op, room, fields), source);
        return { room, answer };
      };
      const hosts = await limited(
        names.map((room, k) => ask("create", room, k)),
        WIDTH_PER_ADDRESS,
      );
      const guests = await limited(
        Array.from({ length: count - rooms }, (_, j) => ask("join", names[j % rooms]!, rooms + j)),
        WIDTH_PER_ADDRESS,
      );
      const all = [...hosts, ...guests];
      const refused = all.filter((r) => r.answer.token === null);
      const household: Household = {
        source,
        socket: new SendOnlySocket(target.udpAddr, source),
        members: all.flatMap((r) =>
          r.answer.token ? [{ room: r.room, token: r.answer.token }] : []
        ),
      };
      households.push(household);
      refusedAll.push(...refused.map((r) => r.answer.status));
      // HELLO so no token is revoked as unused; the replay it asks for is part of the load.
      await Promise.all(
        household.members.map((m) => household.socket.send(datagramFor.hello(m, 0))),
      );
    }));
  } catch (error) {
    closeCrowd(households);
    throw error;
  }
  return { households, refused: refusedAll };
}

/** Every membership of a crowd, address by address. */
export function membersOf(households: Household[]): [SendOnlySocket, Membership][] {
  return households.flatMap((h) =>
    h.members.map((m) => [h.socket, m] as [SendOnlySocket, Membership])
  );
}

/** Closes every socket of a crowd, without leaving (its memberships time out). */
export function closeCrowd(households: Household[]): void {
  for (const household of households) household.socket.close();
}

/**
 * Every membership sends LEAVE (so the rooms and member slots are free for
 * the harness's last check), then every socket closes.
 */
export async function leaveCrowd(households: Household[]): Promise<void> {
  // Guests first, one after another: a host's LEAVE closes its room, and a guest's LEAVE
  // after that would only be an unknown token.
  await Promise.all(households.map(async (h) => {
    for (const m of [...h.members].reverse()) await h.socket.send(datagramFor.leave(m));
  }));
  closeCrowd(households);
}
