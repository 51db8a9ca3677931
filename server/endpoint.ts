/**
 * How the registry reaches members without knowing how they came: every
 * member is reached through an opaque {@linkcode Endpoint}, and every
 * endpoint carries the {@linkcode EndpointTransport} it came through (UDP
 * today; WebSocket and other server nodes later). The registry returns
 * {@linkcode Outgoing} bodies; the endpoint router (endpoint_router.ts)
 * encodes each once and hands it to each endpoint's transport.
 *
 * @module
 */
import type { ServerBody } from "../protocol/datagram.ts";

/** One way datagrams reach members, with its rules for who may speak for a member. */
export interface EndpointTransport {
  /** A name for logs ("udp"). */
  readonly name: string;
  /**
   * Whether a datagram that arrived from `candidate` may act for a member
   * whose token is bound to `boundAddress` (the full address the handshake
   * came from). Plain UDP: the same IP.
   */
  authenticates(boundAddress: string, candidate: Endpoint): boolean;
  /**
   * Whether an authenticated datagram from `candidate` moves the member's
   * endpoint there from `current`. Plain UDP: always (a NAT that changes the
   * port heals itself); sealed sessions and WebSockets will have rules of
   * their own.
   */
  movesTo(current: Endpoint | null, candidate: Endpoint): boolean;
  /**
   * False while `endpoint` cannot take more (its queue is past a limit): the
   * router skips it, and the member repairs the gap later. Plain UDP: always
   * true (the kernel drops what does not fit).
   */
  canSend(endpoint: Endpoint): boolean;
  /** Queues one encoded datagram for endpoints of this transport. */
  queue(bytes: Uint8Array, to: readonly Endpoint[]): void;
  /** Sends everything queued. */
  flush(): void;
}

/** Where one member is reached; opaque to the registry. */
export interface Endpoint {
  /** The transport it came through, which sends to it. */
  readonly transport: EndpointTransport;
  /** What per-address limits count it as (see address_key.ts). */
  readonly addressKey: string;
  /** The peer's full address (an IP for UDP), what a token is bound to; also for logs. */
  readonly address: string;
}

/**
 * One body for one or more endpoints. Live traffic (ACK, event fan-out,
 * WELCOME, CLOSED, ERROR) goes out ahead of replays (history after HELLO,
 * HEARTBEAT and RESEND), which the router holds until the end of a batch.
 */
export interface Outgoing {
  to: Endpoint[];
  body: ServerBody;
  /** A replay of stored events rather than live traffic. */
  replay?: boolean;
}

/** The address of a member's handshake: what limits count and what its token is bound to. */
export interface Peer {
  /** The full address (an IP). */
  address: string;
  /** addressKey() of it. */
  addressKey: string;
}
