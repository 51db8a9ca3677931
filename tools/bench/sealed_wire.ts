/**
 * The sealed target (docs/protocol.md section 6): each generator member joins
 * through the real sealed TCRP exchange (requestSealedMembership, trusting
 * whatever key the server proves: it is the bench's own server), then sends
 * MESSAGE, HELLO and HEARTBEAT sealed on its member channel (its clientKey, a
 * fresh counter per datagram).
 *
 * Receiving must not make the generator the bottleneck: opening and
 * verifying every delivery (250,000 a second) would take more than its core.
 * A room datagram's header (epoch, counter) is in clear and is the AEAD's
 * associated data, and the server sends the same bytes to every member. So,
 * per room and generator process:
 *
 * - the first copy of each counter that arrives (at any member) is opened
 *   under the epoch key (which authenticates its clear header too), its stamp
 *   read from the EVENT inside, and kept under its counter with the copy's
 *   length and last 4 signature bytes; 1 in {@linkcode VERIFY_EVERY} of these
 *   also has its Ed25519 signature verified with the server's signing key;
 * - every other copy is matched by its clear counter only, and must have the
 *   same length and the same last 4 signature bytes as the opened one;
 * - a copy that fails any of these is counted as rejected, never as a
 *   delivery. Latency is each copy's own arrival time against the stamp.
 *
 * Member datagrams: the 43-byte ones (a sealed ACK's size) are not opened
 * (the senders get one per MESSAGE and answer nothing); every other one is
 * opened under the member's serverKey (WELCOME and KEY bring epoch keys).
 *
 * @module
 */
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import { ClientKind } from "../../protocol/datagram.ts";
import {
  decodeSealedServerInner,
  encodeSealedClientBody,
  MEMBER_OVERHEAD_BYTES,
  openMemberDatagram,
  openRoomDatagram,
  SEALED_MARKER,
  SealedType,
  sealMemberDatagram,
  verifyRoomDatagram,
} from "../../protocol/sealed_datagram.ts";
import type { SealedSessionParams } from "../../protocol/sealed_types.ts";
import { Operation } from "../../protocol/tcrp.ts";
import { ChatTransportError } from "../../client/errors.ts";
import { requestSealedMembership } from "../../client/tcrp_client.ts";
import { type OwnedMember, roomName } from "./layout.ts";
import { readEventStamp, type Stamp } from "./stamp.ts";
import type { MemberWire, ReceiverChecks, Target } from "./target.ts";

/** One opened room datagram in this many also has its signature verified. */
export const VERIFY_EVERY = 16;
/** A sealed ACK (kind, msgId, seq: 9 bytes) on the member channel: counted, not opened. */
export const SEALED_ACK_BYTES = 9 + MEMBER_OVERHEAD_BYTES;

const ROOM_EPOCH_AT = 2;
const ROOM_COUNTER_AT = 6;

/** What the first opened copy of a counter said, for the copies after it. */
interface Opened {
  kind: "stamp" | "event";
  step: number;
  sender: number;
  seq: number;
  sentMicros: number;
  eventSeq: number;
  length: number;
  /** The signature's last 4 bytes. */
  tail: number;
}

function tailOf(bytes: Uint8Array): number {
  const n = bytes.length;
  return ((bytes[n - 4]! << 24) | (bytes[n - 3]! << 16) | (bytes[n - 2]! << 8) | bytes[n - 1]!) >>>
    0;
}

/** One room's receiving side in one generator process. */
export class SealedRoomReceiver {
  #signingKey: Uint8Array;
  #epochKeys = new Map<number, Uint8Array>();
  #opened = new Map<number, Opened>();
  #checks: ReceiverChecks;

  /** A room whose datagrams are signed with `signingKey`; `checks` is shared by the process. */
  constructor(signingKey: Uint8Array, checks: ReceiverChecks) {
    this.#signingKey = signingKey;
    this.#checks = checks;
  }

  /** An epoch key from WELCOME or KEY. */
  addEpochKey(epoch: number, key: Uint8Array): void {
    this.#epochKeys.set(epoch, key);
  }

  /** Forgets the opened counters (a new step: their copies are late now, and opened again). */
  clear(): void {
    this.#opened.clear();
  }

  /**
   * Reads a room datagram as readEventStamp reads a plain EVENT: "stamp"
   * (and `out` filled), "event" (another event), or null (not a room
   * datagram, or rejected and counted).
   */
  read(bytes: Uint8Array, out: Stamp): "stamp" | "event" | null {
    if (bytes.length < 15 + 94 || bytes[0] !== SEALED_MARKER || bytes[1] !== SealedType.ROOM) {
      return null;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const counter = view.getUint32(ROOM_COUNTER_AT) * 2 ** 32 + view.getUint32(ROOM_COUNTER_AT + 4);
    let opened = this.#opened.get(counter);
    if (opened === undefined) {
      const o = this.#open(bytes, view.getUint32(ROOM_EPOCH_AT), out);
      if (o === null) return null;
      this.#opened.set(counter, opened = o);
    } else {
      if (opened.length !== bytes.length || opened.tail !== tailOf(bytes)) {
        this.#checks.rejected++;
        return null;
      }
      this.#checks.matched++;
    }
    out.eventSeq = opened.eventSeq;
    out.step = opened.step;
    out.sender = opened.sender;
    out.seq = opened.seq;
    out.sentMicros = opened.sentMicros;
    return opened.kind;
  }

  #open(bytes: Uint8Array, epoch: number, out: Stamp): Opened | null {
    const key = this.#epochKeys.get(epoch);
    const inner = key === undefined ? null : openRoomDatagram(nodeCrypto, key, bytes);
    if (inner === null) {
      this.#checks.rejected++;
      return null;
    }
    this.#checks.opened++;
    if (this.#checks.opened % VERIFY_EVERY === 0) {
      if (verifyRoomDatagram(nodeCrypto, this.#signingKey, bytes) !== true) {
        this.#checks.rejected++;
        return null;
      }
      this.#checks.verified++;
    }
    const kind = readEventStamp(inner, out);
    if (kind === null) {
      this.#checks.rejected++; // a room datagram that is not an EVENT
      return null;
    }
    return {
      kind,
      step: out.step,
      sender: out.sender,
      seq: out.seq,
      sentMicros: out.sentMicros,
      eventSeq: out.eventSeq,
      length: bytes.length,
      tail: tailOf(bytes),
    };
  }
}

/** Sealed joins are retried on these refusals (limits, or a room its host has not made yet). */
export function retryable(error: unknown, member: number): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { status?: number }).status;
  if (error instanceof ChatTransportError) {
    return status === undefined || status === 429 || status === 503;
  }
  return status === 429 || status === 503 || (status === 404 && member !== 0);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The sealed target: its rooms' receivers and the checks they count. */
export interface SealedTarget extends Target {
  /** Every receiver's checks, added up (reset by the generator each step). */
  readonly checks: ReceiverChecks;
}

/**
 * The receivers of one generator process, one per room, and their checks:
 * shared by the UDP and WebSocket members of a mixed room (ws_wire.ts), who
 * get the same sealed room datagrams.
 */
export class SealedRooms {
  readonly checks: ReceiverChecks = { opened: 0, verified: 0, matched: 0, rejected: 0 };
  #rooms = new Map<number, SealedRoomReceiver>();

  /** Room `room`'s receiver, made with `signingKey` at its first member. */
  receiver(room: number, signingKey: Uint8Array): SealedRoomReceiver {
    let receiver = this.#rooms.get(room);
    if (receiver === undefined) {
      receiver = new SealedRoomReceiver(signingKey, this.checks);
      this.#rooms.set(room, receiver);
    }
    return receiver;
  }

  /** A new step: every receiver forgets what it opened, the checks start from 0. */
  startStep(): void {
    for (const room of this.#rooms.values()) room.clear();
    const checks = this.checks;
    checks.opened =
      checks.verified =
      checks.matched =
      checks.rejected =
        0;
  }
}

/** The real server, sealed: sealed TCRP on `hostname:port` (`rooms`: shared receivers). */
export function sealedTarget(
  hostname: string,
  port: number,
  rooms: SealedRooms = new SealedRooms(),
): SealedTarget {
  return {
    checks: rooms.checks,
    startStep: () => rooms.startStep(),
    async join(owned: OwnedMember): Promise<MemberWire> {
      const room = roomName(owned.room);
      const operation = owned.member === 0 ? Operation.CREATE_ROOM : Operation.JOIN_ROOM;
      for (let attempt = 0;; attempt++) {
        try {
          const answer = await requestSealedMembership(
            { hostname, port },
            {
              operation,
              roomName: room,
              username: `m${owned.member}`,
              password: null,
              capacity: null,
            },
            { crypto: nodeCrypto, checkServerKey: () => {}, timeoutMs: 10_000 },
          );
          return sealedWire(
            answer.session,
            { hostname, port: answer.accepted.udpPort },
            answer.accepted.heartbeatSeconds * 1000,
            rooms.receiver(owned.room, answer.session.signingKey),
          );
        } catch (error) {
          if (!retryable(error, owned.member) || attempt >= 200) {
            throw new Error(
              `sealed ${
                operation === Operation.CREATE_ROOM ? "create" : "join"
              } ${room} as m${owned.member}: ${error}`,
            );
          }
          await sleep(50);
        }
      }
    },
  };
}

/** A sealed member's datagrams (`to` is unused over a WebSocket). */
export function sealedWire(
  session: SealedSessionParams,
  to: { hostname: string; port: number },
  heartbeatMs: number,
  receiver: SealedRoomReceiver,
): MemberWire {
  let counter = 0;
  const seal = (inner: Uint8Array) =>
    sealMemberDatagram(nodeCrypto, {
      key: session.clientKey,
      sessionId: session.sessionId,
      counter: counter++,
      inner,
    });
  return {
    to,
    hello: () => seal(encodeSealedClientBody({ kind: "hello", lastSeq: 0 })),
    readStamp: (bytes, out) => receiver.read(bytes, out),
    isWelcome(bytes) {
      if (bytes.length === SEALED_ACK_BYTES || bytes[1] !== SealedType.MEMBER) return false;
      const inner = openMemberDatagram(nodeCrypto, session.serverKey, bytes);
      if (inner === null) return false;
      const control = decodeSealedServerInner(inner);
      if (control.kind === "welcome" || control.kind === "key") {
        receiver.addEpochKey(control.epoch, control.epochKey);
      }
      return control.kind === "welcome";
    },
    message(msgId, text) {
      const inner = new Uint8Array(5 + text.length);
      inner[0] = ClientKind.MESSAGE;
      new DataView(inner.buffer).setUint32(1, msgId);
      inner.set(text, 5);
      return seal(inner);
    },
    heartbeat: (lastSeq) => seal(encodeSealedClientBody({ kind: "heartbeat", lastSeq })),
    heartbeatMs,
  };
}
