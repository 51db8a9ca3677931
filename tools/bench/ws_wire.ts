/**
 * The WebSocket targets (docs/protocol.md section 7): a bench member opens a
 * WebSocket to `/ws` (Deno's built-in client, ws_socket.ts), runs the real
 * sealed TCRP exchange over it (client/sealed_exchange.ts, one frame per
 * message), then sends and receives one sealed datagram per message on the
 * same socket, sealed and opened as sealed_wire.ts does over UDP (the same
 * receivers and checks: a room datagram is the same bytes on both
 * transports). Also: the mixed room (even members on WebSocket, odd ones on
 * sealed UDP, one set of receivers), a stalled reader (a member behind a
 * proxy that stops reading, ws_stall_proxy.ts), what a page does when its
 * socket closes (resume, or a fresh join after a stateless reset), and the
 * trivial WebSocket relay's target.
 *
 * @module
 */
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import { sealedRoomExchange } from "../../client/sealed_exchange.ts";
import {
  peekSealedHeader,
  RESET_DATAGRAM_BYTES,
  sameBytes,
  SEALED_MARKER,
  SealedType,
} from "../../protocol/sealed_datagram.ts";
import type { SealedSessionParams } from "../../protocol/sealed_types.ts";
import { Operation } from "../../protocol/tcrp.ts";
import { type OwnedMember, roomName } from "./layout.ts";
import {
  retryable,
  SealedRooms,
  type SealedTarget,
  sealedTarget,
  sealedWire,
} from "./sealed_wire.ts";
import { type MemberWire, type Reconnected, relayTarget, type Target } from "./target.ts";
import { StallProxy } from "./ws_stall_proxy.ts";
import { WsBenchSocket } from "./ws_socket.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** client/session_options.ts rejoinRetryMs and client/rejoin.ts's longest wait. */
const REJOIN_RETRY_MS = 250;
const REJOIN_MAX_WAIT_MS = 2_000;

/** Where a WebSocket target is: `ws://hostname:port/ws`. */
export interface WsAddress {
  hostname: string;
  port: number;
}

/** The URL of `/ws` at `address`. */
export function wsUrl(address: WsAddress, path = "/ws"): string {
  return `ws://${address.hostname}:${address.port}${path}`;
}

/** Whether `bytes` is a stateless reset for `session` (its token, compared in constant time). */
export function isResetFor(bytes: Uint8Array, session: SealedSessionParams): boolean {
  if (
    bytes.length !== RESET_DATAGRAM_BYTES || bytes[0] !== SEALED_MARKER ||
    bytes[1] !== SealedType.RESET
  ) {
    return false;
  }
  try {
    const header = peekSealedHeader(bytes);
    return header.type === "reset" && sameBytes(header.sessionId, session.sessionId) &&
      sameBytes(header.token, session.resetToken);
  } catch {
    return false;
  }
}

/** Options of the sealed WebSocket target. */
export interface WsTargetOptions {
  /** Receivers shared with UDP members of the same rooms (the mixed layout). */
  rooms?: SealedRooms;
  /** Members that connect through a proxy that will stop reading (stalled readers). */
  stalled?: (owned: OwnedMember) => boolean;
}

/** A WebSocket target: its members' stalled-reader proxies go with it. */
export interface WsTarget extends SealedTarget {
  /** Joins after a stateless reset that were retried, by refusal status (or socket refused). */
  readonly rejoinRetries: Record<string, number>;
  /** Stops the stalled readers' proxies. */
  close(): Promise<void>;
}

/** The real server over WebSocket: sealed TCRP, then sealed datagrams, on `/ws` at `address`. */
export function wsSealedTarget(address: WsAddress, options: WsTargetOptions = {}): WsTarget {
  const rooms = options.rooms ?? new SealedRooms();
  const sessions = new WeakMap<MemberWire, SealedSessionParams>();
  const proxies: StallProxy[] = [];
  const retried: Record<string, number> = {};

  /**
   * Joins; refusals that say "later" (limits, a room not made yet) and
   * sockets that do not open are retried: every 50 ms while the bench sets
   * up (`rejoin` false), or as client/rejoin.ts does after a stateless reset
   * (250 ms, doubling to 2 s).
   */
  async function join(owned: OwnedMember, rejoin = false): Promise<MemberWire> {
    let wait = rejoin ? REJOIN_RETRY_MS : 50;
    const room = roomName(owned.room);
    const operation = owned.member === 0 ? Operation.CREATE_ROOM : Operation.JOIN_ROOM;
    const stalls = options.stalled?.(owned) === true;
    for (let attempt = 0;; attempt++) {
      let socket: WsBenchSocket | null = null;
      let proxy: StallProxy | null = null;
      if (stalls) proxies.push(proxy = new StallProxy(address));
      try {
        socket = await WsBenchSocket.open(
          wsUrl(proxy === null ? address : { hostname: "127.0.0.1", port: proxy.port }),
        );
        const answer = await sealedRoomExchange(
          socket.frameStream(),
          {
            operation,
            roomName: room,
            username: `m${owned.member}`,
            password: null,
            capacity: null,
          },
          // The bench's own server: whatever key it proves is trusted.
          { crypto: nodeCrypto, checkServerKey: () => {} },
        );
        const wire = sealedWire(
          answer.session,
          address,
          answer.accepted.heartbeatSeconds * 1000,
          rooms.receiver(owned.room, answer.session.signingKey),
        );
        wire.socket = socket;
        if (proxy !== null) wire.stall = () => proxy.stall();
        sessions.set(wire, answer.session);
        return wire;
      } catch (error) {
        socket?.close();
        const refusedOnOpen = error instanceof Error && /WebSocket .*(closed|not open)/.test(
          error.message,
        );
        if (rejoin) {
          const status = (error as { status?: number }).status;
          const kind = refusedOnOpen ? "socket refused" : `${status ?? "transport error"}`;
          retried[kind] = (retried[kind] ?? 0) + 1;
        }
        if ((!refusedOnOpen && !retryable(error, owned.member)) || attempt >= 400) {
          throw new Error(
            `WebSocket ${operation === Operation.CREATE_ROOM ? "create" : "join"} ${room} as ` +
              `m${owned.member}: ${error}`,
          );
        }
        await sleep(wait);
        if (rejoin) wait = Math.min(wait * 2, REJOIN_MAX_WAIT_MS);
      }
    }
  }

  return {
    checks: rooms.checks,
    rejoinRetries: retried,
    startStep: () => rooms.startStep(),
    join,
    /**
     * As the page: a new socket whose first message is a sealed HELLO of the
     * old session (a resume, ws.md 5.). A stateless reset for that session
     * means the server forgot it (a restart): join again with a fresh
     * handshake. Any other first message: resumed (it goes to the member).
     */
    async reconnect(owned: OwnedMember, wire: MemberWire): Promise<Reconnected> {
      const session = sessions.get(wire);
      if (session === undefined) throw new Error("not a WebSocket member of this target");
      const socket = await WsBenchSocket.open(wsUrl(address));
      socket.send(wire.hello());
      const first = await socket.nextMessage(10_000);
      if (first !== null && isResetFor(first, session)) {
        socket.close();
        return { wire: await join(owned, true), how: "rejoined" };
      }
      if (first === null) {
        socket.close();
        const info = socket.closedInfo;
        throw new Error(`resume: ${info ? `closed ${info.code} ${info.reason}` : "no answer"}`);
      }
      socket.unshift(first);
      const resumed: MemberWire = { ...wire, socket };
      sessions.set(resumed, session);
      return { wire: resumed, how: "resumed" };
    },
    async close() {
      await Promise.all(proxies.map((p) => p.close()));
    },
  };
}

/**
 * A mixed room: even members (the host and sender m0 among them) on
 * WebSocket, odd ones on sealed UDP, all read by one set of receivers.
 */
export function mixedTarget(
  udp: { hostname: string; port: number },
  ws: WsAddress,
): WsTarget {
  const rooms = new SealedRooms();
  const overUdp = sealedTarget(udp.hostname, udp.port, rooms);
  const overWs = wsSealedTarget(ws, { rooms });
  return {
    ...overWs,
    join: (owned) => owned.member % 2 === 0 ? overWs.join(owned) : overUdp.join(owned),
  };
}

/**
 * The trivial WebSocket relay (ws_relay.ts), spoken to as the UDP relay is
 * (target.ts relayTarget: REGISTER, RELAY, the same EVENT bytes), one
 * message per datagram on the member's own socket.
 */
export function wsRelayTarget(address: WsAddress): Target {
  const udpShaped = relayTarget(address.hostname, address.port);
  return {
    async join(owned: OwnedMember): Promise<MemberWire> {
      const wire = await udpShaped.join(owned);
      wire.socket = await WsBenchSocket.open(wsUrl(address));
      return wire;
    },
  };
}

/** A target of any kind whose `close` may exist. */
export function closeTarget(target: Target): Promise<void> {
  return (target as Partial<WsTarget>).close?.() ?? Promise.resolve();
}
