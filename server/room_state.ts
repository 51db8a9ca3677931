/**
 * What the registry keeps per room and per member, and the few steps every
 * part of it shares: numbering an event, fanning it out, saying WELCOME.
 * Pure data and functions: no I/O, no clock of their own.
 *
 * @module
 */
import {
  type ChatEvent,
  CloseReason,
  type EventType,
  type ServerBody,
} from "../protocol/datagram.ts";
import { welcomeMembers } from "../protocol/datagram_size.ts";
import type { Endpoint, Outgoing, Peer } from "./endpoint.ts";
import type { EventLog } from "./event_log.ts";
import type { MessageWindow } from "./message_window.ts";
import type { NameIndex } from "./name_index.ts";
import type { PasswordRecord } from "./password.ts";
import type { TokenBucket } from "./rate_limit.ts";
import type { RecentMsgIds } from "./recent_msg_ids.ts";

/** One room. */
export interface Room {
  /** As its creator spelled it: what LIST and WELCOME show. */
  name: string;
  /** Its canonical key (protocol/names.ts): rooms are found and sorted by it. */
  key: string;
  host: Member | null;
  password: PasswordRecord | null;
  capacity: number | null;
  /**
   * Fixed at creation: the room takes sealed sessions only (true) or plain
   * ones only (false), so nobody reaches a sealed room's members in clear.
   */
  sealed: boolean;
  /** By canonical key of the name. */
  members: Map<string, Member>;
  /** Over `members`, by the other confusable keys too: to refuse a lookalike (409). */
  lookalikes: NameIndex<Member>;
  log: EventLog;
  /** The newest event's time: the next one is never earlier, whatever the wall clock does. */
  lastTimeMs: number;
}

/** One member of one room. */
export interface Member {
  /** Hex of the token: the key of the registry's member map. */
  tokenKey: string;
  name: string;
  room: Room;
  /** Where the handshake came from: the token is bound to `peer.address`. */
  peer: Peer;
  /** Where datagrams go; null until the first authenticated datagram (HELLO). */
  endpoint: Endpoint | null;
  /** Monotonic milliseconds: the HELLO timeout counts from it (a takeover resets it). */
  joinedAt: number;
  /** Monotonic milliseconds of the last sign of life (a datagram, or a WebSocket frame). */
  lastDatagramAt: number;
  lastMessageAt: number;
  /**
   * Set while the member's WebSocket is closed (docs/protocol.md 7.4): since
   * when (monotonic ms) and for how long it may stay a member without a
   * reconnect. Null for a connected member, and always for UDP ones.
   */
  disconnected: { at: number; graceMs: number } | null;
  /** msgId -> seq of the relayed event (or minus the REFUSED code of a final refusal), the newest ones. */
  seenMsgIds: RecentMsgIds;
  /** The revision the member asked for: 1 keeps arrival order, 2 and up per-sender order. */
  protocol: number;
  /** Revision 2: the expected msgId and held messages; null until its first MESSAGE. */
  window: MessageWindow | null;
  messageBucket: TokenBucket | null;
}

/**
 * Numbers and stores an event stamped `wallNow`, clamped so that a room's
 * times never go backwards when the system clock steps back.
 */
export function recordEvent(
  room: Room,
  event: { type: EventType; name: string; text: string },
  wallNow: number,
): ChatEvent {
  const timeMs = Math.max(wallNow, room.lastTimeMs);
  room.lastTimeMs = timeMs;
  return room.log.append({ timeMs, type: event.type, name: event.name, text: event.text });
}

/** The EVENT body of an event. */
export function eventBody(event: ChatEvent): ServerBody {
  return { kind: "event", ...event };
}

/** The endpoints of every member who has one (said HELLO). */
export function endpointsOf(members: Iterable<Member>): Endpoint[] {
  const to: Endpoint[] = [];
  for (const member of members) {
    if (member.endpoint !== null) to.push(member.endpoint);
  }
  return to;
}

/** An event for every member of the room who has an endpoint. */
export function fanOut(room: Room, event: ChatEvent): Outgoing[] {
  const to = endpointsOf(room.members.values());
  return to.length === 0 ? [] : [{ to, body: eventBody(event) }];
}

/** The WELCOME for a room: its head, host and as many member names as fit. */
export function welcomeBody(room: Room): ServerBody {
  return {
    kind: "welcome",
    headSeq: room.log.headSeq,
    room: room.name,
    host: room.host?.name ?? "",
    members: welcomeMembers([...room.members.values()].map((m) => m.name)),
  };
}

/** An ERROR datagram for one endpoint (live traffic). */
export function errorTo(to: Endpoint, code: 400 | 401 | 413 | 429, text: string): Outgoing {
  return { to: [to], body: { kind: "error", code, text } };
}

/** The timeouts that can end a host's membership, for {@linkcode hostGoneText}. */
export interface HostGoneTimeouts {
  idleTimeoutMs: number;
  heartbeatMs: number;
  helloTimeoutMs: number;
}

/**
 * The CLOSED 1 text the others get when the host's membership ends for
 * `reason`: the true cause, since reason 1 alone says only "host left" and a
 * new code would be dropped by older clients (they treat unknown CLOSED
 * reasons as malformed). `endpoint` is false when the host never said HELLO;
 * `graceMs` is given when a disconnected host's grace ran out (lost, after
 * that long without a word rather than after 3 heartbeats).
 */
export function hostGoneText(
  host: string,
  reason: CloseReason,
  endpoint: boolean,
  timeouts: HostGoneTimeouts,
  graceMs?: number,
): string {
  const gone = (() => {
    switch (reason) {
      case CloseReason.IDLE:
        return `was removed after ${duration(timeouts.idleTimeoutMs)} without a message`;
      case CloseReason.LOST:
        if (graceMs !== undefined) {
          return `was lost (nothing heard from it for ${duration(graceMs)})`;
        }
        return endpoint
          ? `was lost (nothing heard from it for ${duration(3 * timeouts.heartbeatMs)})`
          : `never connected (no HELLO within ${duration(timeouts.helloTimeoutMs)})`;
      default:
        return "left";
    }
  })();
  return `the room was closed: its host ${host} ${gone}`;
}

/** "5 minutes", "30 seconds". */
function duration(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000));
  if (seconds % 60 === 0) return seconds === 60 ? "1 minute" : `${seconds / 60} minutes`;
  return seconds === 1 ? "1 second" : `${seconds} seconds`;
}

/** What a member is told when it is removed for `reason`. */
export function closeText(reason: CloseReason): string {
  switch (reason) {
    case CloseReason.HOST_LEFT:
      return "the host left, so the room is closed";
    case CloseReason.IDLE:
      return "removed after sending no message for too long";
    case CloseReason.LOST:
      return "removed: nothing heard from this client for 3 heartbeats";
    case CloseReason.SHUTDOWN:
      return "the server is shutting down";
    case CloseReason.LEFT:
      return "you left the room";
  }
}
