/**
 * `--metrics-addr`: a listener of its own, apart from the page's port (so
 * a public page never exposes the counts), that answers only `GET /metrics`
 * (and HEAD) in the Prometheus text format, one request per connection.
 * It is meant for loopback; `serve` warns when it is not (httpWarnings in
 * http_config.ts).
 *
 * @module
 */
import { describeIoError } from "../io_errors.ts";
import type { Logger } from "../log.ts";
import { type MetricsSnapshot, renderMetrics } from "../metrics.ts";
import { closeQuietly, HeadReader, isDisconnect, writeWithin } from "./head_reader.ts";
import { encodeResponse, textResponse } from "./http_response.ts";

/** Where a listener binds. */
export interface HostPort {
  hostname: string;
  port: number;
}

/**
 * A `--metrics-addr` value: PORT (on 127.0.0.1), or HOST:PORT with an IPv6
 * host in brackets; port 0 is any free one. Throws a TypeError that says what
 * was expected.
 */
export function parseMetricsAddr(text: string): HostPort {
  const trimmed = text.trim();
  const match = /^(?:(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):)?(\d{1,5})$/.exec(trimmed);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || port > 65_535) {
    throw new TypeError("expected PORT or HOST:PORT (e.g. 9100 or 127.0.0.1:9100)");
  }
  const host = match[1] ?? "127.0.0.1";
  return { hostname: host.replace(/^\[|\]$/g, ""), port };
}

/** HOST:PORT, an IPv6 host in brackets. */
export function formatHostPort(addr: HostPort): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/** What the metrics listener needs. */
export interface MetricsListenerOptions {
  /** `--metrics-addr` (HOST:PORT or PORT) or an address. */
  addr: string | HostPort;
  /** Gathers the counts, once per request. */
  snapshot: () => MetricsSnapshot;
  log: Logger;
  /** A request head must come within this long (default 10 s). */
  headTimeoutMs?: number;
}

/** A running metrics listener. */
export interface MetricsListener {
  addr: Deno.NetAddr;
  /** Stops accepting, closes open connections, waits for them. */
  close(): Promise<void>;
}

/** The Content-Type of the text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** Scrapers are few: more connections at once than this wait in the kernel's backlog. */
const MAX_CONNECTIONS = 16;
const WRITE_TIMEOUT_MS = 10_000;

/** Binds (throws what `Deno.listen` throws) and serves until `close`. */
export function startMetricsListener(options: MetricsListenerOptions): MetricsListener {
  const where = typeof options.addr === "string" ? parseMetricsAddr(options.addr) : options.addr;
  const listener = Deno.listen({ hostname: where.hostname, port: where.port, transport: "tcp" });
  const connections = new Set<Deno.Conn>();
  const handlers = new Set<Promise<void>>();
  let slotFreed: () => void = () => {};
  const timeoutMs = options.headTimeoutMs ?? 10_000;

  const serveOne = async (conn: Deno.Conn) => {
    const result = await new HeadReader(conn, timeoutMs).next();
    if (result.kind === "closed" || result.kind === "timeout") return;
    if (result.kind === "bad") {
      await writeWithin(
        conn,
        textResponse(result.error.status, result.error.message, { close: true }),
        WRITE_TIMEOUT_MS,
      );
      return;
    }
    const { method, target } = result.head;
    const headOnly = method === "HEAD";
    let answer: Uint8Array;
    if (method !== "GET" && !headOnly) {
      answer = textResponse(405, "only GET is served", {
        close: true,
        headers: [["Allow", "GET, HEAD"]],
      });
    } else if (target.split("?")[0] !== "/metrics") {
      answer = textResponse(404, "only /metrics is served here", { close: true, headOnly });
    } else {
      answer = encodeResponse({
        status: 200,
        headers: [["Content-Type", METRICS_CONTENT_TYPE], ["Cache-Control", "no-store"]],
        body: new TextEncoder().encode(renderMetrics(options.snapshot())),
        headOnly,
        close: true,
      });
    }
    await writeWithin(conn, answer, WRITE_TIMEOUT_MS);
  };

  const accepting = (async () => {
    while (true) {
      while (connections.size >= MAX_CONNECTIONS) {
        await new Promise<void>((resolve) => slotFreed = resolve);
      }
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (
          !(error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted)
        ) {
          options.log.error(`metrics accept: ${describeIoError(error)}; no longer serving metrics`);
        }
        return;
      }
      connections.add(conn);
      const handler = serveOne(conn)
        .catch((error) => {
          if (!isDisconnect(error)) options.log.error(`metrics: ${describeIoError(error)}`);
        })
        .finally(() => {
          connections.delete(conn);
          closeQuietly(conn);
          handlers.delete(handler);
          slotFreed();
        });
      handlers.add(handler);
    }
  })();

  return {
    addr: listener.addr as Deno.NetAddr,
    async close() {
      try {
        listener.close();
      } catch { /* already closed */ }
      for (const conn of connections) closeQuietly(conn);
      slotFreed();
      await accepting;
      await Promise.allSettled([...handlers]);
    },
  };
}
