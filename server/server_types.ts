/**
 * The types of a running chat server (server.ts): what it is started with
 * besides its configuration (test seams, the sealed keys, the HTTP side's
 * inputs) and what it hands back.
 *
 * @module
 */
import type { CryptoProvider, Ed25519Signer, X25519KeyPair } from "../protocol/sealed_types.ts";
import type { Clocks } from "./clock.ts";
import type { UdpIo } from "./datagram_socket.ts";
import type { PasswordHasher } from "./handshake.ts";
import type { HttpFront } from "./http/http_server.ts";
import type { Logger } from "./log.ts";
import type { MetricsSnapshot } from "./metrics.ts";
import type { RoomRegistry } from "./registry.ts";
import type { Member } from "./room_state.ts";
import type { SealedFrontEnd } from "./sealed/sealed_front.ts";
import type { NonceAudit, SealedUdpTransport } from "./sealed/sealed_transport.ts";
import type { SealedSessions } from "./sealed/sessions.ts";
import type { HttpHooks } from "./web_side.ts";
import type { WsFrontEnd } from "./ws/ws_front.ts";

export type { HttpHooks } from "./web_side.ts";

/** What sealed sessions are made with (docs/protocol.md section 6). */
export interface SealedHooks {
  /** The server's long-term X25519 key pair (the key file's): handshakes and reset tokens. */
  staticKey: X25519KeyPair;
  crypto: CryptoProvider;
  /**
   * The per-process Ed25519 key that signs room datagrams (default: a fresh
   * one); its public half is what every sealed answer carries.
   */
  signer?: Ed25519Signer;
}

/** Test seams: time, where log lines go, and how passwords are hashed; and the sealed keys. */
export interface ServerHooks {
  clocks?: Clocks;
  log?: Logger;
  helloTimeoutMs?: number;
  passwords?: PasswordHasher;
  /** Absent: a static key made in memory for this process, node:crypto, a fresh signing key. */
  sealed?: SealedHooks;
  /** Told about every member the registry removes, whatever the reason. */
  onRemoved?: (member: Member) => void;
  /** The nonce audit: told every (key, nonce) the server seals a datagram with. */
  onSeal?: NonceAudit;
  /** The HTTP front's own inputs (docs/protocol.md 7); see {@linkcode HttpHooks}. */
  http?: HttpHooks;
}

/** The sealed side of a running server: the handshake's issuer, and what tests look at. */
export interface SealedServer {
  /** The session table: `issue` for the sealed handshake, `signingKey` for its answer. */
  sessions: SealedSessions;
  front: SealedFrontEnd;
  transport: SealedUdpTransport;
}

/** A running server. */
export interface ChatServer {
  tcpAddr: Deno.NetAddr;
  udpAddr: Deno.NetAddr;
  /** The HTTP listener (the page and `/ws`), or null when it is off (--http-port 0). */
  httpAddr: Deno.NetAddr | null;
  /** The HTTP front's counts, or null when it is off. */
  http: HttpFront | null;
  /** The metrics listener's address (--metrics-addr), or null when it is off. */
  metricsAddr: Deno.NetAddr | null;
  /** Every count `/metrics` reports, now. */
  metrics(): MetricsSnapshot;
  /** The UDP implementation "auto" settled on, or the one asked for. */
  udpIo: UdpIo;
  registry: RoomRegistry;
  /** The static X25519 public key sealed handshakes prove (what clients pin). */
  staticPublicKey: Uint8Array;
  /** The sealed datagram side: its session table, front end and transport. */
  sealed: SealedServer;
  /** The WebSocket front end (docs/protocol.md 7.3): its sockets' phases, and its stats. */
  ws: WsFrontEnd;
  /**
   * CLOSED 4 to every member, then closes both sockets and waits (up to 1 s)
   * for the log to reach stderr. Safe to call twice.
   */
  shutdown(): Promise<void>;
  /**
   * Resolves with the error if a front end (the TCRP accept loop or the UDP
   * receive loop) stops for good while the server is meant to be serving;
   * never resolves otherwise. The caller shuts down and exits non-zero.
   */
  failed: Promise<Error>;
}
