/**
 * The membership handshake, whatever carries it: given a decoded request,
 * the peer it came from, a cancel signal and a deadline, decide and answer.
 * TCRP over TCP is one caller (tcp_front.ts); a WebSocket will be another.
 *
 * It owns the connection gate (connections open per address and in all),
 * the request rate per address, the password-hash queue, the wrong-password
 * limits, the room-list byte budget, and the names of rooms being created
 * while their password is hashed (by all their confusable keys), so that a
 * second CREATE of the same name, or of one that looks the same, gets 409 at
 * once instead of a hash of its own.
 *
 * A request comes plain or sealed (docs/protocol.md section 6.1): a sealed
 * one was charged to its address's request rate before any key work (see
 * {@linkcode Handshake.chargeRequest}), creates a sealed room or joins only
 * one, and an admission opens its sealed datagram session. Without
 * `allowPlaintext`, every plain request gets a refusal that says so.
 *
 * @module
 */
import { ProtocolError } from "../protocol/errors.ts";
import { canonicalKey, validateRoomName, validateUsername } from "../protocol/names.ts";
import {
  type JoinAccepted,
  type ListRequest,
  Operation,
  type Refusal,
  type RoomRequest,
  type RoomSummary,
  type TcrpRequest,
} from "../protocol/tcrp.ts";
import type { IssuedSession } from "../protocol/sealed_types.ts";
import type { AbuseReporter } from "./abuse_log.ts";
import type { ConnectionGate, GateRefusal } from "./connection_gate.ts";
import type { Outgoing, Peer } from "./endpoint.ts";
import { type HashQueue, HashQueueBusy } from "./hash_queue.ts";
import type { KeyedBudget } from "./keyed_budget.ts";
import type { Logger } from "./log.ts";
import { hashPassword, type PasswordRecord, verifyPassword } from "./password.ts";
import type { PasswordFailures } from "./password_failures.ts";
import type { KeyedRateLimiter } from "./rate_limit.ts";
import { NameIndex, nameKeys } from "./name_index.ts";
import {
  type AdmittedRoom,
  type JoinResult,
  roomNameTaken,
  type RoomRegistry,
} from "./registry.ts";
import { pageBytes, pageOfRooms } from "./room_list.ts";
import type { SealedSession } from "./sealed/sessions.ts";
import { type HandshakeSessions, stillHeld, takesOver, ticketHolder } from "./takeover.ts";
import { VerifiedPasswords } from "./verified_passwords.ts";

/** How passwords are hashed and checked (tests pass cheap ones). */
export interface PasswordHasher {
  hash(password: string): Promise<PasswordRecord>;
  verify(password: string, record: PasswordRecord): Promise<boolean>;
}

/** What the handshake needs. */
export interface HandshakeOptions {
  registry: RoomRegistry;
  /** Where registry output for members goes (a join's event, a revoked member's departure). */
  send: (outgoing: Outgoing[]) => void;
  /** The success answer: this server's datagram port and timings. */
  accepted: JoinAccepted;
  /** Connections open at once, per address and in all. */
  gate: ConnectionGate;
  /** Requests per address. */
  requestLimiter: KeyedRateLimiter;
  /** Password derivations a few at a time. */
  hashQueue: HashQueue;
  /** Wrong passwords per (room, address) and per room: past them, 429 before hashing. */
  passwordFailures: PasswordFailures;
  /** Bytes of room lists per address: past it, 429. */
  listBudget: KeyedBudget;
  /** Where bad requests and limits hit are counted. */
  report: AbuseReporter;
  log: Logger;
  /** Default: scrypt (password.ts). */
  passwords?: PasswordHasher;
  /** Plain requests (operations 1-3) are served, or refused with 400 (`serve --allow-plaintext`). */
  allowPlaintext: boolean;
  /**
   * Opens the datagram session of a member admitted by a sealed request;
   * needed for those. With byId and replace too (the server's
   * SealedSessions), a sealed JOIN with a resume ticket can take over.
   */
  sessions?: HandshakeSessions;
}

/** The refusal of a plain request by a server that takes sealed sessions only. */
export const PLAINTEXT_REFUSAL =
  "this server takes sealed sessions only; use a client that seals its connection " +
  "(a plain-text client needs a server started with --allow-plaintext)";

/** One request's circumstances. */
export interface Exchange {
  /** Who asked: limits count `addressKey`, a token is bound to `address`. */
  peer: Peer;
  /** Fires when the exchange is abandoned (the peer left, the deadline passed, shutdown). */
  signal: AbortSignal;
  /** Monotonic milliseconds by which the answer must be ready; waiting for a hash slot ends there. */
  deadline: number;
  /**
   * The request came over a sealed handshake: its rate was charged already
   * ({@linkcode Handshake.chargeRequest}), it creates or joins sealed rooms
   * only, and an admission carries a sealed session.
   */
  sealed?: boolean;
}

/** What to answer. */
export type HandshakeOutcome =
  | { kind: "refused"; refusal: Refusal }
  | { kind: "rooms"; rooms: RoomSummary[]; next: string | null }
  | {
    kind: "admitted";
    accepted: JoinAccepted;
    token: Uint8Array;
    /** The room's host and whether it asks for a password (a sealed answer tells them). */
    room: AdmittedRoom;
    /** A sealed request's datagram session; absent for a plain one. */
    session?: IssuedSession;
  };

/** A connection's place in the gate; close it when the connection ends. */
export interface HandshakeSlot {
  /** The whole request is in: the connection no longer counts against its address. */
  requestRead(): void;
  close(): void;
}

/** The outcome of {@linkcode Handshake.open}. */
export type Admission =
  | { ok: true; slot: HandshakeSlot }
  | { ok: false; why: GateRefusal; refusal: Refusal };

const defaultPasswords: PasswordHasher = { hash: hashPassword, verify: verifyPassword };

/** Decides handshakes for every transport. */
export class Handshake {
  #options: HandshakeOptions;
  #passwords: PasswordHasher;
  #creating = new NameIndex<string>(); // names of rooms being created, by confusable key
  #verified = new VerifiedPasswords();

  /** A handshake service over a registry. */
  constructor(options: HandshakeOptions) {
    this.#options = options;
    this.#passwords = options.passwords ?? defaultPasswords;
  }

  /**
   * Lets a new connection from `peer` in, or says why not (too many still
   * reading from its address: 429; too many in all, none of them still
   * reading: 503). A connection let in holds its slot until `slot.close()`;
   * when the gate is full, the oldest connection still reading its request
   * is evicted for a new one: its `evict` is called (it should close it).
   */
  open(peer: Peer, evict: () => void = () => {}): Admission {
    const { gate, report } = this.#options;
    const ticket = gate.open(peer.addressKey, () => {
      report("handshake-evicted", peer.addressKey, "closed unfinished to admit a newer connection");
      evict();
    });
    if (typeof ticket !== "string") {
      return {
        ok: true,
        slot: { requestRead: () => gate.requestRead(ticket), close: () => gate.close(ticket) },
      };
    }
    const why = ticket;
    const refusal: Refusal = why === "per-ip"
      ? { status: 429, error: "too many connections open from your address; finish one first" }
      : { status: 503, error: "the server has too many connections open; try again soon" };
    report(
      why === "per-ip" ? "handshake-limit" : "connection-limit",
      peer.addressKey,
      refusal.error,
    );
    return { ok: false, why, refusal };
  }

  /**
   * Answers one decoded request. Rejects with the signal's reason when the
   * exchange is cancelled before anything was committed.
   */
  async answer(request: TcrpRequest, exchange: Exchange): Promise<HandshakeOutcome> {
    const { report } = this.#options;
    const key = exchange.peer.addressKey;
    const early = this.#early(exchange.peer, exchange.sealed ?? false);
    if (early !== null) return early;
    if (request.operation === Operation.LIST_ROOMS) return this.#list(request, key);
    let roomName: string;
    let username: string;
    try {
      roomName = validateRoomName(request.roomName);
      username = validateUsername(request.username);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      report("bad-request", key, error.message);
      return refused(error.status, error.message);
    }
    const named = { ...request, roomName, username };
    try {
      const result = request.operation === Operation.CREATE_ROOM
        ? await this.#create(named, exchange)
        : await this.#join(named, exchange);
      return this.#outcome(result, roomName, exchange);
    } catch (error) {
      if (!(error instanceof HashQueueBusy)) throw error;
      this.#options.log.debug(`handshake ${exchange.peer.address}: ${error.message}`);
      return refused(503, "the server is busy checking passwords; try again in a moment");
    }
  }

  /**
   * The answer to a request that did not decode: like any request it counts
   * against its address's rate (429 past it), else the decoder's 400 or 413.
   */
  refuseMalformed(peer: Peer, error: ProtocolError, sealed = false): HandshakeOutcome {
    const early = this.#early(peer, sealed);
    if (early !== null) return early;
    this.#options.report("bad-request", peer.addressKey, error.message);
    return refused(error.status, error.message);
  }

  /**
   * A page of the room list, charged to the address's byte budget: an empty
   * 32-byte request must not buy half a megabyte of answer without limit.
   */
  #list(request: ListRequest, key: string): HandshakeOutcome {
    const { listBudget, registry, report } = this.#options;
    if (!listBudget.allows(key)) {
      report("list-budget", key, "room list refused with 429");
      return refused(429, "too many room lists from your address; wait a moment");
    }
    const page = pageOfRooms(registry.listKeyedRooms(), request);
    listBudget.charge(key, pageBytes(page));
    return { kind: "rooms", ...page };
  }

  /**
   * Charges a sealed request to its address's request rate, before any key
   * work is spent on it: the 429 to send as a plain refusal, or null. Its
   * sealed request is then answered with `exchange.sealed` set, which does
   * not charge it again.
   */
  chargeRequest(peer: Peer): Refusal | null {
    const overRate = this.#overRate(peer.addressKey);
    return overRate?.kind === "refused" ? overRate.refusal : null;
  }

  /** The rate (plain requests only: a sealed one paid at its first frame), then the mode. */
  #early(peer: Peer, sealed: boolean): HandshakeOutcome | null {
    if (sealed) return null;
    const overRate = this.#overRate(peer.addressKey);
    if (overRate !== null) return overRate;
    if (this.#options.allowPlaintext) return null;
    // Not abuse: an older client or a tool; a debug line, not the abuse log.
    this.#options.log.debug(`handshake ${peer.address}: plain request refused (sealed only)`);
    return refused(400, PLAINTEXT_REFUSAL);
  }

  #overRate(key: string): HandshakeOutcome | null {
    if (this.#options.requestLimiter.take(key)) return null;
    this.#options.report("request-rate", key, "TCRP request refused with 429");
    return refused(429, "too many requests from your address; wait a moment");
  }

  /**
   * Undoes the membership behind a token that could not be delivered, at
   * once (a room it created closes), rather than when its HELLO timeout ends.
   */
  revoke(token: Uint8Array): void {
    this.#options.send(this.#options.registry.revoke(token));
  }

  async #create(request: RoomRequest, exchange: Exchange): Promise<Joined> {
    const { registry } = this.#options;
    const base = {
      roomName: request.roomName,
      username: request.username,
      capacity: request.capacity,
      peer: exchange.peer,
      protocol: request.protocol,
      sealed: exchange.sealed ?? false,
    };
    // Everything that can be refused without the password is refused before
    // hashing it; while it is hashed, the name is held, invisibly to LIST and JOIN.
    const early = registry.refuseCreate(base);
    const keys = nameKeys(request.roomName);
    const held = this.#creating.find(keys);
    // A name held by a CREATE still hashing is in use: 409, before 429 and 503.
    if ((early === null || early.status > 409) && held !== undefined) {
      return { ok: false, status: 409, error: roomNameTaken(request.roomName, held) };
    }
    if (early !== null) {
      return registry.create({ ...base, password: null }); // refuses the same way, and reports it
    }
    if (request.password === null) return registry.create({ ...base, password: null });
    this.#creating.add(keys, request.roomName);
    let password: PasswordRecord;
    try {
      password = await this.#hash(() => this.#passwords.hash(request.password!), exchange);
    } finally {
      this.#creating.remove(keys, request.roomName);
    }
    exchange.signal.throwIfAborted();
    return registry.create({ ...base, password });
  }

  /**
   * Before hashing: 429 (too many wrong passwords, too many members from the
   * address), 404, 403, 503; after: 401, 409, and the room's and server's
   * limits again (registry.join), since the room may have filled meanwhile.
   *
   * A JOIN whose resume ticket holds (docs/protocol.md 7.4) takes its member
   * over instead, after the same password check: no room or server limit
   * applies (it adds nobody), only the address's (when it moves there).
   */
  async #join(request: RoomRequest, exchange: Exchange): Promise<Joined> {
    const { registry, passwordFailures, report } = this.#options;
    const address = exchange.peer.addressKey;
    const room = canonicalKey(request.roomName); // the wrong-password limits are per room
    const record = registry.passwordOf(request.roomName);
    const guessing = request.password !== null && record
      ? passwordFailures.refusal(room, address)
      : null;
    if (guessing !== null) {
      report("password-guesses", address, `room "${request.roomName}" (${guessing} limit)`);
      return {
        ok: false,
        status: 429,
        error: guessing === "address"
          ? "too many wrong passwords for this room from your address; wait a moment"
          : "too many wrong passwords for this room; wait a moment",
      };
    }
    const held = this.#ticketHolder(request, exchange);
    const refuseJoin = () =>
      registry.refuseJoin({
        roomName: request.roomName,
        peer: exchange.peer,
        sealed: exchange.sealed ?? false,
      });
    if (held === null) {
      const early = refuseJoin();
      if (early !== null) return early;
    }
    const passwordProof = record && request.password !== null
      ? await this.#checkPassword(request.password, record, room, exchange)
      : null;
    if (held !== null) {
      // The session may have ended or been taken over while the password was checked.
      if (stillHeld(this.#options.sessions, registry, held, request)) {
        const protocol = request.protocol;
        const result = registry.takeOver(held.token, exchange.peer, { passwordProof, protocol });
        // Replaced at once, in the same turn as the check: a second request with the
        // same ticket, checked meanwhile, must find the old session gone.
        return result.ok
          ? { ...result, issued: this.#replace(held, result.token, request) }
          : result;
      }
      const early = refuseJoin();
      if (early !== null) return early;
    }
    return registry.join({
      roomName: request.roomName,
      username: request.username,
      passwordProof,
      peer: exchange.peer,
      protocol: request.protocol,
      sealed: exchange.sealed ?? false,
    });
  }

  /**
   * The record when `password` is the room's, else null (and the failure
   * counted); a password verified before for this room needs no derivation,
   * not even when this request queued before that check ended
   * (verified_passwords.ts). It is remembered as soon as it is verified,
   * before the next job starts.
   */
  async #checkPassword(
    password: string,
    record: PasswordRecord,
    room: string,
    exchange: Exchange,
  ): Promise<PasswordRecord | null> {
    const verified = this.#verified;
    const matches = verified.matches(record, password) ||
      await this.#hash(async () => {
        if (verified.matches(record, password)) return true;
        const right = await this.#passwords.verify(password, record);
        if (right) verified.remember(record, password);
        return right;
      }, exchange);
    // A check that ran for an abandoned exchange commits nothing, not even a failure.
    exchange.signal.throwIfAborted();
    if (matches) return record;
    this.#options.passwordFailures.recordFailure(room, exchange.peer.addressKey);
    return null;
  }

  /** The new session of a member taken over; on failure the member is revoked, as in #outcome. */
  #replace(old: SealedSession, token: Uint8Array, request: RoomRequest): IssuedSession {
    try {
      const sessions = this.#options.sessions;
      if (!takesOver(sessions)) throw new Error("a takeover needs a session table that replaces");
      return sessions.replace(old, request.roomName);
    } catch (error) {
      this.revoke(token);
      throw error;
    }
  }

  /**
   * The session a sealed JOIN's resume ticket takes over, or null: no
   * ticket, or one that does not hold (reported; the request joins as usual).
   */
  #ticketHolder(request: RoomRequest, exchange: Exchange): SealedSession | null {
    if (request.resume === undefined || !exchange.sealed) return null;
    const held = ticketHolder(this.#options.sessions, this.#options.registry, request);
    if (typeof held !== "string") return held;
    this.#options.report("bad-resume", exchange.peer.addressKey, held);
    return null;
  }

  #hash<T>(job: () => Promise<T>, exchange: Exchange): Promise<T> {
    return this.#options.hashQueue.run(job, {
      signal: exchange.signal,
      deadline: exchange.deadline,
      key: exchange.peer.addressKey,
    });
  }

  #outcome(result: Joined, roomName: string, exchange: Exchange): HandshakeOutcome {
    if (!result.ok) {
      this.#options.log.debug(
        `handshake ${exchange.peer.address}: refused ${result.status} ${result.error}`,
      );
      return refused(result.status, result.error);
    }
    let session: IssuedSession | undefined;
    if (exchange.sealed) {
      try {
        const sessions = this.#options.sessions;
        if (sessions === undefined) throw new Error("a sealed admission needs a session issuer");
        session = result.issued ?? sessions.issue(result.token, roomName);
      } catch (error) {
        this.#options.send(result.outgoing);
        this.revoke(result.token);
        throw error;
      }
    }
    this.#options.send(result.outgoing);
    const { accepted } = this.#options;
    return session === undefined
      ? { kind: "admitted", accepted, token: result.token, room: result.room }
      : { kind: "admitted", accepted, token: result.token, room: result.room, session };
  }
}

/** A join's result; a takeover's carries its new session already. */
type Joined = JoinResult & { issued?: IssuedSession };

function refused(status: Refusal["status"], error: string): HandshakeOutcome {
  return { kind: "refused", refusal: { status, error } };
}
