/**
 * What the registry does with each kind of authenticated datagram, as a
 * table with one handler per kind. A handler returns what to send; it never
 * sends. The registry looks the member up, checks the token's binding and
 * moves the endpoint before a handler runs.
 *
 * @module
 */
import { type ClientBody, CloseReason, REPLAY_ON_WELCOME } from "../protocol/datagram.ts";
import { oversizedEventBytes } from "../protocol/datagram_size.ts";
import type { Endpoint, Outgoing } from "./endpoint.ts";
import {
  eventOverheadOf,
  offerOrderedMessage,
  type OrderedContext,
  releaseOrderedMessages,
} from "./ordered_messages.ts";
import type { KeyedRateLimiter } from "./rate_limit.ts";
import { HEARTBEAT_REPLAY_TAIL, replayEvents } from "./replay.ts";
import { errorTo, type Member, welcomeBody } from "./room_state.ts";

/** What handlers may ask of the registry. */
export interface DatagramContext extends OrderedContext {
  /** Monotonic milliseconds now. */
  monotonic(): number;
  /** The replay budget of every address (HELLO, HEARTBEAT and RESEND draw on it). */
  replayBudgets: KeyedRateLimiter;
  /** Records a MESSAGE event in the member's room and fans it out. */
  relay(member: Member, text: string): { seq: number; outgoing: Outgoing[] };
  /** Removes a member (the registry's own bookkeeping), with what that sends. */
  remove(member: Member, reason: CloseReason): Outgoing[];
  /** Reports a member over one of its limits (abuse log). */
  reportFlood(member: Member, what: string): void;
  /** One log line. */
  log(message: string): void;
}

type Handler<K extends ClientBody["kind"]> = (
  context: DatagramContext,
  member: Member,
  body: Extract<ClientBody, { kind: K }>,
  from: Endpoint,
) => Outgoing[];

const replay = (
  context: DatagramContext,
  member: Member,
  from: Endpoint,
  fromSeq: number,
  toSeq: number,
) =>
  replayEvents(
    context.replayBudgets,
    member,
    from,
    { fromSeq, toSeq },
    () => context.reportFlood(member, "HELLO, HEARTBEAT or RESEND replay"),
  );

/** One handler per client datagram kind. */
export const DATAGRAM_HANDLERS: { readonly [K in ClientBody["kind"]]: Handler<K> } = {
  hello(context, member, body, from) {
    const head = member.room.log.headSeq;
    const firstSeq = body.lastSeq === 0
      ? Math.max(1, head - REPLAY_ON_WELCOME + 1)
      : body.lastSeq + 1;
    const replayed = replay(context, member, from, firstSeq, head);
    if (replayed[0]?.body.kind === "error") return replayed;
    return [{ to: [from], body: welcomeBody(member.room) }, ...replayed];
  },

  message(context, member, body, from) {
    if (member.protocol >= 2) return offerOrderedMessage(context, member, body, from);
    const seen = member.seenMsgIds.get(body.msgId);
    if (seen !== undefined) {
      return [{ to: [from], body: { kind: "ack", msgId: body.msgId, seq: seen } }];
    }
    const oversized = oversizedEventBytes(member.name, body.text, eventOverheadOf(member));
    if (oversized !== null) {
      return [errorTo(from, 413, `message too long: its EVENT would be ${oversized} bytes`)];
    }
    const now = context.monotonic();
    if (member.messageBucket !== null && !member.messageBucket.take(now)) {
      context.reportFlood(member, "MESSAGE");
      return [errorTo(from, 429, "rate limited: message not relayed")];
    }
    member.lastMessageAt = now;
    const { seq, outgoing } = context.relay(member, body.text);
    member.seenMsgIds.add(body.msgId, seq);
    return [{ to: [from], body: { kind: "ack", msgId: body.msgId, seq } }, ...outgoing];
  },

  heartbeat(context, member, body, from) {
    const head = member.room.log.headSeq;
    // A sealed member hears the server every heartbeat (3 silent periods make it
    // rejoin), and learns the head seq over its own channel, the only place its
    // client lets the next expected seq jump from.
    const acked: Outgoing[] = member.room.sealed
      ? [{ to: [from], body: { kind: "heartbeatAck", headSeq: head } }]
      : [];
    if (body.lastSeq >= head) return acked;
    // Only the newest few: a client further behind repairs the rest with RESEND.
    const firstSeq = Math.max(body.lastSeq + 1, head - HEARTBEAT_REPLAY_TAIL + 1);
    const replayed = replay(context, member, from, firstSeq, head);
    return acked.length === 0 ? replayed : [...acked, ...replayed];
  },

  resend(context, member, body, from) {
    return replay(context, member, from, body.fromSeq, body.toSeq);
  },

  leave(context, member) {
    context.log(`left: ${member.name} from "${member.room.name}"`);
    // Revision 2: what it still holds goes out (in order, gaps skipped) before "left".
    const released = releaseOrderedMessages(context, member, true);
    return [...released, ...context.remove(member, CloseReason.LEFT)];
  },
};
