/**
 * The registry's vocabulary: its options and default limits, the requests
 * it takes and the answers it gives. The rules are in registry.ts.
 *
 * @module
 */
import type { AbuseReporter } from "./abuse_log.ts";
import type { Clocks } from "./clock.ts";
import type { Outgoing, Peer } from "./endpoint.ts";
import type { PasswordRecord } from "./password.ts";
import type { Member } from "./room_state.ts";

/** Limits and timings of a registry. */
export interface RegistryOptions {
  /** Monotonic time for every duration, wall time for event stamps; tests pass fakes. */
  clocks: Clocks;
  /** Source of token bytes; defaults to crypto.getRandomValues. */
  randomBytes?: (size: number) => Uint8Array;
  /** Most rooms at once (503 past it). */
  maxRooms: number;
  /** Most members across all rooms at once (503 past it). */
  maxMembers: number;
  /** Most rooms open at once whose host came from one address (429 past it). */
  maxRoomsPerIp: number;
  /** Most members at once whose handshake came from one address, in all rooms (429 past it). */
  maxMembersPerIp: number;
  /**
   * Most members in one room: a room without a capacity is full at it (403),
   * and a requested capacity above it is refused (400).
   */
  maxMembersPerRoom: number;
  /** A member with no MESSAGE for this long is removed; 0 turns it off. */
  idleTimeoutMs: number;
  /** How often clients send HEARTBEAT; 3 missed means lost. */
  heartbeatMs: number;
  /** A token with no HELLO for this long is revoked. */
  helloTimeoutMs: number;
  /** MESSAGEs a second per member on average (burst twice that); 0 turns it off. */
  rateLimit: number;
  /** Events each room keeps for replay and RESEND. */
  historyLimit: number;
  /**
   * The most text those events may hold, counted at 2 bytes a UTF-16 unit
   * (V8's worst case; see event_log.ts): past it the oldest are forgotten.
   */
  historyBytes: number;
  /** Told about refusals that look like abuse (a member flooding, too many rooms). */
  onAbuse?: AbuseReporter;
  /** Revision 2: msgIds a member may have held beyond the expected one (W). */
  messageWindow?: number;
  /** Revision 2: bytes of text held per member. */
  messageWindowBytes?: number;
  /** Revision 2: a missing msgId is skipped (REFUSED 410) after this long. */
  gapTimeoutMs?: number;
  /** Revision 2: messages held across the whole server (REFUSED 429 past it). */
  maxHeldMessages?: number;
  /**
   * Called when a member starts holding messages while none did: the caller
   * then calls {@linkcode RoomRegistry.releaseDue} often until
   * {@linkcode RoomRegistry.holdingMembers} is 0 again.
   */
  onHolding?: () => void;
  /**
   * Called once for every member removed, whatever the reason (it left,
   * timed out, idled, was revoked, its room closed, the server shut down),
   * after it is out of the registry: the sealed sessions forget it and its
   * room rekeys.
   */
  onRemoved?: (member: Member) => void;
}

/** Default limits, as documented in the README. */
export const DEFAULT_REGISTRY_LIMITS = {
  maxRooms: 1_000,
  maxMembers: 10_000,
  maxRoomsPerIp: 32,
  maxMembersPerIp: 256,
  maxMembersPerRoom: 256,
  idleTimeoutMs: 300_000,
  heartbeatMs: 10_000,
  helloTimeoutMs: 30_000,
  rateLimit: 20,
  historyLimit: 1_024,
  // 1000 rooms × 256 KiB = 250 MiB of event text at most, under V8's heap
  // limit with every other limit at its worst (deno task bench:memory).
  historyBytes: 256 * 1024,
  messageWindow: 32,
  messageWindowBytes: 64 * 1024,
  gapTimeoutMs: 5_000,
  // At most 16,384 texts of at most 4 KB held: 64 MiB of UTF-8, 128 MiB in V8's worst case.
  maxHeldMessages: 16_384,
} as const;

/**
 * Member headroom: once this share of `maxMembers` is taken, only addresses
 * holding fewer than {@linkcode HEADROOM_MEMBERS_PER_ADDRESS} members get a
 * new slot (503 for the others), so a few addresses within their per-address
 * limit cannot fill the server between them.
 */
export const HEADROOM_SHARE = 0.8;
/** See {@linkcode HEADROOM_SHARE}. */
export const HEADROOM_MEMBERS_PER_ADDRESS = 32;

/** A refusal of create or join: the TCRP status and the text a person reads. */
export interface RegistryRefusal {
  ok: false;
  status: 400 | 401 | 403 | 404 | 409 | 429 | 503;
  error: string;
}

/** What an admitted member is told about its room (a sealed answer carries it). */
export interface AdmittedRoom {
  /** The room's host's name (the requester's own, for a create). */
  host: string;
  /** Whether the room asks for a password. */
  passwordProtected: boolean;
}

/** Outcome of create or join. */
export type JoinResult =
  | { ok: true; token: Uint8Array; outgoing: Outgoing[]; room: AdmittedRoom }
  | RegistryRefusal;

/** Whether a datagram's token lets it in, before anything else is looked at. */
export type Authentication = "member" | "unknown-token" | "foreign-token";

/** The answer to a datagram that did not authenticate, given why and the ERROR text. */
export type Refuse = (
  kind: Exclude<Authentication, "member">,
  text: string,
) => Outgoing[];

/** What create needs; names are already validated. */
export interface CreateRequest {
  roomName: string;
  username: string;
  password: PasswordRecord | null;
  capacity: number | null;
  /** Where the request came from: limits count its key, the token is bound to its address. */
  peer: Peer;
  /** The revision the request asked for (1 when absent). */
  protocol?: number;
  /** The room takes sealed sessions only (true) or plain ones only (absent or false), for good. */
  sealed?: boolean;
}

/** What join needs; `passwordProof` is the record the caller verified, if any. */
export interface JoinRequest {
  roomName: string;
  username: string;
  passwordProof: PasswordRecord | null;
  peer: Peer;
  /** The revision the request asked for (1 when absent). */
  protocol?: number;
  /** The request came over a sealed handshake: only a sealed room takes it. */
  sealed?: boolean;
}
