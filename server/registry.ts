/**
 * The room registry: every decision the server makes about rooms and
 * members, as a pure state machine. It does no I/O and reads time only from
 * the injected clocks: durations from the monotonic one, event times from the
 * wall one. Members are reached through opaque endpoints (endpoint.ts), so it
 * does not know which transport a member came by; what each datagram kind
 * does is in datagram_handlers.ts.
 *
 * @module
 */
import { bytesToHex } from "../protocol/bytes.ts";
import {
  type ClientDatagram,
  CloseReason,
  EventType,
  type EventType as EventTypeCode,
} from "../protocol/datagram.ts";
import { canonicalKey } from "../protocol/names.ts";
import type { RoomSummary } from "../protocol/tcrp.ts";
import { DATAGRAM_HANDLERS, type DatagramContext } from "./datagram_handlers.ts";
import type { Endpoint, Outgoing, Peer } from "./endpoint.ts";
import { EventLog } from "./event_log.ts";
import { dueRemoval, GraceList } from "./liveness.ts";
import { HoldingMembers } from "./ordered_messages.ts";
import { NameIndex, type NameKeys, nameKeys } from "./name_index.ts";
import type { PasswordRecord } from "./password.ts";
import { type KeyedRateLimiter, TokenBucket } from "./rate_limit.ts";
import { RecentMsgIds } from "./recent_msg_ids.ts";
import type { KeyedRoom } from "./room_list.ts";
import { newReplayBudgets } from "./replay.ts";
import {
  closeText,
  endpointsOf,
  errorTo,
  fanOut,
  hostGoneText,
  type Member,
  recordEvent,
  type Room,
} from "./room_state.ts";
import {
  type Authentication,
  type CreateRequest,
  DEFAULT_REGISTRY_LIMITS,
  type JoinRequest,
  type JoinResult,
  type Refuse,
  type RegistryOptions,
  type RegistryRefusal,
} from "./registry_types.ts";

import {
  type AdmissionView,
  refusal,
  refuseCreate,
  refuseJoin,
  refuseMembersPerAddress,
  refuseMode,
  refuseSlot,
  reportMemberLimit,
} from "./registry_refusals.ts";

// Re-exported, so that one import of registry.ts gives the registry and its vocabulary.
export * from "./registry_types.ts";
export { roomNameTaken } from "./registry_refusals.ts";

/** MESSAGE ids remembered per member for duplicate suppression. */
const REMEMBERED_MSG_IDS = 1_024;

/** Hex form of a token, used as a map key (the sealed session table keys by it too). */
export function tokenKey(token: Uint8Array): string {
  return bytesToHex(token);
}

/** Rooms, members and tokens, and the rules that change them. */
export class RoomRegistry {
  #options: RegistryOptions;
  #rooms = new Map<string, Room>(); // by canonical key of the name
  #roomNames = new NameIndex<Room>(this.#rooms); // and by its other confusable keys
  #members = new Map<string, Member>(); // by token key
  #roomsByAddress = new Map<string, number>(); // open rooms per host address key
  #membersByAddress = new Map<string, number>(); // members per handshake address key
  /** Members whose WebSocket is closed, in their grace period (docs/protocol.md 7.4). */
  #grace = new GraceList();
  #log: (message: string) => void;
  #context: DatagramContext;
  /** Revision-2 members holding messages: the release tick visits only these. */
  #holding: HoldingMembers;
  /** Per address, shared by all its memberships; off (unlimited) when rate limiting is. */
  #replayBudgets: KeyedRateLimiter;
  /** What the admission refusals (registry_refusals.ts) read. */
  #view: AdmissionView;

  /** Creates an empty registry. `log` receives one line per notable change. */
  constructor(options: RegistryOptions, log: (message: string) => void = () => {}) {
    this.#options = options;
    this.#log = log;
    const limits = DEFAULT_REGISTRY_LIMITS;
    const holding = this.#holding = new HoldingMembers({
      window: options.messageWindow ?? limits.messageWindow,
      windowBytes: options.messageWindowBytes ?? limits.messageWindowBytes,
      gapTimeoutMs: options.gapTimeoutMs ?? limits.gapTimeoutMs,
      maxHeld: options.maxHeldMessages ?? limits.maxHeldMessages,
      onHolding: options.onHolding,
    });
    this.#view = {
      options,
      memberCount: () => this.#members.size,
      roomCount: () => this.#rooms.size,
      membersFrom: (key) => this.membersFrom(key),
      roomsHostedFrom: (key) => this.#roomsByAddress.get(key) ?? 0,
      roomByKey: (key) => this.#rooms.get(key),
      roomLike: (keys) => this.#roomNames.find(keys),
    };
    this.#replayBudgets = newReplayBudgets(options.rateLimit > 0, () => options.clocks.monotonic());
    this.#context = {
      windowLimits: holding.limits,
      holding: (member, holds) => holding.set(member, holds),
      monotonic: () => options.clocks.monotonic(),
      replayBudgets: this.#replayBudgets,
      relay: (member, text) => {
        const event = this.#record(member.room, EventType.MESSAGE, member.name, text);
        return { seq: event.seq, outgoing: fanOut(member.room, event) };
      },
      remove: (member, reason) => this.#remove(member, reason),
      reportFlood: (member, what) => this.#reportFlood(member, what),
      log: (message) => this.#log(message),
    };
  }

  /** Revision-2 members holding messages now. */
  get holdingMembers(): number {
    return this.#holding.count;
  }

  /** Messages held now across the server (revision 2). */
  get heldMessages(): number {
    return this.#holding.messages;
  }

  /**
   * Releases what the holding members' windows let out now (a token came, a
   * gap timed out). Call it about every 1000/rate ms while
   * {@linkcode holdingMembers} is not 0.
   */
  releaseDue(): Outgoing[] {
    return this.#holding.releaseDue(this.#context);
  }

  /** Rooms open now. */
  get roomCount(): number {
    return this.#rooms.size;
  }

  /** Members across all rooms now. */
  get memberCount(): number {
    return this.#members.size;
  }

  /** The room list for LIST_ROOMS by canonical key (UTF-16 order), in the creators' spelling. */
  listRooms(): RoomSummary[] {
    return this.listKeyedRooms().map(({ room }) => room);
  }

  /** {@linkcode RoomRegistry.listRooms} with each room's canonical key, for paging. */
  listKeyedRooms(): KeyedRoom[] {
    return [...this.#rooms.values()]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((room) => ({
        key: room.key,
        room: {
          name: room.name,
          members: room.members.size,
          capacity: room.capacity,
          passwordProtected: room.password !== null,
          sealed: room.sealed,
        },
      }));
  }

  /**
   * The password record of a room, so the caller can verify a password off
   * the event loop before calling {@linkcode RoomRegistry.join}.
   * `undefined` when there is no such room, `null` when it has no password.
   */
  passwordOf(roomName: string): PasswordRecord | null | undefined {
    return this.#rooms.get(canonicalKey(roomName))?.password;
  }

  /**
   * Why {@linkcode RoomRegistry.create} would refuse this request now, in
   * its order (400, 409, 429, 503), or null: so a caller can refuse before
   * hashing a password. `create` checks again.
   */
  refuseCreate(request: Omit<CreateRequest, "password">): RegistryRefusal | null {
    return refuseCreate(this.#view, request);
  }

  /**
   * Why {@linkcode RoomRegistry.join} would refuse this request now without
   * looking at the password or the username, in the order before hashing
   * (429 members per address, 404, 403 for the other mode, 403 full, 503), or null: so a caller can refuse
   * before verifying a password. `join` checks again.
   */
  refuseJoin(
    request: { roomName: string; peer: Peer; sealed?: boolean },
  ): RegistryRefusal | null {
    return refuseJoin(this.#view, request);
  }

  /** Members whose handshake came from this address key, in all rooms. */
  membersFrom(addressKey: string): number {
    return this.#membersByAddress.get(addressKey) ?? 0;
  }

  /** Creates a room with the requester as its host. */
  create(request: CreateRequest): JoinResult {
    const refused = this.refuseCreate(request);
    if (refused !== null) {
      const hosted = this.#roomsByAddress.get(request.peer.addressKey) ?? 0;
      if (refused.status === 429 && hosted >= this.#options.maxRoomsPerIp) {
        this.#options.onAbuse?.(
          "room-limit",
          request.peer.addressKey,
          `already hosts ${hosted} rooms`,
        );
      } else {
        reportMemberLimit(this.#view, request.peer, refused);
      }
      return refused;
    }
    const keys = nameKeys(request.roomName);
    const members = new Map<string, Member>();
    const room: Room = {
      name: request.roomName,
      key: keys[0]!,
      host: null,
      password: request.password,
      capacity: request.capacity,
      sealed: request.sealed ?? false,
      members,
      lookalikes: new NameIndex(members),
      log: new EventLog(this.#options.historyLimit, this.#options.historyBytes),
      lastTimeMs: 0,
    };
    this.#roomNames.add(keys, room); // and so to #rooms
    this.#countRoom(request.peer.addressKey, 1);
    const result = this.#admit(room, request.username, request.peer, request.protocol ?? 1);
    room.host = this.#members.get(tokenKey(result.token))!;
    this.#log(`room created: "${room.name}" by ${request.username} (${request.peer.address})`);
    return result;
  }

  /** Adds a member to an existing room. */
  join(request: JoinRequest): JoinResult {
    const room = this.#rooms.get(canonicalKey(request.roomName));
    if (room === undefined) return refusal(404, `no room named "${request.roomName}"`);
    // Before the password: a plain request never learns whether a sealed room's password fits.
    const mode = refuseMode(room, request.sealed ?? false);
    if (mode !== null) return mode;
    if (room.password !== null && room.password !== request.passwordProof) {
      return refusal(401, "wrong or missing password");
    }
    const keys = nameKeys(request.username);
    if (room.members.has(keys[0]!)) {
      return refusal(409, `the name "${request.username}" is taken here`);
    }
    if (room.lookalikes.find(keys) !== undefined) {
      return refusal(409, `the name "${request.username}" looks the same as someone in this room`);
    }
    // Checked before hashing too (refuseJoin); the room may have filled meanwhile.
    const refused = reportMemberLimit(
      this.#view,
      request.peer,
      refuseSlot(this.#view, room, request.peer),
    );
    if (refused !== null) return refused;
    this.#log(`joined: ${request.username} (${request.peer.address}) to "${room.name}"`);
    return this.#admit(room, request.username, request.peer, request.protocol ?? 1, keys);
  }

  #admit(
    room: Room,
    username: string,
    peer: Peer,
    protocol: number,
    keys: NameKeys = nameKeys(username),
  ): JoinResult & { ok: true } {
    const now = this.#options.clocks.monotonic();
    const random = this.#options.randomBytes ??
      ((size: number) => crypto.getRandomValues(new Uint8Array(size)));
    let token: Uint8Array;
    do token = random(32); while (this.#members.has(tokenKey(token)));
    const rate = this.#options.rateLimit;
    const member: Member = {
      tokenKey: tokenKey(token),
      name: username,
      room,
      peer,
      endpoint: null,
      joinedAt: now,
      lastDatagramAt: now,
      lastMessageAt: now,
      disconnected: null,
      seenMsgIds: new RecentMsgIds(REMEMBERED_MSG_IDS),
      protocol,
      window: null,
      messageBucket: rate > 0 ? new TokenBucket(rate, rate * 2, now) : null,
    };
    room.lookalikes.add(keys, member); // and so to room.members
    this.#members.set(member.tokenKey, member);
    this.#countMember(peer.addressKey, 1);
    const outgoing = fanOut(room, this.#record(room, EventType.JOINED, username, ""));
    // A create's host is set after this returns: then the host is this member.
    const host = room.host?.name ?? username;
    return { ok: true, token, outgoing, room: { host, passwordProtected: room.password !== null } };
  }

  /**
   * Who holds `token`: its name, its room's canonical key, and whether it
   * hosts the room; undefined for an unknown token. The handshake checks a
   * resume ticket's name and room with it.
   */
  membership(token: Uint8Array): { name: string; roomKey: string; host: boolean } | undefined {
    const member = this.#members.get(tokenKey(token));
    if (member === undefined) return undefined;
    return { name: member.name, roomKey: member.room.key, host: member.room.host === member };
  }

  /**
   * A takeover (docs/protocol.md 7.4): a new request, which proved it held
   * the member's session, continues that membership. The member keeps its
   * name, its host role and its room, and nobody is told (no JOINED, no
   * LEFT). It is bound to `peer` now (its per-address counts, and a host's
   * room, move there; 429 when that address is at its limit of members, or
   * of rooms for a host), connected, and waits for
   * a HELLO from the new session (the HELLO timeout counts from now). Its
   * msgIds start afresh with the new session's sender (the old one's are
   * forgotten with it) and `protocol` is the new request's. The room's
   * password is checked as {@linkcode RoomRegistry.join} checks it (401).
   * An unknown token (the membership ended meanwhile) is 404: the caller
   * then joins as usual.
   */
  takeOver(
    token: Uint8Array,
    peer: Peer,
    request: { passwordProof: PasswordRecord | null; protocol?: number },
  ): JoinResult {
    const member = this.#members.get(tokenKey(token));
    if (member === undefined) return refusal(404, "that membership has ended");
    const room = member.room;
    if (room.password !== null && room.password !== request.passwordProof) {
      return refusal(401, "wrong or missing password");
    }
    const from = member.peer.addressKey;
    if (peer.addressKey !== from) {
      const limit = refuseMembersPerAddress(this.#view, peer);
      if (limit !== null) return reportMemberLimit(this.#view, peer, limit)!;
      const hosts = room.host === member;
      const hosted = this.#roomsByAddress.get(peer.addressKey) ?? 0;
      if (hosts && hosted >= this.#options.maxRoomsPerIp) {
        this.#options.onAbuse?.("room-limit", peer.addressKey, `already hosts ${hosted} rooms`);
        return refusal(429, `your address already hosts ${hosted} rooms, this server's limit`);
      }
      this.#countMember(from, -1);
      this.#countMember(peer.addressKey, 1);
      if (hosts) {
        this.#countRoom(from, -1);
        this.#countRoom(peer.addressKey, 1);
      }
    }
    const now = this.#options.clocks.monotonic();
    member.peer = peer;
    member.endpoint = null;
    member.joinedAt = now;
    member.lastDatagramAt = now;
    this.#grace.end(member);
    // The new session's client numbers its MESSAGEs from 1 again (a reload lost the old
    // count): the old ids would make them look like duplicates and never be relayed.
    this.#holding.forget(member);
    member.window = null;
    member.seenMsgIds = new RecentMsgIds(REMEMBERED_MSG_IDS);
    member.protocol = request.protocol ?? 1;
    this.#log(`taken over: ${member.name} in "${room.name}" (${peer.address})`);
    const host = room.host?.name ?? member.name;
    return {
      ok: true,
      token,
      outgoing: [],
      room: { host, passwordProtected: room.password !== null },
    };
  }

  /**
   * Undoes a membership whose token never reached its owner (the answer could
   * not be written): the member is removed at once, as if it never said
   * HELLO, instead of after the HELLO timeout; a room it created closes.
   */
  revoke(token: Uint8Array): Outgoing[] {
    const member = this.#members.get(tokenKey(token));
    if (member === undefined) return [];
    this.#log(`revoked: ${member.name} in "${member.room.name}": the token was not delivered`);
    return this.#remove(member, CloseReason.LOST);
  }

  /**
   * Whether `datagram`'s token belongs to a member of the room it names and
   * may act from `from` (the token is bound to the handshake's address).
   */
  authenticate(from: Endpoint, datagram: ClientDatagram): Authentication {
    const found = this.#find(from, datagram);
    return typeof found === "string" ? found : "member";
  }

  #find(from: Endpoint, datagram: ClientDatagram): Member | "unknown-token" | "foreign-token" {
    const member = this.#members.get(tokenKey(datagram.token));
    if (member === undefined || !namesRoom(member.room, datagram.roomName)) return "unknown-token";
    return from.transport.authenticates(member.peer.address, from) ? member : "foreign-token";
  }

  /**
   * Handles one decoded datagram from `from`; returns what to send. A datagram
   * that does not authenticate gets what `refuse` returns: by default ERROR
   * 401; the UDP front end passes its own, so that refusals of strangers are
   * counted and rate limited per address (one token lookup either way).
   */
  handleDatagram(
    from: Endpoint,
    datagram: ClientDatagram,
    refuse: Refuse = (_kind, text) => [errorTo(from, 401, text)],
  ): Outgoing[] {
    const member = this.#find(from, datagram);
    if (member === "unknown-token") return refuse(member, "unknown token for this room");
    if (member === "foreign-token") return refuse(member, "token used from another IP address");
    member.lastDatagramAt = this.#options.clocks.monotonic();
    this.#grace.end(member); // a datagram through a new socket ends a disconnect too
    if (from.transport.movesTo(member.endpoint, from)) member.endpoint = from;
    const { body } = datagram;
    // The table's type pairs each kind with its handler; TypeScript cannot
    // follow that through an index, hence the cast.
    const handler = DATAGRAM_HANDLERS[body.kind] as (
      context: DatagramContext,
      member: Member,
      body: typeof datagram.body,
      from: Endpoint,
    ) => Outgoing[];
    return handler(this.#context, member, body, from);
  }

  #reportFlood(member: Member, what: string): void {
    this.#options.onAbuse?.(
      "member-flood",
      member.peer.addressKey,
      `${what} over the limit from ${member.name} in "${member.room.name}"`,
    );
  }

  /**
   * A sign of life without a datagram (a WebSocket pong or any other frame):
   * the member is not lost while this keeps coming. Unknown tokens are ignored.
   */
  touch(token: Uint8Array): void {
    const member = this.#members.get(tokenKey(token));
    if (member !== undefined) member.lastDatagramAt = this.#options.clocks.monotonic();
  }

  /**
   * The member's socket closed (a WebSocket): it stays a member, and nobody
   * is told, for `graceMs`; then {@linkcode RoomRegistry.tick} removes it as
   * timed out (lost; a host's room closes), unless a datagram or
   * {@linkcode RoomRegistry.reconnect} comes first. Meanwhile the 3-heartbeat
   * rule does not apply to it; the idle rule still does. A member already
   * disconnected keeps its first deadline. Unknown tokens are ignored.
   */
  disconnect(token: Uint8Array, graceMs: number): void {
    const member = this.#members.get(tokenKey(token));
    if (member !== undefined) this.#grace.start(member, this.#options.clocks.monotonic(), graceMs);
  }

  /** The member resumed on a new socket: connected again, alive now. Unknown tokens are ignored. */
  reconnect(token: Uint8Array): void {
    const member = this.#members.get(tokenKey(token));
    if (member === undefined) return;
    member.lastDatagramAt = this.#options.clocks.monotonic();
    this.#grace.end(member);
  }

  /** Members in their grace period now (their socket closed, not yet back). */
  get disconnectedCount(): number {
    return this.#grace.size;
  }

  /** Applies every timeout that has come due; call it about once a second. */
  tick(): Outgoing[] {
    const now = this.#options.clocks.monotonic();
    const out: Outgoing[] = [];
    for (const member of this.#members.values()) {
      // A member removed earlier in this sweep (its host left) is skipped.
      if (!this.#members.has(member.tokenKey)) continue;
      const due = dueRemoval(member, now, this.#options);
      if (due === null) continue;
      this.#log(`${due.label}: ${member.name} in "${member.room.name}"${due.detail}`);
      out.push(...this.#remove(member, due.reason));
    }
    this.#replayBudgets.sweep();
    return out;
  }

  /** Closes every room for shutdown: CLOSED 4 to every member. */
  shutdown(): Outgoing[] {
    const to = endpointsOf(this.#members.values());
    const removed = [...this.#members.values()];
    for (const member of removed) this.#holding.forget(member);
    this.#members.clear();
    this.#grace.clear();
    this.#roomNames.clear(); // and so #rooms
    this.#roomsByAddress.clear();
    this.#membersByAddress.clear();
    for (const member of removed) this.#options.onRemoved?.(member);
    return to.length === 0 ? [] : [{
      to,
      body: { kind: "closed", reason: CloseReason.SHUTDOWN, text: closeText(CloseReason.SHUTDOWN) },
    }];
  }

  #remove(member: Member, reason: CloseReason): Outgoing[] {
    const room = member.room;
    // A host lost at the end of its grace was silent that long, not 3 heartbeats.
    const grace = reason === CloseReason.LOST ? member.disconnected?.graceMs : undefined;
    room.lookalikes.remove(nameKeys(member.name), member); // and so from room.members
    this.#members.delete(member.tokenKey);
    this.#countMember(member.peer.addressKey, -1);
    this.#holding.forget(member);
    this.#grace.end(member);
    this.#options.onRemoved?.(member);
    const out: Outgoing[] = [];
    if (member.endpoint !== null) {
      out.push({
        to: [member.endpoint],
        body: { kind: "closed", reason, text: closeText(reason) },
      });
    }
    if (room.host === member) {
      const endpoint = member.endpoint !== null;
      const text = hostGoneText(member.name, reason, endpoint, this.#options, grace);
      out.push(...this.#closeRoom(room, text));
    } else {
      const type = reason === CloseReason.LEFT ? EventType.LEFT : EventType.TIMED_OUT;
      out.push(...fanOut(room, this.#record(room, type, member.name, "")));
    }
    return out;
  }

  #closeRoom(room: Room, text: string): Outgoing[] {
    this.#roomNames.remove(nameKeys(room.name), room); // and so from #rooms
    const hostKey = room.host?.peer.addressKey;
    if (hostKey !== undefined) this.#countRoom(hostKey, -1);
    const to = endpointsOf(room.members.values());
    const removed = [...room.members.values()];
    for (const member of removed) {
      this.#members.delete(member.tokenKey);
      this.#countMember(member.peer.addressKey, -1);
      this.#holding.forget(member);
      this.#grace.end(member);
    }
    room.members.clear();
    for (const member of removed) this.#options.onRemoved?.(member);
    this.#log(`room closed: "${room.name}"`);
    return to.length === 0
      ? []
      : [{ to, body: { kind: "closed", reason: CloseReason.HOST_LEFT, text } }];
  }

  #countRoom(addressKey: string, change: 1 | -1): void {
    const count = (this.#roomsByAddress.get(addressKey) ?? 0) + change;
    if (count <= 0) this.#roomsByAddress.delete(addressKey);
    else this.#roomsByAddress.set(addressKey, count);
  }

  #countMember(addressKey: string, change: 1 | -1): void {
    const count = this.membersFrom(addressKey) + change;
    if (count <= 0) this.#membersByAddress.delete(addressKey);
    else this.#membersByAddress.set(addressKey, count);
  }

  #record(room: Room, type: EventTypeCode, name: string, text: string) {
    return recordEvent(room, { type, name, text }, this.#options.clocks.wall());
  }
}

/**
 * Whether a datagram's room name names `room`: the same canonical key. The
 * spelling the room was created with is compared first, as most clients use it.
 */
function namesRoom(room: Room, roomName: string): boolean {
  return roomName === room.name || canonicalKey(roomName) === room.key;
}
