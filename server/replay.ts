/**
 * Replays: stored events sent again to one member, after HELLO, behind a
 * HEARTBEAT, or on RESEND. They are the requests that make the server send
 * many datagrams, so each member has a budget counted in datagrams; a replay
 * larger than what is left is cut (the client asks again for the rest), and
 * with nothing left the answer is ERROR 429. Replays are marked as such, so
 * the router sends them behind live traffic.
 *
 * @module
 */
import { TokenBucket } from "./rate_limit.ts";
import type { Endpoint, Outgoing } from "./endpoint.ts";
import { errorTo, eventBody, type Member } from "./room_state.ts";

/**
 * Replay budget per member, when rate limiting is on: each HELLO, HEARTBEAT
 * or RESEND that replays costs 1 plus 1 per event, so repair keeps up with a
 * lossy link but a member cannot make the server send more than this. The
 * chaos suite (20% loss, 75 events/s) uses about 15 a second.
 */
export const REPLAY_DATAGRAMS_PER_SECOND = 200;
/** The most a member may replay at once. */
export const REPLAY_BURST = 1_024;

/** A new member's replay budget at monotonic time `now` (none when rate limiting is off). */
export function newReplayBudget(rateLimitOn: boolean, now: number): TokenBucket | null {
  return rateLimitOn ? new TokenBucket(REPLAY_DATAGRAMS_PER_SECOND, REPLAY_BURST, now) : null;
}

/**
 * The events fromSeq..toSeq the member's room still holds, oldest first, as
 * far as its budget goes at monotonic time `now`; or ERROR 429 (after
 * `onSpent`) when the budget is spent.
 */
export function replayEvents(
  member: Member,
  to: Endpoint,
  range: { fromSeq: number; toSeq: number },
  now: number,
  onSpent: () => void,
): Outgoing[] {
  let events = member.room.log.range(range.fromSeq, range.toSeq);
  if (member.replayBucket !== null) {
    const granted = member.replayBucket.takeUpTo(now, events.length + 1);
    if (granted === 0) {
      onSpent();
      return [errorTo(to, 429, "too many HELLO, HEARTBEAT or RESEND replays")];
    }
    events = events.slice(0, granted - 1);
  }
  return events.map((event) => ({ to: [to], body: eventBody(event), replay: true }));
}
