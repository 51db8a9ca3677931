/**
 * The TCRP front end: reads one request per connection, asks the registry,
 * writes the answer and closes. It holds no room state of its own; a
 * connection gate bounds how many connections are open per IP and in all.
 */
import { ProtocolError } from "../protocol/errors.ts";
import { validateRoomName, validateUsername } from "../protocol/names.ts";
import {
  decodeTcrpRequest,
  encodeTcrpResponse,
  encodeTcrpToken,
  type JoinAccepted,
  Operation,
  type Refusal,
  type TcrpFrame,
  TcrpFrameParser,
} from "../protocol/tcrp.ts";
import type { AbuseReporter } from "./abuse_log.ts";
import type { ConnectionGate } from "./connection_gate.ts";
import type { Logger } from "./log.ts";
import { hashPassword, verifyPassword } from "./password.ts";
import type { KeyedRateLimiter } from "./rate_limit.ts";
import type { Outgoing, RoomRegistry } from "./registry.ts";

/** What the TCRP front end needs. */
export interface TcrpFrontEndOptions {
  registry: RoomRegistry;
  log: Logger;
  /** Hands registry output (join events) to the UDP side. */
  send: (outgoing: Outgoing[]) => void;
  /** The state-1 success payload: this server's real UDP port and timings. */
  accepted: JoinAccepted;
  maxPayloadBytes: number;
  requestTimeoutMs: number;
  /** Requests per source IP. */
  requestLimiter: KeyedRateLimiter;
  /** Connections open at once, per IP and in all. */
  gate: ConnectionGate;
  /** Where bad requests, timeouts and refused connections are counted. */
  report: AbuseReporter;
}

/** Serves TCRP on a listener until {@linkcode TcrpFrontEnd.close}. */
export class TcrpFrontEnd {
  #options: TcrpFrontEndOptions;
  #listener: Deno.TcpListener;
  #connections = new Set<Deno.Conn>();
  #handlers = new Set<Promise<void>>();

  /** Wraps a bound listener. */
  constructor(listener: Deno.TcpListener, options: TcrpFrontEndOptions) {
    this.#listener = listener;
    this.#options = options;
  }

  /** Accepts connections until the listener closes. */
  async serve(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        const ip = (conn.remoteAddr as Deno.NetAddr).hostname;
        const refused = this.#options.gate.open(ip);
        const handler =
          (refused === null ? this.#handle(conn, ip) : this.#turnAway(conn, ip, refused))
            .finally(() => this.#handlers.delete(handler));
        this.#handlers.add(handler);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  /** Stops accepting, drops open connections, waits for their handlers. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const conn of this.#connections) closeQuietly(conn);
    await Promise.allSettled([...this.#handlers]);
  }

  /**
   * Answers a connection over the gate's limits with a refusal frame and closes
   * it at once, without reading: it never holds a handshake slot.
   */
  async #turnAway(conn: Deno.Conn, ip: string, why: "per-ip" | "total"): Promise<void> {
    this.#connections.add(conn);
    const { report } = this.#options;
    const answer = why === "per-ip"
      ? refusal(429, "too many connections open from your address; finish one first")
      : refusal(503, "the server has too many connections open; try again soon");
    report(why === "per-ip" ? "handshake-limit" : "connection-limit", ip, answer.error);
    try {
      // 100-odd bytes into a fresh socket's empty send buffer: this does not wait on the peer.
      await writeAll(conn, encodeTcrpResponse(Operation.LIST_ROOMS, new Uint8Array(0), answer));
    } catch {
      /* it went away first */
    } finally {
      this.#connections.delete(conn);
      closeQuietly(conn);
    }
  }

  async #handle(conn: Deno.Conn, ip: string): Promise<void> {
    this.#connections.add(conn);
    const { requestTimeoutMs, report, gate } = this.#options;
    const received = { operation: 0, bytes: 0 };
    // One deadline for the whole exchange, so neither a slow trickle in nor a
    // peer that never reads a long answer (LIST_ROOMS) can hold the slot.
    const timer = setTimeout(() => {
      report(
        "handshake-timeout",
        ip,
        `exchange not done within ${requestTimeoutMs / 1000} s (${received.bytes} bytes came)`,
      );
      closeQuietly(conn);
    }, requestTimeoutMs);
    try {
      const frame = await this.#readRequest(conn, received);
      if (frame === null) return;
      for (const reply of await this.#answer(frame, ip)) await writeAll(conn, reply);
    } catch (error) {
      if (error instanceof ProtocolError) {
        // The header itself was bad: echo its operation byte when it is a known
        // one, else say LIST_ROOMS (the one without side effects), so that every
        // answer is a valid frame a client can parse.
        report(error.status === 413 ? "oversized-request" : "bad-request", ip, error.message);
        const known = received.operation >= Operation.CREATE_ROOM &&
          received.operation <= Operation.LIST_ROOMS;
        const reply = encodeTcrpResponse(
          known ? received.operation as Operation : Operation.LIST_ROOMS,
          new Uint8Array(0),
          refusal(error.status, error.message),
        );
        await writeAll(conn, reply).catch(() => {});
      } else if (!isDisconnect(error)) {
        this.#options.log.error(
          `tcp ${ip}: ${error instanceof Error ? error.stack : String(error)}`,
        );
      }
    } finally {
      clearTimeout(timer);
      gate.close(ip);
      this.#connections.delete(conn);
      closeQuietly(conn);
    }
  }

  async #readRequest(
    conn: Deno.Conn,
    received: { operation: number; bytes: number },
  ): Promise<TcrpFrame | null> {
    const parser = new TcrpFrameParser({ maxPayloadBytes: this.#options.maxPayloadBytes });
    const buffer = new Uint8Array(16 * 1024);
    let total = 0;
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return null;
      if (total < 2 && total + n >= 2) received.operation = buffer[1 - total]!;
      total += n;
      received.bytes = total;
      const [frame] = parser.push(buffer.subarray(0, n));
      if (frame !== undefined) return frame;
    }
  }

  async #answer(frame: TcrpFrame, ip: string): Promise<Uint8Array[]> {
    const { report, requestLimiter } = this.#options;
    const reply = (body: Parameters<typeof encodeTcrpResponse>[2]) =>
      encodeTcrpResponse(frame.operation, frame.roomName, body);
    if (!requestLimiter.take(ip)) {
      report("request-rate", ip, "TCRP request refused with 429");
      return [reply(refusal(429, "too many requests from your address; wait a moment"))];
    }
    try {
      return await this.#decide(frame, ip);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      report("bad-request", ip, error.message);
      return [reply(refusal(error.status, error.message))];
    }
  }

  async #decide(frame: TcrpFrame, ip: string): Promise<Uint8Array[]> {
    const { registry, log, send, accepted } = this.#options;
    const reply = (body: Parameters<typeof encodeTcrpResponse>[2]) =>
      encodeTcrpResponse(frame.operation, frame.roomName, body);
    const request = decodeTcrpRequest(frame);
    if (request.operation === Operation.LIST_ROOMS) {
      return [reply({ status: 200, rooms: registry.listRooms() })];
    }
    const roomName = validateRoomName(request.roomName);
    const username = validateUsername(request.username);
    let result;
    if (request.operation === Operation.CREATE_ROOM) {
      const password = request.password === null ? null : await hashPassword(request.password);
      result = registry.create({ roomName, username, password, capacity: request.capacity, ip });
    } else {
      const record = registry.passwordOf(roomName);
      let passwordProof = null;
      if (record && request.password !== null && await verifyPassword(request.password, record)) {
        passwordProof = record;
      }
      result = registry.join({ roomName, username, passwordProof, ip });
    }
    if (!result.ok) {
      log.debug(`tcp ${ip}: refused ${result.status} ${result.error}`);
      return [reply(refusal(result.status, result.error))];
    }
    send(result.outgoing);
    return [reply(accepted), encodeTcrpToken(frame.operation, frame.roomName, result.token)];
  }
}

function refusal(status: Refusal["status"], error: string): Refusal {
  return { status, error };
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
