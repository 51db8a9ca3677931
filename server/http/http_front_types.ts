/**
 * The types of the HTTP front's interface (http_server.ts): its options,
 * what it hands over for each WebSocket, and its counts.
 *
 * @module
 */
import type { Peer } from "../endpoint.ts";
import type { Logger } from "../log.ts";
import type { PageFiles } from "./page_assets.ts";
import type { WsConnection } from "./ws_connection.ts";

/** A WebSocket that passed every check, for the WebSocket front to serve. */
export interface WebSocketArrival {
  /** Not started yet: the receiver calls `start`. */
  ws: WsConnection;
  /** The client's address (X-Forwarded-For resolved) and its per-address key. */
  peer: Peer;
  /** The subprotocol answered: `chat.ws.1` or `chat.ws.1.build.<build>`. */
  subprotocol: string;
}

/** What {@linkcode startHttpFront} needs. */
export interface HttpFrontOptions {
  listen: { hostname: string; port: number; tls?: { cert: string; key: string } };
  /** The page's texts; null (unit tests): `/` answers 404. */
  page: PageFiles | null;
  /** The server's X25519 public key, put in the HTML as base64. */
  serverKey: Uint8Array;
  /** `--public-origin`, normalized or not. */
  publicOrigins: readonly string[];
  /** `--trust-proxy` blocks. */
  trustProxy: readonly string[];
  maxConnections: number;
  maxConnectionsPerIp: number;
  addressKeyOf: (ip: string) => string;
  log: Logger;
  monotonic: () => number;
  /** The WebSocket ping period; a socket silent for 3 of them is closed. */
  heartbeatMs: number;
  /** Told about each accepted WebSocket (current subprotocol, allowed origin). */
  onWebSocket(arrival: WebSocketArrival): void;
  /** The machine's host name; absent: `Deno.hostname()` once (null when not permitted). */
  hostName?: string | null;
  /** A request head must be whole within this long (default 10 s); idle keep-alive too. */
  headTimeoutMs?: number;
  /** An answer must be written within this long, or the connection closes (default 30 s). */
  writeTimeoutMs?: number;
  /** The first WebSocket message's limit (default 32 + 16 KiB, the handshake's). */
  maxFirstMessageBytes?: number;
}

/** Counts for the metrics. */
export interface HttpFrontStats {
  /** Connections open now (upgraded ones included). */
  open: number;
  /** Connections turned away with 503 (total or per-address limit). */
  refusedByLimit: number;
  /** Requests answered 421 (a Host this server does not serve). */
  hostRefused: number;
  /** WebSockets closed 4403 (a bad Origin). */
  originRefused: number;
  /** 101 answers. */
  upgrades: number;
  /** WebSockets closed 4426 (an older profile or page build). */
  outOfDate: number;
  /** Requests answered 400, 405, 426, 431 or 505, and heads that timed out. */
  badRequests: number;
}

/** A running HTTP front. */
export interface HttpFront {
  addr: Deno.NetAddr;
  /** The served page's build id, or null without a page. */
  build: string | null;
  stats: Readonly<HttpFrontStats>;
  /** Stops accepting, closes every connection (WebSockets with 1001), waits for them. */
  close(): Promise<void>;
}
