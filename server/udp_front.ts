/**
 * The UDP front end: decodes datagrams, asks the registry, and hands what it
 * returns to the endpoint router. It works a batch at a time: every datagram
 * the socket has waiting is handled, then everything they caused leaves in
 * one flush (one sendmmsg on the mmsg socket): all the live traffic, then
 * the replays' share for this flush (endpoint_router.ts; the rest wait for
 * the next batch or the drain timer in server.ts). Datagrams that do not authenticate are answered only within a
 * per-address rate, so junk cannot make the server an amplifier or keep it
 * busy answering.
 *
 * One socket serves both modes: a datagram whose first byte is 0x00 is
 * sealed (a plain client datagram starts with its room name's size, 1 to
 * 255) and goes to the sealed front end (sealed/sealed_front.ts), which
 * answers nothing it cannot open. Plain datagrams are dropped unanswered
 * when the server takes sealed sessions only: no plain room exists then,
 * and an ERROR would only give strangers bytes. When it takes both, a 0x00
 * datagram that is no sealed layout at all is a malformed plain datagram,
 * answered as the plain protocol always has.
 *
 * The receive loop follows the accept loop's rule (io_errors.ts): out of
 * buffers or memory it backs off and goes on; only an error it does not
 * know ends it, and with it the server.
 *
 * @module
 */
import { ProtocolError } from "../protocol/errors.ts";
import { decodeClientDatagram, MAX_DATAGRAM_BYTES } from "../protocol/datagram.ts";
import { SEALED_MARKER } from "../protocol/sealed_datagram.ts";
import type { HostPort } from "../protocol/host_port.ts";
import type { AbuseKind, AbuseReporter } from "./abuse_log.ts";
import type { Clocks } from "./clock.ts";
import type { DatagramSocket } from "./datagram_socket.ts";
import type { Outgoing } from "./endpoint.ts";
import type { EndpointRouter } from "./endpoint_router.ts";
import { describeIoError, runIoLoop } from "./io_errors.ts";
import type { Logger } from "./log.ts";
import type { KeyedRateLimiter } from "./rate_limit.ts";
import type { RoomRegistry } from "./registry.ts";
import type { SealedFrontEnd } from "./sealed/sealed_front.ts";
import type { UdpEndpoint, UdpTransport } from "./udp_endpoints.ts";

/** What the UDP front end needs besides its socket. */
export interface UdpFrontEndOptions {
  registry: RoomRegistry;
  /** The socket as an endpoint transport: it names each source. */
  transport: UdpTransport;
  router: EndpointRouter;
  log: Logger;
  /** Datagrams that do not authenticate, per address key; past it they are dropped unanswered. */
  strangers: KeyedRateLimiter;
  /** Where refusals are counted. */
  report: AbuseReporter;
  clocks: Clocks;
  /** Sealed datagrams (first byte 0x00) go here; without it they are dropped as malformed. */
  sealed?: SealedFrontEnd;
  /** Whether plain datagrams are served (`--allow-plaintext`); default true. */
  plain?: boolean;
}

/** Serves chat datagrams on a bound UDP socket until {@linkcode UdpFrontEnd.close}. */
export class UdpFrontEnd {
  #socket: DatagramSocket;
  #options: UdpFrontEndOptions;
  #closing = new AbortController();

  /** Wraps a bound socket. */
  constructor(socket: DatagramSocket, options: UdpFrontEndOptions) {
    this.#socket = socket;
    this.#options = options;
  }

  /** Receives until the socket closes; rejects on a receive error it cannot live with. */
  async serve(): Promise<void> {
    const { router, log } = this.#options;
    await runIoLoop(async () => {
      const batch = await this.#socket.receive();
      // An empty batch means the socket is closing.
      if (batch.count === 0) return false;
      for (let i = 0; i < batch.count; i++) {
        // size() is the length on the wire, so an oversized datagram is
        // refused even where the socket kept only part of it.
        router.queue(this.#handle(batch.bytes(i), batch.size(i), batch.from(i)));
      }
      router.flush();
      // The sealed front end sends resets and PATH_CHALLENGEs itself, outside the router.
      if (this.#options.sealed !== undefined) this.#socket.flush();
      return true;
    }, {
      signal: this.#closing.signal,
      monotonic: this.#options.clocks.monotonic,
      onExhausted: (error) => log.warn(`udp receive: ${describeIoError(error)}; backing off`),
      onRecovered: (ms) => log.warn(`udp receive: receiving again after ${ms} ms`),
    });
  }

  #handle(bytes: Uint8Array, size: number, source: HostPort): Outgoing[] {
    const { sealed, plain = true } = this.#options;
    if (bytes[0] === SEALED_MARKER && sealed !== undefined) {
      try {
        const answer = sealed.handle(bytes, size, source, plain);
        if (answer !== null) return answer;
        // Not a sealed layout, on a server that takes plain datagrams: the plain rules answer it.
      } catch (error) {
        this.#options.log.error(
          `sealed udp ${source.hostname}:${source.port}: ${(error as Error).stack ?? error}`,
        );
        return [];
      }
    }
    const from = this.#options.transport.endpointOf(source);
    if (!plain) {
      this.#options.report("plain-datagram", from.addressKey, "dropped unanswered");
      return [];
    }
    try {
      if (size > MAX_DATAGRAM_BYTES) {
        throw new ProtocolError(`datagram over ${MAX_DATAGRAM_BYTES} bytes`, 413);
      }
      return this.#options.registry.handleDatagram(
        from,
        decodeClientDatagram(bytes),
        (kind, text) => this.#refuse(from, kind, 401, text),
      );
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        this.#options.log.error(
          `udp ${from.hostname}:${from.port}: ${(error as Error).stack ?? error}`,
        );
        return [];
      }
      return this.#refuse(from, "malformed-datagram", error.status, error.message);
    }
  }

  /** An ERROR for a datagram that did not authenticate, if its source is within the rate. */
  #refuse(from: UdpEndpoint, kind: AbuseKind, code: 400 | 401 | 413, text: string): Outgoing[] {
    const { report, strangers } = this.#options;
    report(kind, from.addressKey, text);
    if (!strangers.take(from.addressKey)) {
      report("unauthenticated-rate", from.addressKey, `${kind}, dropped without an answer`);
      return [];
    }
    return [{ to: [from], body: { kind: "error", code, text } }];
  }

  /** Sends what is queued, then closes the socket; a pending receive ends. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    await this.#socket.close();
  }
}
