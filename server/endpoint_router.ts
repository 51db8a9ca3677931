/**
 * Hands the registry's output to the transports: each body is encoded once,
 * and each endpoint gets it through the transport it came by. Live traffic
 * is queued at once; replays wait until {@linkcode EndpointRouter.flush}, so
 * within a batch every ACK, event and CLOSED leaves ahead of any replay, and
 * a replay goes out only if the `admitReplay` hook lets it (per-address
 * budgets plug in there).
 *
 * @module
 */
import { encodeServerDatagram, type ServerBody } from "../protocol/datagram.ts";
import type { Endpoint, EndpointTransport, Outgoing } from "./endpoint.ts";

/** What the router is told and asked. */
export interface EndpointRouterOptions {
  /** Encodes a body (default: the datagram codec). */
  encode?: (body: ServerBody) => Uint8Array;
  /** A body that would not encode: a bug upstream; it is dropped and reported here. */
  onEncodeError?: (body: ServerBody, error: unknown) => void;
  /** Whether a replay datagram of `bytes` may go to `endpoint` now; default: always. */
  admitReplay?: (endpoint: Endpoint, bytes: number) => boolean;
}

/** Counters, for tests and (later) metrics. */
export interface EndpointRouterStats {
  /** Datagrams queued to transports (one per endpoint). */
  queued: number;
  /** Datagrams skipped because the endpoint could not take more. */
  skippedBusy: number;
  /** Replay datagrams the admitReplay hook refused. */
  replaysRefused: number;
}

/** Routes registry output to endpoints' transports. */
export class EndpointRouter {
  readonly stats: EndpointRouterStats = { queued: 0, skippedBusy: 0, replaysRefused: 0 };
  #encode: (body: ServerBody) => Uint8Array;
  #onEncodeError: (body: ServerBody, error: unknown) => void;
  #admitReplay: ((endpoint: Endpoint, bytes: number) => boolean) | undefined;
  #replays: Outgoing[] = [];
  #touched = new Set<EndpointTransport>();

  /** A router with nothing queued. */
  constructor(options: EndpointRouterOptions = {}) {
    this.#encode = options.encode ?? encodeServerDatagram;
    this.#onEncodeError = options.onEncodeError ?? (() => {});
    this.#admitReplay = options.admitReplay;
  }

  /** Queues live bodies on their transports now, and holds replays for {@linkcode flush}. */
  queue(outgoing: readonly Outgoing[]): void {
    for (const item of outgoing) {
      if (item.replay) {
        this.#replays.push(item);
        continue;
      }
      const bytes = this.#bytesOf(item.body);
      if (bytes !== null) this.#deliver(bytes, item.to);
    }
  }

  /** Queues the held replays behind the live traffic, then flushes every transport used. */
  flush(): void {
    const replays = this.#replays;
    this.#replays = [];
    for (const item of replays) {
      const bytes = this.#bytesOf(item.body);
      if (bytes === null) continue;
      let to = item.to;
      if (this.#admitReplay !== undefined) {
        to = to.filter((endpoint) => this.#admitReplay!(endpoint, bytes.length));
        this.stats.replaysRefused += item.to.length - to.length;
      }
      this.#deliver(bytes, to);
    }
    for (const transport of this.#touched) transport.flush();
    this.#touched.clear();
  }

  /** {@linkcode queue} then {@linkcode flush}: for output that is not part of a batch. */
  send(outgoing: readonly Outgoing[]): void {
    this.queue(outgoing);
    this.flush();
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
