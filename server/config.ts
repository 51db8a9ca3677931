/**
 * What `chat serve` can be told, and the defaults the README documents.
 *
 * @module
 */
import { DEFAULT_TCRP_PORT, DEFAULT_UDP_PORT } from "../protocol/host_port.ts";
import type { LogLevel } from "./log.ts";
import type { UdpIoChoice } from "./open_datagram_socket.ts";
import { DEFAULT_REGISTRY_LIMITS } from "./registry.ts";

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
  /** Leading bits of an IPv6 address that count as one address for per-address limits. */
  ipv6PrefixLength: number;
  /** Password derivations (scrypt) running at once; more wait their turn. */
  hashConcurrency: number;
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
  port: DEFAULT_TCRP_PORT,
  udpPort: DEFAULT_UDP_PORT,
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
  ipv6PrefixLength: 64,
  // One core stays free for the event loop (at least one derivation at a time).
  hashConcurrency: Math.max(1, (navigator.hardwareConcurrency ?? 2) - 1),
  logLevel: "info",
  udpIo: "auto",
};
