/**
 * The registry's admission refusals: why a create or a join would be refused
 * now, in the order docs/protocol.md states them, read from a view of the
 * registry's state. Pure: the registry owns the state and calls these both
 * before a password is hashed (so the caller can refuse early) and again when
 * it admits (the room may have filled meanwhile).
 *
 * @module
 */
import { canonicalKey } from "../protocol/names.ts";
import type { Peer } from "./endpoint.ts";
import { type NameKeys, nameKeys } from "./name_index.ts";
import type { Room } from "./room_state.ts";
import {
  type CreateRequest,
  HEADROOM_MEMBERS_PER_ADDRESS,
  HEADROOM_SHARE,
  type RegistryOptions,
  type RegistryRefusal,
} from "./registry_types.ts";

/** What the checks read of the registry. */
export interface AdmissionView {
  readonly options: RegistryOptions;
  /** Members across all rooms now. */
  memberCount(): number;
  /** Rooms open now. */
  roomCount(): number;
  /** Members whose handshake came from this address key. */
  membersFrom(addressKey: string): number;
  /** Open rooms whose host came from this address key. */
  roomsHostedFrom(addressKey: string): number;
  /** The open room with this canonical key. */
  roomByKey(key: string): Room | undefined;
  /** An open room known by any of these confusable keys. */
  roomLike(keys: NameKeys): Room | undefined;
}

/** A refusal with its status and text. */
export function refusal(status: RegistryRefusal["status"], error: string): RegistryRefusal {
  return { ok: false, status, error };
}

/** Why a create would be refused now, in its order (400, 409, 429, 503), or null. */
export function refuseCreate(
  view: AdmissionView,
  request: Omit<CreateRequest, "password">,
): RegistryRefusal | null {
  const { maxMembersPerRoom, maxRoomsPerIp } = view.options;
  if (request.capacity !== null && request.capacity > maxMembersPerRoom) {
    return refusal(
      400,
      `capacity ${request.capacity} is over this server's limit of ${maxMembersPerRoom}`,
    );
  }
  const taken = view.roomLike(nameKeys(request.roomName));
  if (taken !== undefined) return refusal(409, roomNameTaken(request.roomName, taken.name));
  const hosted = view.roomsHostedFrom(request.peer.addressKey);
  if (hosted >= maxRoomsPerIp) {
    return refusal(429, `your address already hosts ${hosted} rooms, this server's limit`);
  }
  const perAddress = refuseMembersPerAddress(view, request.peer);
  if (perAddress !== null) return perAddress;
  if (view.roomCount() >= view.options.maxRooms) {
    return refusal(503, "the server has reached its room limit");
  }
  return refuseServerMembers(view, request.peer);
}

/**
 * Why a join would be refused now without looking at the password or the
 * username (429 members per address, 404, 403 for the other mode, 403 full,
 * 503), or null. A final 429 is reported to the abuse log.
 */
export function refuseJoin(
  view: AdmissionView,
  request: { roomName: string; peer: Peer; sealed?: boolean },
): RegistryRefusal | null {
  const perAddress = refuseMembersPerAddress(view, request.peer);
  if (perAddress !== null) return reportMemberLimit(view, request.peer, perAddress);
  const room = view.roomByKey(canonicalKey(request.roomName));
  if (room === undefined) return refusal(404, `no room named "${request.roomName}"`);
  const mode = refuseMode(room, request.sealed ?? false);
  if (mode !== null) return mode;
  return reportMemberLimit(view, request.peer, refuseSlot(view, room, request.peer));
}

/** 429 when the address already holds its share of members. */
export function refuseMembersPerAddress(view: AdmissionView, peer: Peer): RegistryRefusal | null {
  const held = view.membersFrom(peer.addressKey);
  if (held < view.options.maxMembersPerIp) return null;
  return refusal(429, `your address already holds ${held} memberships, this server's limit`);
}

/** Counts a final 429 for members per address in the abuse log (once per refusal). */
export function reportMemberLimit(
  view: AdmissionView,
  peer: Peer,
  refused: RegistryRefusal | null,
): RegistryRefusal | null {
  if (refused?.status === 429) {
    const held = view.membersFrom(peer.addressKey);
    view.options.onAbuse?.("member-limit", peer.addressKey, `already holds ${held} memberships`);
  }
  return refused;
}

/** A room's own limit (403), then the per-address and server-wide ones. */
export function refuseSlot(view: AdmissionView, room: Room, peer: Peer): RegistryRefusal | null {
  const capacity = room.capacity ?? view.options.maxMembersPerRoom;
  if (room.members.size >= capacity) return refusal(403, `room is full (${capacity} members)`);
  return refuseMembersPerAddress(view, peer) ?? refuseServerMembers(view, peer);
}

/** 503 at the server's member limit, or past its headroom for a crowded address. */
function refuseServerMembers(view: AdmissionView, peer: Peer): RegistryRefusal | null {
  const { maxMembers } = view.options;
  if (view.memberCount() >= maxMembers) {
    return refusal(503, "the server has reached its member limit");
  }
  if (
    view.memberCount() >= Math.floor(maxMembers * HEADROOM_SHARE) &&
    view.membersFrom(peer.addressKey) >= HEADROOM_MEMBERS_PER_ADDRESS
  ) {
    return refusal(
      503,
      "the server is nearly full and keeps its last places for addresses with fewer than " +
        `${HEADROOM_MEMBERS_PER_ADDRESS} members`,
    );
  }
  return null;
}

/** 403 when a request of the other mode asks for `room` (a room's mode is fixed at creation). */
export function refuseMode(room: Room, sealed: boolean): RegistryRefusal | null {
  if (room.sealed === sealed) return null;
  return refusal(
    403,
    room.sealed
      ? `room "${room.name}" takes sealed sessions only; a plain-text client cannot join it`
      : `room "${room.name}" was created in plain text and takes plain-text clients only; ` +
        "a sealed session cannot join it",
  );
}

/**
 * The 409 text for a room name that is taken: the same name (another spelling
 * of it) or one that looks the same as the open room or the one being created
 * named `existing`. The handshake uses it for rooms still hashing a password.
 */
export function roomNameTaken(requested: string, existing: string): string {
  return canonicalKey(requested) === canonicalKey(existing)
    ? `room "${existing}" already exists`
    : `the room name "${requested}" looks the same as the room "${existing}"`;
}
