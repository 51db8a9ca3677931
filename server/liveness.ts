/**
 * When a member's membership ends by itself: no HELLO in time, nothing heard
 * for 3 heartbeats, no MESSAGE for the idle timeout, or, for a member whose
 * WebSocket closed, the end of its grace (docs/protocol.md 7.4). Pure: the
 * registry's tick asks {@linkcode dueRemoval} about each member, and keeps
 * the members in grace in a {@linkcode GraceList}.
 *
 * @module
 */
import { CloseReason } from "../protocol/datagram.ts";
import type { HostGoneTimeouts, Member } from "./room_state.ts";

/** Why a member is removed now, and the words of its log line. */
export interface DueRemoval {
  reason: typeof CloseReason.LOST | typeof CloseReason.IDLE;
  /** The log line's first word: "revoked", "lost", "idle". */
  label: string;
  /** What follows the member and room in the log line ("" or " sent no HELLO"). */
  detail: string;
}

/** Why `member` is to be removed at `now` (monotonic ms), or null while it may stay. */
export function dueRemoval(
  member: Member,
  now: number,
  timeouts: HostGoneTimeouts,
): DueRemoval | null {
  const { disconnected } = member;
  if (disconnected !== null) {
    // In grace: no heartbeat rule (the socket is gone, nothing can come), no HELLO rule
    // (a WebSocket may close between the answer and HELLO); its grace, and idleness.
    if (now - disconnected.at >= disconnected.graceMs) {
      return { reason: CloseReason.LOST, label: "lost", detail: " did not reconnect in time" };
    }
  } else if (member.endpoint === null) {
    return now - member.joinedAt >= timeouts.helloTimeoutMs
      ? { reason: CloseReason.LOST, label: "revoked", detail: " sent no HELLO" }
      : null;
  } else if (now - member.lastDatagramAt >= 3 * timeouts.heartbeatMs) {
    return { reason: CloseReason.LOST, label: "lost", detail: "" };
  }
  if (timeouts.idleTimeoutMs > 0 && now - member.lastMessageAt >= timeouts.idleTimeoutMs) {
    return { reason: CloseReason.IDLE, label: "idle", detail: "" };
  }
  return null;
}

/** The members in grace now: their socket closed and they have not come back yet. */
export class GraceList {
  #members = new Set<Member>();

  /** Members in grace. */
  get size(): number {
    return this.#members.size;
  }

  /**
   * `member`'s socket closed at `now`: in grace for `graceMs`. A member
   * already in grace keeps its first deadline, so closing again and again
   * without a word in between extends nothing.
   */
  start(member: Member, now: number, graceMs: number): void {
    if (member.disconnected !== null) return;
    member.disconnected = { at: now, graceMs };
    this.#members.add(member);
  }

  /** `member` is back (a reconnect or a datagram), or gone: out of grace. */
  end(member: Member): void {
    if (member.disconnected === null) return;
    member.disconnected = null;
    this.#members.delete(member);
  }

  /** Every member is gone (shutdown). */
  clear(): void {
    for (const member of this.#members) member.disconnected = null;
    this.#members.clear();
  }
}
