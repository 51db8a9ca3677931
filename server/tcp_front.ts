/**
 * TCRP over TCP: accepts connections, reads one request frame per
 * connection (two for a sealed operation: Noise message 1, then the sealed
 * request after the server's message 2; sealed_exchange.ts runs that part,
 * for WebSockets too, and sealed_responder.ts does its crypto), hands the
 * decoded request to the handshake (handshake.ts), writes its answer as
 * TCRP frames and closes. It holds no room state and
 * decides nothing itself.
 *
 * The accept loop survives what the machine runs out of: at the open-files
 * limit accept() throws EMFILE, and the loop backs off (io_errors.ts) instead
 * of ending, so the server answers again as soon as descriptors free up.
 *
 * @module
 */
import { ProtocolError } from "../protocol/errors.ts";
import {
  decodeTcrpRequest,
  encodeTcrpResponse,
  encodeTcrpToken,
  isSealedOperation,
  Operation,
  type Refusal,
  type TcrpFrame,
  TcrpFrameParser,
} from "../protocol/tcrp.ts";
import type { AbuseReporter } from "./abuse_log.ts";
import type { Clocks } from "./clock.ts";
import type { Peer } from "./endpoint.ts";
import type { Handshake, HandshakeOutcome, HandshakeSlot } from "./handshake.ts";
import { describeIoError, runIoLoop } from "./io_errors.ts";
import type { Logger } from "./log.ts";
import { badHeaderReply, runSealedExchange, type SealedHello } from "./sealed_exchange.ts";
import type { SealedServerKeys } from "./sealed_responder.ts";

/** What the TCRP front end needs. */
export interface TcrpFrontEndOptions {
  handshake: Handshake;
  /** The per-address key of a peer's IP (address_key.ts). */
  addressKeyOf: (ip: string) => string;
  log: Logger;
  clocks: Clocks;
  maxPayloadBytes: number;
  /**
   * A connection must have sent its whole request (header and body) within
   * this long; a sealed one, both its frames (so the client's round trip
   * after message 2 counts too).
   */
  requestTimeoutMs: number;
  /** A connection must be done (request read, password checked, answer written) within this long. */
  exchangeTimeoutMs: number;
  /** The server's keys for sealed exchanges. */
  sealed: SealedServerKeys;
  /** Where bad requests and timeouts are counted. */
  report: AbuseReporter;
  /** Told the status of each refusal written (the metrics count them by status). */
  onRefused?: (status: number) => void;
}

/** Serves TCRP on a listener until {@linkcode TcrpFrontEnd.close}. */
export class TcrpFrontEnd {
  #options: TcrpFrontEndOptions;
  #listener: Deno.TcpListener;
  #connections = new Set<Deno.Conn>();
  #handlers = new Set<Promise<void>>();
  #closing = new AbortController();

  /** Wraps a bound listener. */
  constructor(listener: Deno.TcpListener, options: TcrpFrontEndOptions) {
    this.#listener = listener;
    this.#options = options;
  }

  /**
   * Accepts connections until the listener closes. Out of descriptors or
   * buffers, it waits 5 ms doubling up to 1 s and tries again; an error that
   * is not one of those (nor a closed listener) rejects, and the server stops.
   */
  async serve(): Promise<void> {
    const { log, clocks } = this.#options;
    await runIoLoop(async () => {
      this.#accept(await this.#listener.accept());
      return true;
    }, {
      signal: this.#closing.signal,
      monotonic: clocks.monotonic,
      onExhausted: (error) =>
        log.warn(
          `tcp accept: ${describeIoError(error)} with ${this.#connections.size} connections ` +
            "open; retrying with a back-off (raise the open-files limit, ulimit -n, or lower " +
            "--max-handshakes)",
        ),
      onRecovered: (ms) => log.warn(`tcp accept: accepting again after ${ms} ms`),
    });
  }

  /** Stops accepting, drops open connections, waits for their handlers. */
  async close(): Promise<void> {
    this.#closing.abort();
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const conn of this.#connections) closeQuietly(conn);
    await Promise.allSettled([...this.#handlers]);
  }

  #accept(conn: Deno.TcpConn): void {
    const ip = (conn.remoteAddr as Deno.NetAddr).hostname;
    const peer: Peer = { address: ip, addressKey: this.#options.addressKeyOf(ip) };
    this.#connections.add(conn);
    // Evicted (the gate is full and this is the oldest still reading): closing
    // it ends its read, and so its handler.
    const admission = this.#options.handshake.open(peer, () => closeQuietly(conn));
    const handler =
      (admission.ok
        ? this.#exchange(conn, peer, admission.slot).finally(() => admission.slot.close())
        : this.#turnAway(conn, admission.refusal))
        .finally(() => {
          this.#connections.delete(conn);
          closeQuietly(conn);
          this.#handlers.delete(handler);
        });
    this.#handlers.add(handler);
  }

  /**
   * Answers a connection over the gate's limits with a refusal frame and closes
   * it at once, without reading: it never holds a handshake slot.
   */
  async #turnAway(conn: Deno.Conn, refusal: Refusal): Promise<void> {
    try {
      // 100-odd bytes into a fresh socket's empty send buffer: this does not wait on the peer.
      await writeAll(conn, encodeTcrpResponse(Operation.LIST_ROOMS, new Uint8Array(0), refusal));
      this.#options.onRefused?.(refusal.status);
    } catch {
      /* it went away first */
    }
  }

  async #exchange(conn: Deno.Conn, peer: Peer, slot: HandshakeSlot): Promise<void> {
    const { requestTimeoutMs, exchangeTimeoutMs, report, clocks } = this.#options;
    const received: Received = { operation: 0, bytes: 0, keyed: false };
    const cancel = new AbortController();
    const abortOnClose = () => cancel.abort(new Error("the server is shutting down"));
    this.#closing.signal.addEventListener("abort", abortOnClose, { once: true });
    // Two deadlines: a short one for the request to come in, so a header and
    // a trickled body hold a slot for seconds, not the whole exchange; and
    // one for the whole exchange, so a peer that never reads a long answer
    // (LIST_ROOMS) cannot hold its connection either.
    const timeOut = (what: string, ms: number) => () => {
      report(
        "handshake-timeout",
        peer.addressKey,
        `${what} not done within ${ms / 1000} s (${received.bytes} bytes came)`,
      );
      cancel.abort(new Error(`the ${what} timed out`));
      closeQuietly(conn);
    };
    const readTimer = setTimeout(timeOut("request", requestTimeoutMs), requestTimeoutMs);
    const timer = setTimeout(timeOut("exchange", exchangeTimeoutMs), exchangeTimeoutMs);
    const deadline = clocks.monotonic() + exchangeTimeoutMs;
    const reader = new FrameReader(conn, this.#options.maxPayloadBytes, received);
    try {
      const frame = await reader.next();
      if (frame === null) return;
      if (isSealedOperation(frame.operation)) {
        await runSealedExchange(frame as SealedHello, {
          next: () => reader.next(),
          write: (bytes) => writeAll(conn, bytes),
        }, {
          handshake: this.#options.handshake,
          keys: this.#options.sealed,
          report,
          peer,
          slot,
          requestRead: () => clearTimeout(readTimer),
          keyed: () => received.keyed = true,
          signal: cancel.signal,
          deadline,
          ...(this.#options.onRefused ? { onRefused: this.#options.onRefused } : {}),
        });
        return;
      }
      clearTimeout(readTimer);
      slot.requestRead();
      const reply = (body: Refusal | Parameters<typeof encodeTcrpResponse>[2]) =>
        encodeTcrpResponse(frame.operation, frame.roomName, body);
      const { handshake } = this.#options;
      let outcome: HandshakeOutcome;
      try {
        const request = decodeTcrpRequest(frame);
        outcome = await handshake.answer(request, { peer, signal: cancel.signal, deadline });
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        outcome = handshake.refuseMalformed(peer, error);
      }
      if (outcome.kind === "refused") {
        await writeAll(conn, reply(outcome.refusal));
        return this.#options.onRefused?.(outcome.refusal.status);
      }
      if (outcome.kind === "rooms") {
        return await writeAll(
          conn,
          reply({ status: 200, rooms: outcome.rooms, next: outcome.next }),
        );
      }
      try {
        await writeAll(conn, reply(outcome.accepted));
        await writeAll(conn, encodeTcrpToken(frame.operation, frame.roomName, outcome.token));
      } catch (error) {
        // The member was admitted but will never learn its token.
        this.#options.handshake.revoke(outcome.token);
        throw error;
      }
    } catch (error) {
      if (error instanceof ProtocolError) {
        const reply = badHeaderReply(error, received.operation, received.keyed, peer, report);
        if (reply !== null) {
          this.#options.onRefused?.(error.status);
          await writeAll(conn, reply).catch(() => {});
        }
      } else if (!cancel.signal.aborted && !isDisconnect(error)) {
        this.#options.log.error(
          `tcp ${peer.address}: ${error instanceof Error ? error.stack : String(error)}`,
        );
      }
    } finally {
      clearTimeout(readTimer);
      clearTimeout(timer);
      this.#closing.signal.removeEventListener("abort", abortOnClose);
    }
  }
}

/** What came in so far, for timeout reports and for refusing a bad header. */
interface Received {
  /** The second byte of the stream: the first frame's operation. */
  operation: number;
  bytes: number;
  /** Noise message 2 went out: only sealed answers may follow. */
  keyed: boolean;
}

/**
 * Whole client frames from a connection, in order. A sealed exchange reads
 * two; frames that came in one read (a replayed transcript arrives that way)
 * wait their turn.
 */
class FrameReader {
  #conn: Deno.Conn;
  #parser: TcrpFrameParser;
  #received: Received;
  #frames: TcrpFrame[] = [];
  #buffer = new Uint8Array(16 * 1024);

  constructor(conn: Deno.Conn, maxPayloadBytes: number, received: Received) {
    this.#conn = conn;
    this.#parser = new TcrpFrameParser({ maxPayloadBytes });
    this.#received = received;
  }

  /** The next whole frame, or null when the peer closed first. */
  async next(): Promise<TcrpFrame | null> {
    while (this.#frames.length === 0) {
      const n = await this.#conn.read(this.#buffer);
      if (n === null) return null;
      const total = this.#received.bytes;
      if (total < 2 && total + n >= 2) this.#received.operation = this.#buffer[1 - total]!;
      this.#received.bytes = total + n;
      this.#frames.push(...this.#parser.push(this.#buffer.subarray(0, n)));
    }
    return this.#frames.shift()!;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.Interrupted;
}
