/**
 * Replays: stored events sent again to one member, after HELLO, behind a
 * HEARTBEAT, or on RESEND. They are the requests that make the server send
 * many datagrams, so they have a budget counted in datagrams, per ADDRESS
 * (address_key.ts) and shared by every membership from it: one host with 500
 * memberships gets what one membership would, not 500 times that. A replay
 * larger than what is left is cut (the oldest events go first; the client
 * asks again for the rest), and with nothing left the answer is ERROR 429.
 * Replays are marked as such, so the endpoint router queues them per address
 * behind live traffic.
 *
 * @module
 */
import { KeyedRateLimiter } from "./rate_limit.ts";
import type { Endpoint, Outgoing } from "./endpoint.ts";
import { errorTo, eventBody, type Member } from "./room_state.ts";

/**
 * Replay budget per address, when rate limiting is on: each HELLO,
 * HEARTBEAT or RESEND that replays costs 1 plus 1 per event. The chaos suite
 * (20% loss, 75 events/s) uses about 15 a second per member, so 1000 is
 * plenty for a household or an office behind one address, and one address
 * cannot make the server send more than this, however many members it holds.
 */
export const REPLAY_DATAGRAMS_PER_SECOND = 1_000;
/**
 * The most an address may replay at once: four whole 1024-event histories
 * (a few members behind one NAT rejoining together), not a multiple of the
 * member count.
 */
export const REPLAY_BURST = 4_096;
/**
 * The most events a HEARTBEAT replays: the newest ones after its lastSeq. A
 * HEARTBEAT repairs a lost tail, which no later event would reveal; a client
 * further behind sees the gap below that tail and asks for it with RESEND.
 * (Before, a HEARTBEAT with lastSeq 0 asked for the room's whole history.)
 */
export const HEARTBEAT_REPLAY_TAIL = 16;

/**
 * The replay budgets of every address: one token bucket per address key on
 * the registry's monotonic clock, or none at all when rate limiting is off.
 * Every address key belongs to a member, so there is no cap on keys.
 */
export function newReplayBudgets(on: boolean, clock: () => number): KeyedRateLimiter {
  return new KeyedRateLimiter({
    ratePerSecond: on ? REPLAY_DATAGRAMS_PER_SECOND : 0,
    burst: REPLAY_BURST,
    clock,
    maxKeys: Infinity,
  });
}

/**
 * The events fromSeq..toSeq the member's room still holds, oldest first, as
 * far as the budget of the member's address goes; or ERROR 429 (after
 * `onSpent`) when that budget is spent.
 */
export function replayEvents(
  budgets: KeyedRateLimiter,
  member: Member,
  to: Endpoint,
  range: { fromSeq: number; toSeq: number },
  onSpent: () => void,
): Outgoing[] {
  const events = member.room.log.range(range.fromSeq, range.toSeq);
  const granted = budgets.takeUpTo(member.peer.addressKey, events.length + 1);
  if (granted === 0) {
    onSpent();
    return [errorTo(to, 429, "too many HELLO, HEARTBEAT or RESEND replays from your address")];
  }
  return events.slice(0, granted - 1).map((event) => ({
    to: [to],
    body: eventBody(event),
    replay: true,
  }));
}
