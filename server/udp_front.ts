/**
 * The UDP front end: decodes datagrams, asks the registry, encodes each
 * answer once and sends it to every endpoint it names. It works a batch at a
 * time: every datagram the socket has waiting is handled, then everything
 * they caused leaves in one flush (one sendmmsg on the mmsg socket). Datagrams that do not
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
import type { DatagramSocket } from "./datagram_socket.ts";
import type { Logger } from "./log.ts";
import type { KeyedRateLimiter } from "./rate_limit.ts";
import type { Endpoint, Outgoing, RoomRegistry } from "./registry.ts";

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
  #socket: DatagramSocket;
  #registry: RoomRegistry;
  #log: Logger;
  #strangers: KeyedRateLimiter;
  #report: AbuseReporter;
  #closed = false;

  /** Wraps a bound socket. */
  constructor(socket: DatagramSocket, options: UdpFrontEndOptions) {
    this.#socket = socket;
    this.#registry = options.registry;
    this.#log = options.log;
    this.#strangers = options.strangers;
    this.#report = options.report;
  }

  /** Receives until the socket closes. */
  async serve(): Promise<void> {
    while (!this.#closed) {
      const batch = await this.#socket.receive();
      // An empty batch means the socket is closing.
      if (batch.count === 0) return;
      for (let i = 0; i < batch.count; i++) {
        // size() is the length on the wire, so an oversized datagram is
        // refused even where the socket kept only part of it.
        this.#queue(this.#handle(batch.bytes(i), batch.size(i), batch.from(i)));
      }
      this.#socket.flush();
    }
  }

  #handle(bytes: Uint8Array, size: number, from: Endpoint): Outgoing[] {
    try {
      if (size > MAX_DATAGRAM_BYTES) {
        throw new ProtocolError(`datagram over ${MAX_DATAGRAM_BYTES} bytes`, 413);
      }
      return this.#registry.handleDatagram(
        from,
        decodeClientDatagram(bytes),
        (kind, text) => this.#refuse(from, kind, 401, text),
      );
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

  /** Encodes each body once and sends it to each of its endpoints, without waiting. */
  send(outgoing: Outgoing[]): void {
    if (this.#queue(outgoing)) this.#socket.flush();
  }

  /** Encodes each body once and queues it for each of its endpoints; whether any was queued. */
  #queue(outgoing: Outgoing[]): boolean {
    if (this.#closed || outgoing.length === 0) return false;
    for (const { to, body } of outgoing) {
      let bytes: Uint8Array;
      try {
        bytes = encodeServerDatagram(body);
      } catch (error) {
        // A body the registry should never have produced: drop it, keep serving.
        this.#log.error(`udp encode ${body.kind}: ${(error as Error).stack ?? error}`);
        continue;
      }
      this.#socket.send(bytes, to);
    }
    return true;
  }

  /** Sends what is queued, then closes the socket; a pending receive ends. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#socket.close();
  }
}
