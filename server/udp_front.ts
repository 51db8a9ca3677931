/**
 * The UDP front end: decodes datagrams, asks the registry, encodes each
 * answer once and sends it to every endpoint it names.
 */
import { ProtocolError } from "../protocol/errors.ts";
import {
  decodeClientDatagram,
  encodeServerDatagram,
  MAX_DATAGRAM_BYTES,
} from "../protocol/datagram.ts";
import type { Logger } from "./log.ts";
import type { Endpoint, Outgoing, RoomRegistry } from "./registry.ts";

// Larger than any datagram we accept, so an oversized one is seen whole
// (and refused) instead of being cut silently to the buffer size.
const RECEIVE_BUFFER_BYTES = 65_536;

/** Serves chat datagrams on a bound UDP socket until {@linkcode UdpFrontEnd.close}. */
export class UdpFrontEnd {
  #conn: Deno.DatagramConn;
  #registry: RoomRegistry;
  #log: Logger;
  #pending = new Set<Promise<unknown>>();
  #closed = false;

  /** Wraps a bound socket. */
  constructor(conn: Deno.DatagramConn, registry: RoomRegistry, log: Logger) {
    this.#conn = conn;
    this.#registry = registry;
    this.#log = log;
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
      return this.#registry.handleDatagram(from, decodeClientDatagram(bytes));
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        this.#log.error(`udp ${from.hostname}:${from.port}: ${(error as Error).stack ?? error}`);
        return [];
      }
      this.#log.debug(`udp ${from.hostname}:${from.port}: ${error.message}`);
      return [{ to: [from], body: { kind: "error", code: error.status, text: error.message } }];
    }
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
