/**
 * Reads request heads from a connection, one after another (keep-alive,
 * pipelining), each bounded in size (8 KiB: 431 past it) and in time; and
 * writes answers within a deadline. Shared by the HTTP front and the
 * metrics listener.
 *
 * @module
 */
import {
  findHeadEnd,
  HttpHeadError,
  type HttpRequestHead,
  parseHttpRequestHead,
} from "../../protocol/http_head.ts";

/** The largest request head read (request line and headers). */
export const MAX_HEAD_BYTES = 8 * 1024;

/** What {@linkcode HeadReader.next} found. */
export type HeadResult =
  | { kind: "head"; head: HttpRequestHead }
  /** The peer closed (or the connection was closed) before a head began. */
  | { kind: "closed" }
  /** No whole head within the time; `partial`: some of one had come. */
  | { kind: "timeout"; partial: boolean }
  /** The head is malformed, too large or of another version. */
  | { kind: "bad"; error: HttpHeadError };

/** Request heads from one connection. */
export class HeadReader {
  #conn: Deno.Conn;
  #timeoutMs: number;
  #pending: Uint8Array = new Uint8Array(0);
  #scratch = new Uint8Array(MAX_HEAD_BYTES);

  /** Reads from `conn`; each head must be whole within `timeoutMs` of being asked for. */
  constructor(conn: Deno.Conn, timeoutMs: number) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
  }

  /** Bytes read after the last head (a pipelined request, or WebSocket frames after an upgrade). */
  get leftover(): Uint8Array {
    return this.#pending;
  }

  /**
   * The next head. On a timeout the connection is left open (the caller may
   * answer 408) but the read under way is abandoned: close the connection.
   */
  async next(): Promise<HeadResult> {
    let timedOut = false;
    let wake: () => void = () => {};
    const timeout = new Promise<null>((resolve) => {
      wake = () => resolve(null);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      wake();
    }, this.#timeoutMs);
    try {
      while (true) {
        try {
          const end = findHeadEnd(this.#pending, MAX_HEAD_BYTES);
          if (end >= 0) {
            const head = parseHttpRequestHead(this.#pending.subarray(0, end));
            this.#pending = this.#pending.slice(end);
            return { kind: "head", head };
          }
        } catch (error) {
          if (error instanceof HttpHeadError) return { kind: "bad", error };
          throw error;
        }
        const read = this.#conn.read(this.#scratch);
        // The read stays pending after a timeout; closing the connection ends it.
        read.catch(() => {});
        const n = await Promise.race([read, timeout]);
        if (timedOut) return { kind: "timeout", partial: this.#pending.length > 0 };
        if (n === null) return { kind: "closed" };
        const joined = new Uint8Array(this.#pending.length + n);
        joined.set(this.#pending);
        joined.set(this.#scratch.subarray(0, n), this.#pending.length);
        this.#pending = joined;
      }
    } catch (error) {
      if (isDisconnect(error)) return { kind: "closed" };
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Writes all of `bytes`, or closes the connection when that takes longer
 * than `timeoutMs` (a peer that does not read cannot hold it). Resolves
 * false when the write failed or timed out.
 */
export async function writeWithin(
  conn: Deno.Conn,
  bytes: Uint8Array,
  timeoutMs: number,
): Promise<boolean> {
  const timer = setTimeout(() => closeQuietly(conn), timeoutMs);
  try {
    let written = 0;
    while (written < bytes.length) written += await conn.write(bytes.subarray(written));
    return true;
  } catch (error) {
    if (isDisconnect(error)) return false;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Closes `conn`, ignoring that it already was. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** Whether `error` only says the connection went away (or was closed here). */
export function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.UnexpectedEof ||
    // A TLS peer that sends garbage or an alert.
    error instanceof Deno.errors.InvalidData;
}
