/**
 * MESSAGE for a revision-2 member: per-sender order through its
 * {@linkcode MessageWindow}, and what each step sends (ACK and EVENT for a
 * released message, REFUSED for a refused or skipped msgId). Revision-1
 * members never come here. See docs/protocol.md section 4.7.
 *
 * @module
 */
import type { RefusedCode } from "../protocol/datagram.ts";
import { oversizedEventBytes } from "../protocol/datagram_size.ts";
import { ROOM_OVERHEAD_BYTES } from "../protocol/sealed_datagram.ts";
import type { Endpoint, Outgoing } from "./endpoint.ts";
import { HeldPool, MessageWindow, type MessageWindowLimits } from "./message_window.ts";
import { errorTo, type Member } from "./room_state.ts";

/** What ordered MESSAGE handling asks of the registry. */
export interface OrderedContext {
  /** Monotonic milliseconds now. */
  monotonic(): number;
  /** Records a MESSAGE event in the member's room and fans it out. */
  relay(member: Member, text: string): { seq: number; outgoing: Outgoing[] };
  /** Reports a member over one of its limits (abuse log). */
  reportFlood(member: Member, what: string): void;
  /** The limits of every window, and the pool of held messages they share. */
  windowLimits: MessageWindowLimits;
  /** Whether the member now holds messages, so the release tick visits it. */
  holding(member: Member, holds: boolean): void;
}

/**
 * Bytes an EVENT of the member's room carries besides the plain datagram:
 * a sealed room's EVENT travels as a room datagram (header, tag and
 * signature), so its 413 rule counts them.
 */
export function eventOverheadOf(member: Member): number {
  return member.room.sealed ? ROOM_OVERHEAD_BYTES : 0;
}

/** A REFUSED datagram for one endpoint (live traffic). */
export function refusedTo(to: Endpoint, msgId: number, code: RefusedCode): Outgoing {
  return { to: [to], body: { kind: "refused", msgId, code, text: REFUSED_TEXT[code] } };
}

const REFUSED_TEXT: Record<RefusedCode, string> = {
  410: "skipped: this message did not arrive in time, and later ones went on",
  413: "message too long: its EVENT would be over 4096 bytes",
  429: "too many messages waiting; send it again later",
};

/** A revision-2 MESSAGE: offered to the member's window, then whatever can leave does. */
export function offerOrderedMessage(
  context: OrderedContext,
  member: Member,
  body: { msgId: number; text: string },
  from: Endpoint,
): Outgoing[] {
  const { msgId, text } = body;
  if (msgId === 0) return [errorTo(from, 400, "msgId 0: a membership's msgIds start at 1")];
  const now = context.monotonic();
  const window = member.window ??= new MessageWindow(context.windowLimits);
  const oversized = oversizedEventBytes(member.name, text, eventOverheadOf(member)) !== null;
  const offer = window.offer(msgId, text, oversized, now);
  const out: Outgoing[] = [];
  switch (offer.kind) {
    case "duplicate": {
      const seen = member.seenMsgIds.get(msgId);
      if (seen === undefined) return []; // forgotten: nothing to say
      if (seen >= 0) return [{ to: [from], body: { kind: "ack", msgId, seq: seen } }];
      return [refusedTo(from, msgId, -seen as RefusedCode)];
    }
    case "held-already":
      return []; // its ACK comes when it is released
    case "refused":
      if (offer.final) member.seenMsgIds.add(msgId, -offer.code);
      else context.reportFlood(member, "MESSAGE window");
      out.push(refusedTo(from, msgId, offer.code));
      break; // a refused oversized head lets the next ones go
    case "held":
      member.lastMessageAt = now;
      break;
  }
  out.push(...releaseOrderedMessages(context, member, false));
  return out;
}

/**
 * What the member's window lets out now (or everything, for LEAVE): an ACK
 * to the member and the EVENT to the room for each message, REFUSED 410 for
 * each skipped msgId.
 */
export function releaseOrderedMessages(
  context: OrderedContext,
  member: Member,
  all: boolean,
): Outgoing[] {
  const window = member.window;
  if (window === null) return [];
  const now = context.monotonic();
  const bucket = member.messageBucket;
  const steps = all
    ? window.releaseAll()
    : window.release(now, () => bucket === null || bucket.take(now));
  const out: Outgoing[] = [];
  const to = member.endpoint;
  for (const step of steps) {
    if (step.kind === "message") {
      const { seq, outgoing } = context.relay(member, step.text);
      member.seenMsgIds.add(step.msgId, seq);
      if (to !== null) out.push({ to: [to], body: { kind: "ack", msgId: step.msgId, seq } });
      out.push(...outgoing);
    } else {
      member.seenMsgIds.add(step.msgId, -410);
      if (to !== null) out.push(refusedTo(to, step.msgId, 410));
    }
  }
  context.holding(member, window.heldCount > 0);
  return out;
}

/** The limits of every member's window, as the registry is given them. */
export interface HoldingOptions {
  window: number;
  windowBytes: number;
  gapTimeoutMs: number;
  /** Messages held across the server. */
  maxHeld: number;
  /** A member starts holding messages while none did: release them often from now on. */
  onHolding?: () => void;
}

/**
 * The revision-2 members holding messages, so the release tick visits only
 * them, and the limits and pool their windows share.
 */
export class HoldingMembers {
  /** What every window is created with. */
  readonly limits: MessageWindowLimits;
  #members = new Set<Member>();
  #onHolding: () => void;

  /** None holding yet. */
  constructor(options: HoldingOptions) {
    const { window, windowBytes, gapTimeoutMs } = options;
    this.limits = { window, windowBytes, gapTimeoutMs, pool: new HeldPool(options.maxHeld) };
    this.#onHolding = options.onHolding ?? (() => {});
  }

  /** Members holding messages now. */
  get count(): number {
    return this.#members.size;
  }

  /** Messages held now, across the server. */
  get messages(): number {
    return this.limits.pool.held;
  }

  /** Notes whether `member` holds messages now. */
  set(member: Member, holds: boolean): void {
    if (!holds) {
      this.#members.delete(member);
    } else if (!this.#members.has(member)) {
      this.#members.add(member);
      if (this.#members.size === 1) this.#onHolding();
    }
  }

  /** A member is gone: what it held is dropped, its share of the pool given back. */
  forget(member: Member): void {
    member.window?.clear();
    this.#members.delete(member);
  }

  /** What every holding member's window lets out now. */
  releaseDue(context: OrderedContext): Outgoing[] {
    const out: Outgoing[] = [];
    for (const member of [...this.#members]) {
      out.push(...releaseOrderedMessages(context, member, false));
    }
    return out;
  }
}
