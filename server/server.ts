/**
 * One chat server: the TCRP listener, the UDP socket, the registry between
 * them, and a sweep that applies timeouts. Both sockets share one event loop.
 */
import { MAX_DATAGRAM_BYTES } from "../protocol/datagram.ts";
import { AbuseLog } from "./abuse_log.ts";
import { ConnectionGate } from "./connection_gate.ts";
import {
  type DatagramSocket,
  openDatagramSocket,
  type UdpIo,
  type UdpIoChoice,
} from "./datagram_socket.ts";
import { createLogger, type Logger, type LogLevel } from "./log.ts";
import { KeyedRateLimiter } from "./rate_limit.ts";
import { DEFAULT_REGISTRY_LIMITS, RoomRegistry } from "./registry.ts";
import { TcrpFrontEnd } from "./tcp_front.ts";
import { UdpFrontEnd } from "./udp_front.ts";

/** Everything `chat serve` can be told. */
export interface ServerConfig {
  host: string;
  port: number;
  udpPort: number;
  /**
   * The UDP port clients are told to use, when it is not the bound one (a
   * port forward, or a fault proxy in front of the server); 0 means the bound one.
   */
  advertisedUdpPort: number;
  idleTimeoutSeconds: number;
  heartbeatSeconds: number;
  rateLimit: number;
  maxRooms: number;
  maxMembers: number;
  maxPayloadBytes: number;
  /** TCRP requests a second per source IP (burst 3x); 0 turns it off. */
  requestRateLimit: number;
  /** TCRP connections open at once from one IP address (429 past it). */
  maxHandshakesPerIp: number;
  /** TCRP connections open at once in all (503 past it), so descriptors last. */
  maxHandshakes: number;
  /** A TCRP connection must deliver its whole request within this long. */
  handshakeTimeoutSeconds: number;
  /** Rooms open at once whose host came from one IP address (429 past it). */
  maxRoomsPerIp: number;
  /** Members in one room: the limit for rooms without a capacity, and the largest capacity. */
  maxMembersPerRoom: number;
  /** Event text each room keeps for replay, at 2 bytes a UTF-16 unit. */
  historyBytes: number;
  /**
   * Datagrams a second per IP address that do not authenticate (undecodable,
   * unknown token, token from another address), bursts of 2x; past it they
   * are dropped unanswered. 0 turns it off.
   */
  unauthenticatedRate: number;
  /** Shortest time between two log lines about one kind of abuse from one address. */
  abuseLogIntervalSeconds: number;
  logLevel: LogLevel;
  /**
   * How the UDP socket talks to the kernel: "mmsg" (recvmmsg/sendmmsg through
   * FFI, Linux, IPv4, needs --allow-ffi), "deno" (Deno.listenDatagram), or
   * "auto" (mmsg where it can work, else deno).
   */
  udpIo: UdpIoChoice;
}

/** The defaults the README documents. */
export const DEFAULT_SERVER_CONFIG: ServerConfig = {
  host: "0.0.0.0",
  port: 9001,
  udpPort: 9002,
  advertisedUdpPort: 0,
  idleTimeoutSeconds: DEFAULT_REGISTRY_LIMITS.idleTimeoutMs / 1000,
  heartbeatSeconds: DEFAULT_REGISTRY_LIMITS.heartbeatMs / 1000,
  rateLimit: DEFAULT_REGISTRY_LIMITS.rateLimit,
  maxRooms: DEFAULT_REGISTRY_LIMITS.maxRooms,
  maxMembers: DEFAULT_REGISTRY_LIMITS.maxMembers,
  maxPayloadBytes: 64 * 1024,
  requestRateLimit: 10,
  maxHandshakesPerIp: 8,
  maxHandshakes: 256,
  handshakeTimeoutSeconds: 10,
  maxRoomsPerIp: DEFAULT_REGISTRY_LIMITS.maxRoomsPerIp,
  maxMembersPerRoom: DEFAULT_REGISTRY_LIMITS.maxMembersPerRoom,
  historyBytes: DEFAULT_REGISTRY_LIMITS.historyBytes,
  unauthenticatedRate: 20,
  abuseLogIntervalSeconds: 60,
  logLevel: "info",
  udpIo: "auto",
};

// Large kernel buffers ride out bursts at high rates (the kernel caps them at
// net.core.rmem_max / wmem_max).
const SOCKET_BUFFER_BYTES = 4 << 20;

/** Test seams: time, and where log lines go. */
export interface ServerHooks {
  clock?: () => number;
  log?: Logger;
  helloTimeoutMs?: number;
}

/** A running server. */
export interface ChatServer {
  tcpAddr: Deno.NetAddr;
  udpAddr: Deno.NetAddr;
  /** The UDP implementation "auto" settled on, or the one asked for. */
  udpIo: UdpIo;
  registry: RoomRegistry;
  /** CLOSED 4 to every member, then closes both sockets. Safe to call twice. */
  shutdown(): Promise<void>;
}

/** Binds both sockets and starts serving. */
export function startChatServer(
  config: ServerConfig,
  hooks: ServerHooks = {},
): ChatServer {
  const clock = hooks.clock ?? Date.now;
  const log = hooks.log ?? createLogger(config.logLevel);
  const abuse = new AbuseLog({
    clock,
    write: log.warn,
    intervalMs: config.abuseLogIntervalSeconds * 1000,
  });
  const report = abuse.report.bind(abuse);
  const registry = new RoomRegistry({
    clock,
    maxRooms: config.maxRooms,
    maxMembers: config.maxMembers,
    maxRoomsPerIp: config.maxRoomsPerIp,
    maxMembersPerRoom: config.maxMembersPerRoom,
    onAbuse: report,
    idleTimeoutMs: config.idleTimeoutSeconds * 1000,
    heartbeatMs: config.heartbeatSeconds * 1000,
    helloTimeoutMs: hooks.helloTimeoutMs ?? DEFAULT_REGISTRY_LIMITS.helloTimeoutMs,
    rateLimit: config.rateLimit,
    historyLimit: DEFAULT_REGISTRY_LIMITS.historyLimit,
    historyBytes: config.historyBytes,
  }, log.info);
  const listener = Deno.listen({ hostname: config.host, port: config.port, transport: "tcp" });
  let datagrams: DatagramSocket;
  try {
    datagrams = openDatagramSocket(config.udpIo, {
      hostname: config.host,
      port: config.udpPort,
      // The real length of a longer datagram still shows, so it is refused (413).
      slotBytes: MAX_DATAGRAM_BYTES,
      receiveBufferBytes: SOCKET_BUFFER_BYTES,
      sendBufferBytes: SOCKET_BUFFER_BYTES,
    });
  } catch (error) {
    listener.close();
    throw error;
  }
  const tcpAddr = listener.addr as Deno.NetAddr;
  const udpAddr = datagrams.addr;
  const strangers = new KeyedRateLimiter({
    ratePerSecond: config.unauthenticatedRate,
    burst: config.unauthenticatedRate * 2,
    clock,
    // A spoofed-source flood must not grow this map without bound; past it, new
    // addresses are treated as over the limit (dropped), which only costs strangers.
    maxKeys: 10_000,
  });
  const udp = new UdpFrontEnd(datagrams, { registry, log, strangers, report });
  const requestLimiter = new KeyedRateLimiter({
    ratePerSecond: config.requestRateLimit,
    burst: config.requestRateLimit * 3,
    clock,
  });
  const tcp = new TcrpFrontEnd(listener, {
    registry,
    log,
    send: (outgoing) => udp.send(outgoing),
    accepted: {
      status: 200,
      udpPort: config.advertisedUdpPort || udpAddr.port,
      maxDatagramBytes: MAX_DATAGRAM_BYTES,
      heartbeatSeconds: config.heartbeatSeconds,
      idleTimeoutSeconds: config.idleTimeoutSeconds,
    },
    maxPayloadBytes: config.maxPayloadBytes,
    requestTimeoutMs: config.handshakeTimeoutSeconds * 1000,
    requestLimiter,
    gate: new ConnectionGate({
      maxPerIp: config.maxHandshakesPerIp,
      maxTotal: config.maxHandshakes,
    }),
    report,
  });
  const serving = Promise.all([tcp.serve(), udp.serve()]).catch((error) => {
    log.error(`server stopped: ${error?.stack ?? error}`);
  });
  // One sweep for every member's timeouts, instead of a timer per member.
  const sweepMs = Math.min(500, (config.heartbeatSeconds * 1000) / 4);
  const sweep = setInterval(() => {
    udp.send(registry.tick());
    requestLimiter.sweep();
    strangers.sweep();
    abuse.sweep();
  }, sweepMs);
  log.info(
    `chat server listening: TCRP on tcp ${tcpAddr.hostname}:${tcpAddr.port}, ` +
      `chat datagrams on udp ${udpAddr.hostname}:${udpAddr.port} (${datagrams.kind} i/o)`,
  );

  let stopping: Promise<void> | null = null;
  const shutdown = () => {
    stopping ??= (async () => {
      clearInterval(sweep);
      udp.send(registry.shutdown());
      await tcp.close();
      await udp.close();
      await serving;
      abuse.flush();
      log.info("chat server stopped");
    })();
    return stopping;
  };
  return { tcpAddr, udpAddr, udpIo: datagrams.kind, registry, shutdown };
}
