/**
 * How a generator's member gets into a room and what its datagrams look
 * like, for the things it can load: the real chat server in plain text (TCRP
 * handshake, then chat datagrams), the same server sealed (sealed_wire.ts),
 * and the trivial relay (a made-up three-byte header in front of a
 * ready-made EVENT, so receivers read both the same way).
 */
import { ClientKind, encodeClientDatagram, ServerKind } from "../../protocol/datagram.ts";
import { encodeUtf8 } from "../../protocol/bytes.ts";
import { roomRequest } from "../../testing/raw_client.ts";
import { type OwnedMember, roomName } from "./layout.ts";
import { readEventStamp, type Stamp } from "./stamp.ts";
import type { HostPort } from "../../protocol/host_port.ts";
import type { BenchSocket } from "./socket.ts";

/** One member's datagrams. */
export interface MemberWire {
  /** Where its datagrams go. */
  to: HostPort;
  /** The datagram that registers its endpoint (HELLO); sealed, each one has a fresh counter. */
  hello(): Uint8Array;
  /**
   * Reads a received datagram as an EVENT: "stamp" with `out` filled (a
   * bench message), "event" (another event), null (not an EVENT: see
   * {@linkcode isWelcome}).
   */
  readStamp(bytes: Uint8Array, out: Stamp): "stamp" | "event" | null;
  /** Whether a received datagram that is no EVENT answers the hello (WELCOME). */
  isWelcome(bytes: Uint8Array): boolean;
  /** A MESSAGE with this id and text. */
  message(msgId: number, text: Uint8Array): Uint8Array;
  /** A HEARTBEAT, or null where the target needs none. */
  heartbeat(lastSeq: number): Uint8Array | null;
  /** Heartbeat period the server asked for, ms (0: none). */
  heartbeatMs: number;
  /**
   * The member's own socket, made by the join (a WebSocket carries the
   * handshake and then the datagrams); absent: the generator opens a UDP socket.
   */
  socket?: BenchSocket;
  /** A stalled reader's: stops reading what the server sends (ws_stall_proxy.ts). */
  stall?(): void;
}

/** What a sealed target's receivers checked in a step (sealed_wire.ts); zeros for plain ones. */
export interface ReceiverChecks {
  /** Room datagrams opened (the first copy of each counter a generator process got). */
  opened: number;
  /** Of those, signatures verified (1 in VERIFY_EVERY). */
  verified: number;
  /** Other copies matched to an opened one by counter, length and signature tail. */
  matched: number;
  /** Copies that did not open, verify or match: never counted as deliveries. */
  rejected: number;
}

/** Something that makes member wires. */
export interface Target {
  join(owned: OwnedMember): Promise<MemberWire>;
  /** A new step begins (the sealed target forgets what it opened). */
  startStep?(): void;
  /** The sealed target's checks since the step began. */
  readonly checks?: ReceiverChecks;
  /**
   * A member whose socket closed comes back as a page does (ws_wire.ts):
   * resumes its session on a new socket, or, told by a stateless reset that
   * the session is gone, joins again. Rejects when this attempt failed.
   */
  reconnect?(owned: OwnedMember, wire: MemberWire): Promise<Reconnected>;
}

/** How a member came back, with its wire (a fresh join's is new). */
export interface Reconnected {
  wire: MemberWire;
  how: "resumed" | "rejoined";
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The real server: TCRP on `hostname:port`. Refusals 429/503 (limits) are retried. */
export function chatTarget(hostname: string, port: number): Target {
  return {
    async join(owned: OwnedMember): Promise<MemberWire> {
      const room = roomName(owned.room);
      const op = owned.member === 0 ? "create" : "join";
      for (let attempt = 0;; attempt++) {
        const answer = await roomRequest(
          { transport: "tcp", hostname, port },
          op,
          { room, username: `m${owned.member}` },
          { timeoutMs: 10_000 },
        );
        const response = answer.response;
        if (answer.token !== null && "udpPort" in response) {
          return chatWire(room, answer.token, { hostname, port: response.udpPort }, response);
        }
        const retry = response.status === 429 || response.status === 503 ||
          (response.status === 404 && owned.member !== 0);
        if (!retry || attempt >= 200) {
          throw new Error(`${op} ${room} as m${owned.member}: ${JSON.stringify(response)}`);
        }
        await sleep(50);
      }
    },
  };
}

function chatWire(
  room: string,
  token: Uint8Array,
  to: HostPort,
  answer: { heartbeatSeconds: number },
): MemberWire {
  const roomBytes = encodeUtf8(room);
  const prefix = new Uint8Array(2 + roomBytes.length + token.length + 1);
  prefix[0] = roomBytes.length;
  prefix[1] = token.length;
  prefix.set(roomBytes, 2);
  prefix.set(token, 2 + roomBytes.length);
  prefix[prefix.length - 1] = ClientKind.MESSAGE;
  return {
    to,
    hello: () =>
      encodeClientDatagram({ roomName: room, token, body: { kind: "hello", lastSeq: 0 } }),
    readStamp: readEventStamp,
    isWelcome: (bytes) => bytes[0] === ServerKind.WELCOME,
    message(msgId, text) {
      const out = new Uint8Array(prefix.length + 4 + text.length);
      out.set(prefix);
      new DataView(out.buffer).setUint32(prefix.length, msgId);
      out.set(text, prefix.length + 4);
      return out;
    },
    heartbeat: (lastSeq) =>
      encodeClientDatagram({ roomName: room, token, body: { kind: "heartbeat", lastSeq } }),
    heartbeatMs: answer.heartbeatSeconds * 1000,
  };
}

/** Relay datagram kinds (made up). */
export const RelayKind = { REGISTER: 0x01, RELAY: 0x02 } as const;

/**
 * The trivial relay on UDP `hostname:port`: REGISTER [0x01, room u16] is
 * answered [0x01]; RELAY [0x02, room u16, bytes...] sends `bytes` to every
 * endpoint registered for the room. The bytes are an EVENT datagram.
 */
export function relayTarget(hostname: string, port: number): Target {
  return {
    join(owned: OwnedMember): Promise<MemberWire> {
      const hi = owned.room >> 8;
      const lo = owned.room & 0xff;
      let seq = 0;
      return Promise.resolve({
        to: { hostname, port },
        hello: () => new Uint8Array([RelayKind.REGISTER, hi, lo]),
        readStamp: readEventStamp,
        isWelcome: (bytes) => bytes.length === 1 && bytes[0] === RelayKind.REGISTER,
        message(_msgId, text) {
          // RELAY header, then an EVENT: kind, seq, time (0), type 1, empty name, text.
          const out = new Uint8Array(3 + 15 + text.length);
          out[0] = RelayKind.RELAY;
          out[1] = hi;
          out[2] = lo;
          out[3] = ServerKind.EVENT;
          new DataView(out.buffer).setUint32(4, ++seq);
          out[16] = 1;
          out.set(text, 18);
          return out;
        },
        heartbeat: () => null,
        heartbeatMs: 0,
      });
    },
  };
}
