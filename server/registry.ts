/**
 * The room registry: every decision the server makes, as a pure state
 * machine. It does no I/O and reads time only from the injected clock; the
 * TCP and UDP front ends decode, call it, and send what it returns.
 */
import {
  type ChatEvent,
  type ClientDatagram,
  CloseReason,
  EVENT_HEADER_BYTES,
  EventType,
  MAX_DATAGRAM_BYTES,
  REPLAY_ON_WELCOME,
  type ServerBody,
} from "../protocol/datagram.ts";
import { encodeUtf8 } from "../protocol/bytes.ts";
import { usernameKey } from "../protocol/names.ts";
import type { RoomSummary } from "../protocol/tcrp.ts";
import type { PasswordRecord } from "./password.ts";
import type { AbuseReporter } from "./abuse_log.ts";
import { TokenBucket } from "./rate_limit.ts";
import { EventLog } from "./event_log.ts";
import { RecentMsgIds } from "./recent_msg_ids.ts";

/** A UDP address. */
export interface Endpoint {
  hostname: string;
  port: number;
}

/** One datagram body for one or more endpoints (encoded once by the sender). */
export interface Outgoing {
  to: Endpoint[];
  body: ServerBody;
}

/** Limits and timings of a registry. */
export interface RegistryOptions {
  /** Milliseconds since the epoch; tests pass a fake. */
  clock: () => number;
  /** Source of token bytes; defaults to crypto.getRandomValues. */
  randomBytes?: (size: number) => Uint8Array;
  /** Most rooms at once (503 past it). */
  maxRooms: number;
  /** Most members across all rooms at once (503 past it). */
  maxMembers: number;
  /** Most rooms open at once whose host came from one IP address (429 past it). */
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
/**
 * Replay budget per member, when rate limiting is on, counted in datagrams
 * (each HELLO, HEARTBEAT or RESEND that replays costs 1 plus 1 per event), so
 * repair keeps up with a lossy link but a member cannot make the server send
 * more than this. The chaos suite (20% loss, 75 events/s) uses about 15 a second.
 */
const REPLAY_DATAGRAMS_PER_SECOND = 200;
const REPLAY_BURST = 1_024;
/** WELCOME's member list is cut to keep the datagram well under 4096 bytes. */
const WELCOME_NAMES_BUDGET_BYTES = 3_000;

/** Outcome of create or join. */
export type JoinResult =
  | { ok: true; token: Uint8Array; outgoing: Outgoing[] }
  | { ok: false; status: 400 | 401 | 403 | 404 | 409 | 429 | 503; error: string };

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
  ip: string;
}

/** What join needs; `passwordProof` is the record the caller verified, if any. */
export interface JoinRequest {
  roomName: string;
  username: string;
  passwordProof: PasswordRecord | null;
  ip: string;
}

interface Member {
  tokenKey: string;
  name: string;
  room: Room;
  ip: string;
  endpoint: Endpoint | null;
  joinedAt: number;
  lastDatagramAt: number;
  lastMessageAt: number;
  /** msgId -> seq of the relayed event, the newest REMEMBERED_MSG_IDS. */
  seenMsgIds: RecentMsgIds;
  messageBucket: TokenBucket | null;
  replayBucket: TokenBucket | null;
}

interface Room {
  name: string;
  host: Member | null;
  password: PasswordRecord | null;
  capacity: number | null;
  members: Map<string, Member>; // by usernameKey
  log: EventLog;
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
  #roomsByIp = new Map<string, number>(); // open rooms per host IP
  #log: (message: string) => void;

  /** Creates an empty registry. `log` receives one line per notable change. */
  constructor(options: RegistryOptions, log: (message: string) => void = () => {}) {
    this.#options = options;
    this.#log = log;
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

  /** Creates a room with the requester as its host. */
  create(request: CreateRequest): JoinResult {
    const { maxMembersPerRoom, maxRoomsPerIp } = this.#options;
    if (request.capacity !== null && request.capacity > maxMembersPerRoom) {
      return {
        ok: false,
        status: 400,
        error: `capacity ${request.capacity} is over this server's limit of ${maxMembersPerRoom}`,
      };
    }
    if (this.#rooms.has(request.roomName)) {
      return { ok: false, status: 409, error: `room "${request.roomName}" already exists` };
    }
    const hosted = this.#roomsByIp.get(request.ip) ?? 0;
    if (hosted >= maxRoomsPerIp) {
      this.#options.onAbuse?.("room-limit", request.ip, `already hosts ${hosted} rooms`);
      return {
        ok: false,
        status: 429,
        error: `your address already hosts ${hosted} rooms, this server's limit`,
      };
    }
    if (this.#rooms.size >= this.#options.maxRooms) {
      return { ok: false, status: 503, error: "the server has reached its room limit" };
    }
    if (this.#members.size >= this.#options.maxMembers) {
      return { ok: false, status: 503, error: "the server has reached its member limit" };
    }
    const room: Room = {
      name: request.roomName,
      host: null,
      password: request.password,
      capacity: request.capacity,
      members: new Map(),
      log: new EventLog(this.#options.historyLimit, this.#options.historyBytes),
    };
    this.#rooms.set(room.name, room);
    this.#roomsByIp.set(request.ip, hosted + 1);
    const result = this.#admit(room, request.username, request.ip);
    room.host = this.#members.get(tokenKey(result.token))!;
    this.#log(`room created: "${room.name}" by ${request.username} (${request.ip})`);
    return result;
  }

  /** Adds a member to an existing room. */
  join(request: JoinRequest): JoinResult {
    const room = this.#rooms.get(request.roomName);
    if (room === undefined) {
      return { ok: false, status: 404, error: `no room named "${request.roomName}"` };
    }
    if (room.password !== null && room.password !== request.passwordProof) {
      return { ok: false, status: 401, error: "wrong or missing password" };
    }
    const capacity = room.capacity ?? this.#options.maxMembersPerRoom;
    if (room.members.size >= capacity) {
      return { ok: false, status: 403, error: `room is full (${capacity} members)` };
    }
    if (room.members.has(usernameKey(request.username))) {
      return { ok: false, status: 409, error: `the name "${request.username}" is taken here` };
    }
    if (this.#members.size >= this.#options.maxMembers) {
      return { ok: false, status: 503, error: "the server has reached its member limit" };
    }
    this.#log(`joined: ${request.username} (${request.ip}) to "${room.name}"`);
    return this.#admit(room, request.username, request.ip);
  }

  #admit(room: Room, username: string, ip: string): JoinResult & { ok: true } {
    const now = this.#options.clock();
    const random = this.#options.randomBytes ??
      ((size: number) => crypto.getRandomValues(new Uint8Array(size)));
    let token: Uint8Array;
    do token = random(32); while (this.#members.has(tokenKey(token)));
    const rate = this.#options.rateLimit;
    const member: Member = {
      tokenKey: tokenKey(token),
      name: username,
      room,
      ip,
      endpoint: null,
      joinedAt: now,
      lastDatagramAt: now,
      lastMessageAt: now,
      seenMsgIds: new RecentMsgIds(REMEMBERED_MSG_IDS),
      messageBucket: rate > 0 ? new TokenBucket(rate, rate * 2, now) : null,
      replayBucket: rate > 0
        ? new TokenBucket(REPLAY_DATAGRAMS_PER_SECOND, REPLAY_BURST, now)
        : null,
    };
    room.members.set(usernameKey(username), member);
    this.#members.set(member.tokenKey, member);
    const outgoing = this.#broadcast(room, this.#record(room, EventType.JOINED, username, ""));
    return { ok: true, token, outgoing };
  }

  /**
   * Whether `datagram`'s token belongs to a member of the room it names and
   * comes from that member's IP address.
   */
  authenticate(from: Endpoint, datagram: ClientDatagram): Authentication {
    const found = this.#find(from, datagram);
    return typeof found === "string" ? found : "member";
  }

  #find(from: Endpoint, datagram: ClientDatagram): Member | "unknown-token" | "foreign-token" {
    const member = this.#members.get(tokenKey(datagram.token));
    if (member === undefined || member.room.name !== datagram.roomName) return "unknown-token";
    return member.ip === from.hostname ? member : "foreign-token";
  }

  /**
   * Handles one decoded datagram from `from`; returns what to send. A datagram
   * that does not authenticate gets what `refuse` returns: by default ERROR
   * 401; the UDP front end passes its own, so that refusals of strangers are
   * counted and rate limited per IP address (one token lookup either way).
   */
  handleDatagram(
    from: Endpoint,
    datagram: ClientDatagram,
    refuse: Refuse = (_kind, text) => [error(from, 401, text)],
  ): Outgoing[] {
    const member = this.#find(from, datagram);
    if (member === "unknown-token") return refuse(member, "unknown token for this room");
    if (member === "foreign-token") return refuse(member, "token used from another IP address");
    const now = this.#options.clock();
    member.lastDatagramAt = now;
    // Any authenticated datagram moves the endpoint, so a NAT rebinding heals itself.
    member.endpoint = from;
    const { body } = datagram;
    const room = member.room;
    switch (body.kind) {
      case "hello": {
        const head = room.log.headSeq;
        const firstSeq = body.lastSeq === 0
          ? Math.max(1, head - REPLAY_ON_WELCOME + 1)
          : body.lastSeq + 1;
        const replay = this.#replay(member, from, firstSeq, head);
        if (replay[0]?.body.kind === "error") return replay;
        return [{ to: [from], body: this.#welcome(room) }, ...replay];
      }
      case "message": {
        const seen = member.seenMsgIds.get(body.msgId);
        if (seen !== undefined) {
          return [{ to: [from], body: { kind: "ack", msgId: body.msgId, seq: seen } }];
        }
        // A full MESSAGE datagram plus a long name can make an EVENT too large to
        // encode. UTF-8 takes at most 3 bytes a UTF-16 unit, so the texts are
        // encoded to measure them only when that bound says they might not fit.
        if (EVENT_HEADER_BYTES + 3 * (member.name.length + body.text.length) > MAX_DATAGRAM_BYTES) {
          const eventBytes = EVENT_HEADER_BYTES + encodeUtf8(member.name).length +
            encodeUtf8(body.text).length;
          if (eventBytes > MAX_DATAGRAM_BYTES) {
            return [error(from, 413, `message too long: its EVENT would be ${eventBytes} bytes`)];
          }
        }
        if (member.messageBucket !== null && !member.messageBucket.take(now)) {
          this.#reportFlood(member, "MESSAGE");
          return [error(from, 429, "rate limited: message not relayed")];
        }
        member.lastMessageAt = now;
        const event = this.#record(room, EventType.MESSAGE, member.name, body.text);
        member.seenMsgIds.add(body.msgId, event.seq);
        return [
          { to: [from], body: { kind: "ack", msgId: body.msgId, seq: event.seq } },
          ...this.#broadcast(room, event),
        ];
      }
      case "heartbeat": {
        if (body.lastSeq >= room.log.headSeq) return [];
        return this.#replay(member, from, body.lastSeq + 1, room.log.headSeq);
      }
      case "resend":
        return this.#replay(member, from, body.fromSeq, body.toSeq);
      case "leave":
        this.#log(`left: ${member.name} from "${room.name}"`);
        return this.#remove(member, CloseReason.LEFT);
    }
  }

  /**
   * The events fromSeq..toSeq the room still holds, oldest first, as far as
   * the member's replay budget goes (the client asks again for the rest), or
   * ERROR 429 when the budget is spent.
   */
  #replay(member: Member, to: Endpoint, fromSeq: number, toSeq: number): Outgoing[] {
    let events = member.room.log.range(fromSeq, toSeq);
    if (member.replayBucket !== null) {
      const granted = member.replayBucket.takeUpTo(this.#options.clock(), events.length + 1);
      if (granted === 0) {
        this.#reportFlood(member, "HELLO, HEARTBEAT or RESEND replay");
        return [error(to, 429, "too many HELLO, HEARTBEAT or RESEND replays")];
      }
      events = events.slice(0, granted - 1);
    }
    return events.map((event) => ({ to: [to], body: eventBody(event) }));
  }

  #reportFlood(member: Member, what: string): void {
    this.#options.onAbuse?.(
      "member-flood",
      member.ip,
      `${what} over the limit from ${member.name} in "${member.room.name}"`,
    );
  }

  /** Applies every timeout that has come due; call it about once a second. */
  tick(): Outgoing[] {
    const now = this.#options.clock();
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
    return out;
  }

  /** Closes every room for shutdown: CLOSED 4 to every member. */
  shutdown(): Outgoing[] {
    const to = [...this.#members.values()].flatMap((m) => (m.endpoint ? [m.endpoint] : []));
    this.#members.clear();
    this.#rooms.clear();
    this.#roomsByIp.clear();
    return to.length === 0 ? [] : [{
      to,
      body: { kind: "closed", reason: CloseReason.SHUTDOWN, text: "the server is shutting down" },
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
      out.push(...this.#broadcast(room, this.#record(room, type, member.name, "")));
    }
    return out;
  }

  #closeRoom(room: Room, text: string): Outgoing[] {
    this.#rooms.delete(room.name);
    const hostIp = room.host?.ip;
    if (hostIp !== undefined) {
      const hosted = (this.#roomsByIp.get(hostIp) ?? 1) - 1;
      if (hosted <= 0) this.#roomsByIp.delete(hostIp);
      else this.#roomsByIp.set(hostIp, hosted);
    }
    const to: Endpoint[] = [];
    for (const member of room.members.values()) {
      this.#members.delete(member.tokenKey);
      if (member.endpoint !== null) to.push(member.endpoint);
    }
    room.members.clear();
    this.#log(`room closed: "${room.name}"`);
    return to.length === 0
      ? []
      : [{ to, body: { kind: "closed", reason: CloseReason.HOST_LEFT, text } }];
  }

  #record(room: Room, type: EventType, name: string, text: string): ChatEvent {
    return room.log.append({ timeMs: this.#options.clock(), type, name, text });
  }

  #broadcast(room: Room, event: ChatEvent): Outgoing[] {
    const to: Endpoint[] = [];
    for (const member of room.members.values()) {
      if (member.endpoint !== null) to.push(member.endpoint);
    }
    return to.length === 0 ? [] : [{ to, body: eventBody(event) }];
  }

  #welcome(room: Room): ServerBody {
    const members: string[] = [];
    let budget = WELCOME_NAMES_BUDGET_BYTES;
    for (const member of room.members.values()) {
      budget -= member.name.length * 3 + 3; // worst case UTF-8 plus JSON quotes and comma
      if (budget < 0) break;
      members.push(member.name);
    }
    return {
      kind: "welcome",
      headSeq: room.log.headSeq,
      room: room.name,
      host: room.host?.name ?? "",
      members,
    };
  }
}

function eventBody(event: ChatEvent): ServerBody {
  return { kind: "event", ...event };
}

function error(to: Endpoint, code: 400 | 401 | 413 | 429, text: string): Outgoing {
  return { to: [to], body: { kind: "error", code, text } };
}

function closeText(reason: CloseReason): string {
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
