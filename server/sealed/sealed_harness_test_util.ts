/**
 * The server's sealed side without sockets, for unit tests: a real
 * registry, router, session table, transport and front end on a manual
 * clock and manual timers, with a socket that records what it is given.
 */
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import type { HostPort } from "../../protocol/host_port.ts";
import type { DatagramSocket } from "../datagram_socket.ts";
import { EndpointRouter } from "../endpoint_router.ts";
import { KeyedRateLimiter } from "../rate_limit.ts";
import { DEFAULT_REGISTRY_LIMITS, type RegistryOptions, RoomRegistry } from "../registry.ts";
import { SealedTestClient } from "./sealed_client_test_util.ts";
import { SealedFrontEnd, type SealedFrontOptions } from "./sealed_front.ts";
import { SealedUdpTransport, type Timers } from "./sealed_transport.ts";
import { SealedSessions, type SealedSessionsOptions } from "./sessions.ts";

/** One datagram the server sent: its bytes and where to ("ip:port"). */
export interface Sent {
  bytes: Uint8Array;
  to: string;
}

/** Timers that run only when the test advances the clock. */
class ManualTimers implements Timers {
  #due: { at: number; run: () => void; handle: number }[] = [];
  #next = 1;
  #now: () => number;
  constructor(now: () => number) {
    this.#now = now;
  }
  set(run: () => void, ms: number): unknown {
    const handle = this.#next++;
    this.#due.push({ at: this.#now() + ms, run, handle });
    return handle;
  }
  clear(handle: unknown): void {
    this.#due = this.#due.filter((timer) => timer.handle !== handle);
  }
  runDue(): void {
    for (;;) {
      const due = this.#due.find((timer) => timer.at <= this.#now());
      if (due === undefined) return;
      this.clear(due.handle);
      due.run();
    }
  }
  get pending(): number {
    return this.#due.length;
  }
}

/** Options of a harness. */
export interface HarnessOptions {
  registry?: Partial<RegistryOptions>;
  sessions?: Partial<SealedSessionsOptions>;
  front?: Partial<SealedFrontOptions>;
  /** Stateless resets per address a second (burst twice that); default 20. */
  resetRate?: number;
}

/** A sealed server side in memory. */
export class SealedHarness {
  now = 1_000;
  readonly sent: Sent[] = [];
  /** Every (key, nonce) sealed, as "keyhex/noncehex". */
  readonly sealedNonces: string[] = [];
  readonly sessions: SealedSessions;
  readonly registry: RoomRegistry;
  readonly transport: SealedUdpTransport;
  readonly router: EndpointRouter;
  readonly front: SealedFrontEnd;
  readonly timers: ManualTimers;

  /** A harness on its own clock. */
  constructor(options: HarnessOptions = {}) {
    const monotonic = () => this.now;
    const clocks = { monotonic, wall: () => 1_700_000_000_000 + this.now };
    const crypto = nodeCrypto;
    this.sessions = new SealedSessions({
      crypto,
      staticPrivateKey: crypto.x25519KeyPair().privateKey,
      monotonic,
      ...options.sessions,
    });
    this.registry = new RoomRegistry({
      ...DEFAULT_REGISTRY_LIMITS,
      clocks,
      onRemoved: (member) => this.sessions.onRemoved(member),
      ...options.registry,
    });
    const socket = {
      send: (bytes: Uint8Array, to: readonly HostPort[]) => {
        for (const { hostname, port } of to) this.sent.push({ bytes, to: `${hostname}:${port}` });
      },
      flush: () => {},
    } as unknown as DatagramSocket;
    this.timers = new ManualTimers(monotonic);
    this.transport = new SealedUdpTransport({
      socket,
      crypto,
      signer: this.sessions.signer,
      addressKeyOf: (ip) => ip,
      monotonic,
      timers: this.timers,
      onSeal: (key, nonce) => this.sealedNonces.push(`${hex(key)}/${hex(nonce)}`),
    });
    this.router = new EndpointRouter();
    const rate = options.resetRate ?? 20;
    this.front = new SealedFrontEnd({
      sessions: this.sessions,
      transport: this.transport,
      registry: this.registry,
      resets: new KeyedRateLimiter({ ratePerSecond: rate, burst: rate * 2, clock: monotonic }),
      monotonic,
      report: () => {},
      ...options.front,
    });
  }

  /** Creates a sealed room hosted by `username` from 127.0.0.1; its client. */
  create(roomName: string, username: string, address = "127.0.0.1"): SealedTestClient {
    const result = this.registry.create({
      roomName,
      username,
      password: null,
      capacity: null,
      peer: { address, addressKey: address },
      protocol: 2,
      sealed: true,
    });
    if (!result.ok) throw new Error(result.error);
    this.router.send(result.outgoing);
    return this.#issue(result.token, roomName);
  }

  /** Joins `username` to a sealed room; its client. */
  join(roomName: string, username: string, address = "127.0.0.1"): SealedTestClient {
    const result = this.registry.join({
      roomName,
      username,
      passwordProof: null,
      peer: { address, addressKey: address },
      protocol: 2,
      sealed: true,
    });
    if (!result.ok) throw new Error(result.error);
    this.router.send(result.outgoing);
    return this.#issue(result.token, roomName);
  }

  /** One datagram from `from` ("ip:port"): what it caused is sent (and recorded). */
  receive(bytes: Uint8Array, from: string): Sent[] {
    const before = this.sent.length;
    const [hostname, port] = from.split(":");
    this.router.queue(
      this.front.handle(bytes, bytes.length, { hostname: hostname!, port: +port! }) ?? [],
    );
    this.router.flush();
    return this.sent.slice(before);
  }

  /** Runs a registry sweep at the current time. */
  tick(): Sent[] {
    const before = this.sent.length;
    this.router.send(this.registry.tick());
    return this.sent.slice(before);
  }

  /** Moves the clock on and runs the timers that came due. */
  advance(ms: number): Sent[] {
    const before = this.sent.length;
    this.now += ms;
    this.timers.runDue();
    return this.sent.slice(before);
  }

  #issue(token: Uint8Array, roomName: string): SealedTestClient {
    const issued = this.sessions.issue(token, roomName);
    return new SealedTestClient(nodeCrypto, issued, this.sessions.signingKey);
  }
}

/** Lower-case hex. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
