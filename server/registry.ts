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
import {
  type ClientDatagram,
  CloseReason,
  EventType,
  type EventType as EventTypeCode,
} from "../protocol/datagram.ts";
import { usernameKey } from "../protocol/names.ts";
import type { RoomSummary } from "../protocol/tcrp.ts";
import type { AbuseReporter } from "./abuse_log.ts";
import type { Clocks } from "./clock.ts";
import { DATAGRAM_HANDLERS, type DatagramContext } from "./datagram_handlers.ts";
import type { Endpoint, Outgoing, Peer } from "./endpoint.ts";
import { EventLog } from "./event_log.ts";
import type { PasswordRecord } from "./password.ts";
import { TokenBucket } from "./rate_limit.ts";
import { RecentMsgIds } from "./recent_msg_ids.ts";
import { ReplayBudgets } from "./replay.ts";
import {
  closeText,
  endpointsOf,
  errorTo,
  fanOut,
  type Member,
  recordEvent,
  type Room,
} from "./room_state.ts";

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
}

/** Default limits, as documented in the README. */
export const DEFAULT_REGISTRY_LIMITS = {
  maxRooms: 1_000,
  maxMembers: 10_000,
  maxRoomsPerIp: 10,
  maxMembersPerRoom: 256,
  idleTimeoutMs: 300_000,
  heartbeatMs: 10_000,
  helloTimeoutMs: 30_000,
  rateLimit: 20,
  historyLimit: 1_024,
  // 1000 rooms × 256 KiB = 250 MiB of event text at most, under V8's heap
  // limit with every other limit at its worst (deno task bench:memory).
  historyBytes: 256 * 1024,
} as const;

/** MESSAGE ids remembered per member for duplicate suppression. */
const REMEMBERED_MSG_IDS = 1_024;

/** A refusal of create or join: the TCRP status and the text a person reads. */
export interface RegistryRefusal {
  ok: false;
  status: 400 | 401 | 403 | 404 | 409 | 429 | 503;
  error: string;
}

/** Outcome of create or join. */
export type JoinResult =
  | { ok: true; token: Uint8Array; outgoing: Outgoing[] }
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
}

/** What join needs; `passwordProof` is the record the caller verified, if any. */
export interface JoinRequest {
  roomName: string;
  username: string;
  passwordProof: PasswordRecord | null;
  peer: Peer;
}

/** Hex form of a token, used as a map key. */
export function tokenKey(token: Uint8Array): string {
  let key = "";
  for (const byte of token) key += byte.toString(16).padStart(2, "0");
  return key;
}

/** Rooms, members and tokens, and the rules that change them. */
export class RoomRegistry {
  #options: RegistryOptions;
  #rooms = new Map<string, Room>();
  #members = new Map<string, Member>(); // by token key
  #roomsByAddress = new Map<string, number>(); // open rooms per host address key
  #log: (message: string) => void;
  #context: DatagramContext;
  /** Per address, shared by all its memberships; off (unlimited) when rate limiting is. */
  #replayBudgets: ReplayBudgets;

  /** Creates an empty registry. `log` receives one line per notable change. */
  constructor(options: RegistryOptions, log: (message: string) => void = () => {}) {
    this.#options = options;
    this.#log = log;
    this.#replayBudgets = new ReplayBudgets(options.rateLimit > 0);
    this.#context = {
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

  /** Rooms open now. */
  get roomCount(): number {
    return this.#rooms.size;
  }

  /** Members across all rooms now. */
  get memberCount(): number {
    return this.#members.size;
  }

  /** The room list for LIST_ROOMS, sorted by name. */
  listRooms(): RoomSummary[] {
    return [...this.#rooms.values()]
      .map((room) => ({
        name: room.name,
        members: room.members.size,
        capacity: room.capacity,
        passwordProtected: room.password !== null,
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * The password record of a room, so the caller can verify a password off
   * the event loop before calling {@linkcode RoomRegistry.join}.
   * `undefined` when there is no such room, `null` when it has no password.
   */
  passwordOf(roomName: string): PasswordRecord | null | undefined {
    return this.#rooms.get(roomName)?.password;
  }

  /**
   * Why {@linkcode RoomRegistry.create} would refuse this request now, in
   * its order (400, 409, 429, 503), or null: so a caller can refuse before
   * hashing a password. `create` checks again.
   */
  refuseCreate(request: Omit<CreateRequest, "password">): RegistryRefusal | null {
    const { maxMembersPerRoom, maxRoomsPerIp } = this.#options;
    if (request.capacity !== null && request.capacity > maxMembersPerRoom) {
      return refusal(
        400,
        `capacity ${request.capacity} is over this server's limit of ${maxMembersPerRoom}`,
      );
    }
    if (this.#rooms.has(request.roomName)) {
      return refusal(409, `room "${request.roomName}" already exists`);
    }
    const hosted = this.#roomsByAddress.get(request.peer.addressKey) ?? 0;
    if (hosted >= maxRoomsPerIp) {
      return refusal(429, `your address already hosts ${hosted} rooms, this server's limit`);
    }
    if (this.#rooms.size >= this.#options.maxRooms) {
      return refusal(503, "the server has reached its room limit");
    }
    if (this.#members.size >= this.#options.maxMembers) {
      return refusal(503, "the server has reached its member limit");
    }
    return null;
  }

  /** Creates a room with the requester as its host. */
  create(request: CreateRequest): JoinResult {
    const refused = this.refuseCreate(request);
    if (refused !== null) {
      if (refused.status === 429) {
        const hosted = this.#roomsByAddress.get(request.peer.addressKey);
        this.#options.onAbuse?.(
          "room-limit",
          request.peer.addressKey,
          `already hosts ${hosted} rooms`,
        );
      }
      return refused;
    }
    const room: Room = {
      name: request.roomName,
      host: null,
      password: request.password,
      capacity: request.capacity,
      members: new Map(),
      log: new EventLog(this.#options.historyLimit, this.#options.historyBytes),
      lastTimeMs: 0,
    };
    const key = request.peer.addressKey;
    this.#rooms.set(room.name, room);
    this.#roomsByAddress.set(key, (this.#roomsByAddress.get(key) ?? 0) + 1);
    const result = this.#admit(room, request.username, request.peer);
    room.host = this.#members.get(tokenKey(result.token))!;
    this.#log(`room created: "${room.name}" by ${request.username} (${request.peer.address})`);
    return result;
  }

  /** Adds a member to an existing room. */
  join(request: JoinRequest): JoinResult {
    const room = this.#rooms.get(request.roomName);
    if (room === undefined) return refusal(404, `no room named "${request.roomName}"`);
    if (room.password !== null && room.password !== request.passwordProof) {
      return refusal(401, "wrong or missing password");
    }
    const capacity = room.capacity ?? this.#options.maxMembersPerRoom;
    if (room.members.size >= capacity) return refusal(403, `room is full (${capacity} members)`);
    if (room.members.has(usernameKey(request.username))) {
      return refusal(409, `the name "${request.username}" is taken here`);
    }
    if (this.#members.size >= this.#options.maxMembers) {
      return refusal(503, "the server has reached its member limit");
    }
    this.#log(`joined: ${request.username} (${request.peer.address}) to "${room.name}"`);
    return this.#admit(room, request.username, request.peer);
  }

  #admit(room: Room, username: string, peer: Peer): JoinResult & { ok: true } {
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
      seenMsgIds: new RecentMsgIds(REMEMBERED_MSG_IDS),
      messageBucket: rate > 0 ? new TokenBucket(rate, rate * 2, now) : null,
    };
    room.members.set(usernameKey(username), member);
    this.#members.set(member.tokenKey, member);
    const outgoing = fanOut(room, this.#record(room, EventType.JOINED, username, ""));
    return { ok: true, token, outgoing };
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
    if (member === undefined || member.room.name !== datagram.roomName) return "unknown-token";
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

  /** Applies every timeout that has come due; call it about once a second. */
  tick(): Outgoing[] {
    const now = this.#options.clocks.monotonic();
    const { idleTimeoutMs, heartbeatMs, helloTimeoutMs } = this.#options;
    const out: Outgoing[] = [];
    for (const member of this.#members.values()) {
      // A member removed earlier in this sweep (its host left) is skipped.
      if (!this.#members.has(member.tokenKey)) continue;
      if (member.endpoint === null) {
        if (now - member.joinedAt >= helloTimeoutMs) {
          this.#log(`revoked: ${member.name} in "${member.room.name}" sent no HELLO`);
          out.push(...this.#remove(member, CloseReason.LOST));
        }
      } else if (now - member.lastDatagramAt >= 3 * heartbeatMs) {
        this.#log(`lost: ${member.name} in "${member.room.name}"`);
        out.push(...this.#remove(member, CloseReason.LOST));
      } else if (idleTimeoutMs > 0 && now - member.lastMessageAt >= idleTimeoutMs) {
        this.#log(`idle: ${member.name} in "${member.room.name}"`);
        out.push(...this.#remove(member, CloseReason.IDLE));
      }
    }
    this.#replayBudgets.sweep(now);
    return out;
  }

  /** Closes every room for shutdown: CLOSED 4 to every member. */
  shutdown(): Outgoing[] {
    const to = endpointsOf(this.#members.values());
    this.#members.clear();
    this.#rooms.clear();
    this.#roomsByAddress.clear();
    return to.length === 0 ? [] : [{
      to,
      body: { kind: "closed", reason: CloseReason.SHUTDOWN, text: closeText(CloseReason.SHUTDOWN) },
    }];
  }

  #remove(member: Member, reason: CloseReason): Outgoing[] {
    const room = member.room;
    room.members.delete(usernameKey(member.name));
    this.#members.delete(member.tokenKey);
    const out: Outgoing[] = [];
    if (member.endpoint !== null) {
      out.push({
        to: [member.endpoint],
        body: { kind: "closed", reason, text: closeText(reason) },
      });
    }
    if (room.host === member) {
      out.push(...this.#closeRoom(room, `the host ${member.name} left, so the room is closed`));
    } else {
      const type = reason === CloseReason.LEFT ? EventType.LEFT : EventType.TIMED_OUT;
      out.push(...fanOut(room, this.#record(room, type, member.name, "")));
    }
    return out;
  }

  #closeRoom(room: Room, text: string): Outgoing[] {
    this.#rooms.delete(room.name);
    const hostKey = room.host?.peer.addressKey;
    if (hostKey !== undefined) {
      const hosted = (this.#roomsByAddress.get(hostKey) ?? 1) - 1;
      if (hosted <= 0) this.#roomsByAddress.delete(hostKey);
      else this.#roomsByAddress.set(hostKey, hosted);
    }
    const to = endpointsOf(room.members.values());
    for (const member of room.members.values()) this.#members.delete(member.tokenKey);
    room.members.clear();
    this.#log(`room closed: "${room.name}"`);
    return to.length === 0
      ? []
      : [{ to, body: { kind: "closed", reason: CloseReason.HOST_LEFT, text } }];
  }

  #record(room: Room, type: EventTypeCode, name: string, text: string) {
    return recordEvent(room, { type, name, text }, this.#options.clocks.wall());
  }
}

function refusal(status: RegistryRefusal["status"], error: string): RegistryRefusal {
  return { ok: false, status, error };
}
