/**
 * The UDP front end: decodes datagrams, asks the registry, encodes each
 * answer once and sends it to every endpoint it names. Datagrams that do not
 * authenticate are answered only within a per-IP rate, so junk cannot make
 * the server an amplifier or keep it busy answering.
 */
import { ProtocolError } from "../protocol/errors.ts";
import {
  decodeClientDatagram,
  encodeServerDatagram,
  MAX_DATAGRAM_BYTES,
} from "../protocol/datagram.ts";
import type { AbuseKind, AbuseReporter } from "./abuse_log.ts";
import type { Logger } from "./log.ts";
import type { KeyedRateLimiter } from "./rate_limit.ts";
import type { Endpoint, Outgoing, RoomRegistry } from "./registry.ts";

// Larger than any datagram we accept, so an oversized one is seen whole
// (and refused) instead of being cut silently to the buffer size.
const RECEIVE_BUFFER_BYTES = 65_536;

/** What the UDP front end needs besides its socket. */
export interface UdpFrontEndOptions {
  registry: RoomRegistry;
  log: Logger;
  /** Datagrams that do not authenticate, per source IP; past it they are dropped unanswered. */
  strangers: KeyedRateLimiter;
  /** Where refusals are counted. */
  report: AbuseReporter;
}

/** Serves chat datagrams on a bound UDP socket until {@linkcode UdpFrontEnd.close}. */
export class UdpFrontEnd {
  #conn: Deno.DatagramConn;
  #registry: RoomRegistry;
  #log: Logger;
  #strangers: KeyedRateLimiter;
  #report: AbuseReporter;
  #pending = new Set<Promise<unknown>>();
  #closed = false;

  /** Wraps a bound socket. */
  constructor(conn: Deno.DatagramConn, options: UdpFrontEndOptions) {
    this.#conn = conn;
    this.#registry = options.registry;
    this.#log = options.log;
    this.#strangers = options.strangers;
    this.#report = options.report;
  }

  /** Receives until the socket closes. */
  async serve(): Promise<void> {
    const buffer = new Uint8Array(RECEIVE_BUFFER_BYTES);
    while (!this.#closed) {
      let received: [Uint8Array, Deno.Addr];
      try {
        received = await this.#conn.receive(buffer);
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        // A receive error (an ICMP port-unreachable surfacing, say) is not fatal.
        this.#log.debug(`udp receive: ${error}`);
        continue;
      }
      const [bytes, addr] = received;
      const from = { hostname: (addr as Deno.NetAddr).hostname, port: (addr as Deno.NetAddr).port };
      this.send(this.#handle(bytes, from));
    }
  }

  #handle(bytes: Uint8Array, from: Endpoint): Outgoing[] {
    try {
      if (bytes.length > MAX_DATAGRAM_BYTES) {
        throw new ProtocolError(`datagram over ${MAX_DATAGRAM_BYTES} bytes`, 413);
      }
      const datagram = decodeClientDatagram(bytes);
      const authentication = this.#registry.authenticate(from, datagram);
      if (authentication === "unknown-token") {
        return this.#refuse(from, authentication, 401, "unknown token for this room");
      }
      if (authentication === "foreign-token") {
        return this.#refuse(from, authentication, 401, "token used from another IP address");
      }
      return this.#registry.handleDatagram(from, datagram);
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        this.#log.error(`udp ${from.hostname}:${from.port}: ${(error as Error).stack ?? error}`);
        return [];
      }
      return this.#refuse(from, "malformed-datagram", error.status, error.message);
    }
  }

  /** An ERROR for a datagram that did not authenticate, if its source is within the rate. */
  #refuse(from: Endpoint, kind: AbuseKind, code: 400 | 401 | 413, text: string): Outgoing[] {
    this.#report(kind, from.hostname, text);
    if (!this.#strangers.take(from.hostname)) {
      this.#report("unauthenticated-rate", from.hostname, `${kind}, dropped without an answer`);
      return [];
    }
    return [{ to: [from], body: { kind: "error", code, text } }];
  }

  /** Encodes each body once and sends it to each of its endpoints, without waiting in turn. */
  send(outgoing: Outgoing[]): void {
    if (this.#closed) return;
    for (const { to, body } of outgoing) {
      let bytes: Uint8Array;
      try {
        bytes = encodeServerDatagram(body);
      } catch (error) {
        // A body the registry should never have produced: drop it, keep serving.
        this.#log.error(`udp encode ${body.kind}: ${(error as Error).stack ?? error}`);
        continue;
      }
      for (const endpoint of to) {
        const sent = this.#conn.send(bytes, { transport: "udp", ...endpoint })
          .catch((error) => this.#log.debug(`udp send to ${endpoint.hostname}: ${error}`))
          .finally(() => this.#pending.delete(sent));
        this.#pending.add(sent);
      }
    }
  }

  /** Waits for sends in flight, then closes the socket. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}
