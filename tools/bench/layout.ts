/**
 * Who is where in a bench run, and what the bench processes say to each
 * other (one JSON object a line: commands on the generator's stdin, answers
 * on its stdout).
 *
 * Room r is `bench-r`; its members are `m0`..`m(M-1)`, `m0` creates it (and
 * is its host), `m0`..`m(S-1)` send. A member's global index is r·M + j, and
 * generator process p owns the members whose global index is p mod procs.
 */
import type { SparseHistogram } from "./histogram.ts";
import type { GeneratorIo } from "./socket.ts";
import type { ReceiverChecks } from "./target.ts";

/** Rooms, members and senders of a run, and how many generator processes share them. */
export interface Layout {
  rooms: number;
  members: number;
  senders: number;
  procs: number;
  /** The last this many members of each room are stalled readers (WebSocket only; 0 if absent). */
  stalled?: number;
}

/** How the members reach the target. */
export type Transport = "udp" | "ws" | "mixed";

/** What a generator process is started with (`--spec <json>`). */
export interface LoadgenSpec extends Layout {
  /** "chat": the real server (TCRP on `port`); "relay": a trivial relay (UDP on `port`). */
  target: "chat" | "relay";
  /** With "chat": members join sealed (sealed TCRP, sealed datagrams) instead of plain. */
  sealed?: boolean;
  hostname: string;
  port: number;
  /** This process's number, 0..procs-1. */
  proc: number;
  /** Handshakes in flight at once from this process. */
  handshakeConcurrency: number;
  /** The generator's sockets. */
  io: GeneratorIo;
  /**
   * "udp" (absent): TCRP on `port`, then UDP; "ws": every member on a
   * WebSocket to `wsPort` (the relay's, with target "relay"); "mixed": even
   * members on WebSocket, odd ones on sealed UDP.
   */
  transport?: Transport;
  /** The HTTP port whose `/ws` the WebSocket members use. */
  wsPort?: number;
  /** Message texts padded to this many bytes (leading zeros of the stamp); absent: the stamp. */
  textBytes?: number;
}

/** Whether a member is one of its room's stalled readers (the last `stalled` of the room). */
export function isStalled(owned: OwnedMember, layout: Layout): boolean {
  return owned.member >= layout.members - (layout.stalled ?? 0);
}

/** What a generator answers to "reconnect": its members, all back (generator.ts). */
export interface ReconnectReport {
  back: number;
  /** Resumed on a new socket with their session. */
  resumed: number;
  /** Told by a stateless reset that the session is gone, and joined again. */
  rejoined: number;
  /** Connection attempts, the failed ones included. */
  attempts: number;
  /** From the command to the last member's WELCOME, ms. */
  lastBackMs: number;
  /** The last member's WELCOME, Date.now(). */
  lastBackAt: number;
  /** Each member's WELCOME, Date.now(), in the order they came. */
  backAt: number[];
  /** The failed attempts' errors by kind: "<count> × <message with numbers blanked>". */
  errors: string[];
  /** Joins after a reset retried, by refusal status ("404": the host had not made the room yet). */
  rejoinRetries?: Record<string, number>;
}

/** One member this process owns. */
export interface OwnedMember {
  room: number;
  member: number;
  global: number;
}

/** The members process `proc` owns, in join order. */
export function ownedMembers(layout: Layout, proc: number): OwnedMember[] {
  const owned: OwnedMember[] = [];
  for (let room = 0; room < layout.rooms; room++) {
    for (let member = 0; member < layout.members; member++) {
      const global = room * layout.members + member;
      if (global % layout.procs === proc) owned.push({ room, member, global });
    }
  }
  return owned;
}

/** The room's name on the server. */
export function roomName(room: number): string {
  return `bench-${room}`;
}

/** Commands the bench sends a generator. */
export type LoadgenCommand =
  | { cmd: "join"; hosts: boolean }
  | { cmd: "run"; step: number; ratePerSender: number; durationMs: number; settleMs: number }
  | { cmd: "drain"; quietMs: number; maxMs: number }
  | { cmd: "reconnect" }
  | { cmd: "quit" };

/** What a generator answers to "run". */
export interface StepReport {
  /** MESSAGEs this process's senders sent in the step. */
  sent: number;
  /** Distinct stamped EVENTs of this step its members received. */
  received: number;
  /** Stamped EVENTs received again by the same member. */
  duplicates: number;
  /** Stamped EVENTs of an earlier step (late arrivals). */
  late: number;
  latency: SparseHistogram;
  /** Longest gap between two pacing ticks: a generator that stalls shows here. */
  maxTickGapMs: number;
  sendErrors: number;
  /** A sealed target: what its receivers checked (sealed_wire.ts). */
  checks?: ReceiverChecks;
  /** With stalled readers: for each one the server dropped so far, ms from its stall. */
  stalledClosedAfterMs?: number[];
}

/** Lines a generator writes on stdout. */
export type LoadgenAnswer =
  | { joined: number; ms: number }
  | { report: StepReport }
  | { reconnected: ReconnectReport }
  | { drainedMs: number }
  | { error: string };
