/**
 * Hands the registry's output to the transports: each body is encoded once,
 * and each endpoint gets it through the transport it came by. Live traffic
 * (ACK, event fan-out, WELCOME, CLOSED, ERROR, REFUSED) is queued on its
 * transport at once and never waits or counts against anything. Replays wait
 * in the replay queue (replay_queue.ts), per address, and each
 * {@linkcode EndpointRouter.flush} sends a share of them, round-robin across
 * addresses, behind the live traffic. The share is capped twice: per flush,
 * so an ACK waits at most one flush's cap of replays, and by a global rate,
 * so however many addresses ask (each within its own budget, replay.ts) the
 * server keeps the time to receive and answer live traffic. What is left
 * waits for the next flush; `onBacklog` says so, so the caller can schedule one.
 *
 * @module
 */
import { encodeServerDatagram, type ServerBody } from "../protocol/datagram.ts";
import { eventDatagramBytes } from "../protocol/datagram_size.ts";
import type { Endpoint, EndpointTransport, Outgoing } from "./endpoint.ts";
import { TokenBucket } from "./rate_limit.ts";
import {
  type ReplayDatagram,
  ReplayQueue,
  type ReplayQueueLimits,
  type ReplayQueueStats,
} from "./replay_queue.ts";

/** What the router is told and asked. */
export interface EndpointRouterOptions {
  /** Encodes a body (default: the datagram codec). */
  encode?: (body: ServerBody) => Uint8Array;
  /** A body that would not encode: a bug upstream; it is dropped and reported here. */
  onEncodeError?: (body: ServerBody, error: unknown) => void;
  /** Bounds of the replay queue and caps of a flush (replay_queue.ts has the defaults). */
  replayLimits?: Partial<ReplayQueueLimits>;
  /**
   * Replay datagrams a second in all, across addresses (bursts of one
   * flush's cap); 0 or absent: no limit but the cap per flush.
   */
  replayRate?: number;
  /** Monotonic milliseconds, for `replayRate` (default performance.now). */
  monotonic?: () => number;
  /**
   * Called at the end of a flush that left replays waiting: schedule another
   * flush soon (server.ts runs one 2 ms later), or they wait for the
   * next datagram.
   */
  onBacklog?: () => void;
}

/** Counters, for tests and (later) metrics. */
export interface EndpointRouterStats {
  /** Datagrams queued to transports (one per endpoint). */
  queued: number;
  /** Datagrams skipped because the endpoint could not take more. */
  skippedBusy: number;
  /** Replays, in datagrams and bytes: waiting, taken by flushes, dropped for a bound. */
  replays: Readonly<ReplayQueueStats>;
}

/** Routes registry output to endpoints' transports. */
export class EndpointRouter {
  readonly stats: EndpointRouterStats;
  #encode: (body: ServerBody) => Uint8Array;
  #onEncodeError: (body: ServerBody, error: unknown) => void;
  #onBacklog: () => void;
  #replays: ReplayQueue;
  #replayRate: TokenBucket | null;
  #monotonic: () => number;
  #touched = new Set<EndpointTransport>();

  /** A router with nothing queued. */
  constructor(options: EndpointRouterOptions = {}) {
    this.#encode = options.encode ?? encodeServerDatagram;
    this.#onEncodeError = options.onEncodeError ?? (() => {});
    this.#onBacklog = options.onBacklog ?? (() => {});
    this.#replays = new ReplayQueue(options.replayLimits);
    this.#monotonic = options.monotonic ?? (() => performance.now());
    const rate = options.replayRate ?? 0;
    this.#replayRate = rate > 0
      ? new TokenBucket(rate, this.#replays.limits.flushDatagrams, this.#monotonic())
      : null;
    this.stats = { queued: 0, skippedBusy: 0, replays: this.#replays.stats };
  }

  /**
   * Queues live bodies on their transports now, and replays in the replay
   * queue (encoded when a flush takes them).
   */
  queue(outgoing: readonly Outgoing[]): void {
    for (const item of outgoing) {
      if (item.replay) {
        const datagram = this.#replayDatagram(item.body);
        for (const to of item.to) this.#replays.push(to.addressKey, { datagram, to });
        continue;
      }
      const bytes = this.#bytesOf(item.body);
      if (bytes !== null) this.#deliver(bytes, item.to);
    }
  }

  /**
   * Queues this flush's share of the replays behind the live traffic, flushes
   * every transport used, and calls `onBacklog` when replays are still waiting.
   */
  flush(): void {
    const waiting = this.#replays.stats.waiting;
    if (waiting > 0) {
      const cap = Math.min(waiting, this.#replays.limits.flushDatagrams);
      const granted = this.#replayRate?.takeUpTo(this.#monotonic(), cap) ?? cap;
      for (const { datagram, to } of this.#replays.take(granted)) {
        if (datagram.bytes === undefined) datagram.bytes = this.#bytesOf(datagram.body);
        if (datagram.bytes !== null) this.#deliver(datagram.bytes, [to]);
      }
    }
    for (const transport of this.#touched) transport.flush();
    this.#touched.clear();
    if (this.#replays.stats.waiting > 0) this.#onBacklog();
  }

  /** {@linkcode queue} then {@linkcode flush}: for output that is not part of a batch. */
  send(outgoing: readonly Outgoing[]): void {
    this.queue(outgoing);
    this.flush();
  }

  /** A replay's datagram, sized without encoding when it is an EVENT (replays are). */
  #replayDatagram(body: ServerBody): ReplayDatagram {
    if (body.kind === "event") return { body, size: eventDatagramBytes(body) };
    const bytes = this.#bytesOf(body);
    return { body, size: bytes?.length ?? 0, bytes };
  }

  #bytesOf(body: ServerBody): Uint8Array | null {
    try {
      return this.#encode(body);
    } catch (error) {
      this.#onEncodeError(body, error);
      return null;
    }
  }

  #deliver(bytes: Uint8Array, to: readonly Endpoint[]): void {
    if (to.length === 0) return;
    const transport = to[0]!.transport;
    // The hot path: a room whose members all came by one transport, all able to take more.
    let mixed = false;
    let busy = false;
    for (const endpoint of to) {
      if (endpoint.transport !== transport) mixed = true;
      else if (!transport.canSend(endpoint)) busy = true;
    }
    if (!mixed && !busy) {
      this.#queueOn(transport, bytes, to);
      return;
    }
    const byTransport = new Map<EndpointTransport, Endpoint[]>();
    for (const endpoint of to) {
      if (!endpoint.transport.canSend(endpoint)) {
        this.stats.skippedBusy++;
        continue;
      }
      const group = byTransport.get(endpoint.transport);
      if (group === undefined) byTransport.set(endpoint.transport, [endpoint]);
      else group.push(endpoint);
    }
    for (const [group, endpoints] of byTransport) this.#queueOn(group, bytes, endpoints);
  }

  #queueOn(transport: EndpointTransport, bytes: Uint8Array, to: readonly Endpoint[]): void {
    transport.queue(bytes, to);
    this.stats.queued += to.length;
    this.#touched.add(transport);
  }
}
