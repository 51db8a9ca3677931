/**
 * The HTTP side of `chat serve`: one listener (plain, or TLS with
 * `--tls-cert`/`--tls-key`) that serves the page at `/` and its assets,
 * `/healthz`, and the WebSocket upgrade at `/ws`, which it hands to
 * `onWebSocket` as a {@linkcode WsConnection}. HTTP/1.1 is our own and
 * small: GET and HEAD only, no request bodies, a bounded head read within a
 * deadline, keep-alive for everything but upgrades (docs/protocol.md 7.1).
 *
 * Every connection counts against `maxConnections` in all and
 * `maxConnectionsPerIp` per client address (address_key.ts), from accept
 * until it closes; an upgraded one until its WebSocket closes. Over either,
 * it gets a short 503 and is closed before anything is read. A connection
 * from a trusted proxy (`--trust-proxy`) counts in the total at accept, and
 * each of its requests (a WebSocket for as long as it is open) counts
 * against the client address X-Forwarded-For gives, since one proxy
 * connection carries many clients.
 *
 * @module
 */
import type { HttpRequestHead } from "../../protocol/http_head.ts";
import type { Peer } from "../endpoint.ts";
import { describeIoError, runIoLoop } from "../io_errors.ts";
import type { Logger } from "../log.ts";
import { CidrSet } from "./cidr.ts";
import { clientAddress } from "./forwarded.ts";
import { closeQuietly, HeadReader, isDisconnect, writeWithin } from "./head_reader.ts";
import { HostPolicy, parseHost } from "./host_policy.ts";
import type { HttpFront, HttpFrontOptions, HttpFrontStats } from "./http_front_types.ts";
import { encodeResponse, textResponse } from "./http_response.ts";
import { pageAnswer, PageAssets } from "./page_assets.ts";
import { checkUpgrade } from "./upgrade_request.ts";
import { WsConnection } from "./ws_connection.ts";

export type { PageFiles } from "./page_assets.ts";
export type {
  HttpFront,
  HttpFrontOptions,
  HttpFrontStats,
  WebSocketArrival,
} from "./http_front_types.ts";

/** The default head deadline. */
export const HEAD_TIMEOUT_MS = 10_000;
const WRITE_TIMEOUT_MS = 30_000;
/** The sealed handshake's first message: a TCRP frame of 32 + --max-payload (16 KiB) bytes. */
const FIRST_MESSAGE_BYTES = 32 + 16 * 1024;

/** Reads `Deno.hostname()`, or null when it may not (no --allow-sys=hostname). */
function readHostName(log: Logger): string | null {
  try {
    return Deno.hostname();
  } catch (error) {
    log.warn(
      `http: cannot read the machine's host name (${describeIoError(error)}); only IP ` +
        "addresses and localhost are served (run with --allow-sys=hostname, or give --public-origin)",
    );
    return null;
  }
}

/**
 * Binds the listener (throws what `Deno.listen`/`Deno.listenTls` throws)
 * and serves until `close`. A page template without its placeholders
 * (PageTemplateError), a public origin or trusted block that does not parse
 * (TypeError, CidrError) throw too, with nothing left bound.
 */
export function startHttpFront(options: HttpFrontOptions): HttpFront {
  const { hostname, port, tls } = options.listen;
  const listener = tls === undefined
    ? Deno.listen({ hostname, port, transport: "tcp" })
    : Deno.listenTls({ hostname, port, transport: "tcp", cert: tls.cert, key: tls.key });
  try {
    return new HttpFrontServer(listener, options);
  } catch (error) {
    // A bad page template, origin or CIDR block: nothing may stay bound.
    listener.close();
    throw error;
  }
}

type Outcome = "keep" | "close";

/** The answer over the connection limits. */
const BUSY = textResponse(503, "too many connections: try again later", {
  close: true,
  headers: [["Retry-After", "5"]],
});

class HttpFrontServer implements HttpFront {
  readonly addr: Deno.NetAddr;
  readonly build: string | null;
  readonly stats: HttpFrontStats = {
    open: 0,
    refusedByLimit: 0,
    hostRefused: 0,
    originRefused: 0,
    upgrades: 0,
    outOfDate: 0,
    badRequests: 0,
  };
  #options: HttpFrontOptions;
  #listener: Deno.Listener;
  #page: PageAssets | null;
  #policy: HostPolicy;
  #trusted: CidrSet;
  #perIp = new Map<string, number>();
  #connections = new Set<Deno.Conn>();
  #sockets = new Set<WsConnection>();
  #handlers = new Set<Promise<void>>();
  #closing = new AbortController();
  #headTimeoutMs: number;
  #tls: boolean;
  #writeTimeoutMs: number;
  #accepting: Promise<void>;

  constructor(listener: Deno.Listener, options: HttpFrontOptions) {
    this.#listener = listener;
    this.#options = options;
    this.addr = listener.addr as Deno.NetAddr;
    this.#page = options.page === null ? null : new PageAssets(options.page, options.serverKey);
    this.build = this.#page?.build ?? null;
    const hostName = options.hostName === undefined ? readHostName(options.log) : options.hostName;
    this.#policy = new HostPolicy({ publicOrigins: options.publicOrigins, hostName });
    this.#trusted = new CidrSet(options.trustProxy);
    this.#headTimeoutMs = options.headTimeoutMs ?? HEAD_TIMEOUT_MS;
    this.#tls = options.listen.tls !== undefined;
    this.#writeTimeoutMs = options.writeTimeoutMs ?? WRITE_TIMEOUT_MS;
    this.#accepting = this.#acceptLoop().catch((error) => {
      options.log.error(`http accept: ${describeIoError(error)}; no longer accepting`);
    });
  }

  async close(): Promise<void> {
    this.#closing.abort();
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const ws of this.#sockets) {
      if (ws.isOpen) ws.close(1001, "server shutting down");
    }
    for (const conn of this.#connections) closeQuietly(conn);
    await this.#accepting;
    await Promise.allSettled([...this.#handlers]);
  }

  async #acceptLoop(): Promise<void> {
    const { log, monotonic } = this.#options;
    await runIoLoop(async () => {
      this.#accept(await this.#listener.accept());
      return true;
    }, {
      signal: this.#closing.signal,
      monotonic,
      onExhausted: (error) =>
        log.warn(
          `http accept: ${describeIoError(error)} with ${this.stats.open} connections open; ` +
            "retrying with a back-off (raise ulimit -n, or lower --max-http-connections)",
        ),
      onRecovered: (ms) => log.warn(`http accept: accepting again after ${ms} ms`),
    });
  }

  #track(conn: Deno.Conn, work: Promise<void>): void {
    this.#connections.add(conn);
    const handler = work
      .catch((error) => {
        if (!isDisconnect(error)) {
          this.#options.log.error(
            `http: ${error instanceof Error ? error.stack ?? error.message : String(error)}`,
          );
        }
      })
      .finally(() => {
        this.#connections.delete(conn);
        closeQuietly(conn);
        this.#handlers.delete(handler);
      });
    this.#handlers.add(handler);
  }

  #accept(conn: Deno.Conn): void {
    const peerIp = (conn.remoteAddr as Deno.NetAddr).hostname;
    const { maxConnections, addressKeyOf } = this.#options;
    const viaProxy = this.#trusted.has(peerIp);
    const directKey = viaProxy ? null : addressKeyOf(peerIp);
    if (this.stats.open >= maxConnections || (directKey !== null && !this.#acquire(directKey))) {
      this.stats.refusedByLimit++;
      this.#track(conn, this.#turnAway(conn).then(() => {}));
      return;
    }
    this.stats.open++;
    this.#track(
      conn,
      this.#serve(conn, peerIp, viaProxy).finally(() => {
        this.stats.open--;
        if (directKey !== null) this.#release(directKey);
      }),
    );
  }

  #acquire(key: string): boolean {
    const count = this.#perIp.get(key) ?? 0;
    if (count >= this.#options.maxConnectionsPerIp) return false;
    this.#perIp.set(key, count + 1);
    return true;
  }

  #release(key: string): void {
    const count = this.#perIp.get(key) ?? 0;
    if (count <= 1) this.#perIp.delete(key);
    else this.#perIp.set(key, count - 1);
  }

  /**
   * A short 503 into a fresh socket's empty buffer, then close: no request is
   * read. Over TLS the handshake comes first (closing before it ends would not
   * free the socket anyway: see #serve).
   */
  async #turnAway(conn: Deno.Conn): Promise<boolean> {
    if (this.#tls) {
      try {
        await (conn as Deno.TlsConn).handshake();
      } catch {
        return false;
      }
    }
    return await writeWithin(conn, BUSY, Math.min(this.#writeTimeoutMs, 2_000));
  }

  /** Requests on one connection until it closes, fails, or is upgraded and its WebSocket closes. */
  async #serve(conn: Deno.Conn, peerIp: string, viaProxy: boolean): Promise<void> {
    if (this.#tls) {
      // Deno cannot abort a TLS handshake: closing the connection before it ends
      // leaves the socket open until the peer goes away (measured on 2.9.6). So the
      // connection keeps its slot, counted, until the handshake ends either way; the
      // head deadline starts after it.
      try {
        await (conn as Deno.TlsConn).handshake();
      } catch {
        return;
      }
    }
    const reader = new HeadReader(conn, this.#headTimeoutMs);
    while (!this.#closing.signal.aborted) {
      const result = await reader.next();
      if (result.kind === "closed") return;
      if (result.kind === "timeout") {
        if (result.partial) {
          this.stats.badRequests++;
          await this.#send(
            conn,
            textResponse(408, "the request head took too long", { close: true }),
          );
        }
        return;
      }
      if (result.kind === "bad") {
        this.stats.badRequests++;
        await this.#send(
          conn,
          textResponse(result.error.status, result.error.message, { close: true }),
        );
        return;
      }
      const head = result.head;
      const address = clientAddress(peerIp, head.headers.get("x-forwarded-for"), this.#trusted);
      const peer: Peer = { address, addressKey: this.#options.addressKeyOf(address) };
      // Behind a proxy, the request (its WebSocket, if any) counts against its client's address.
      if (viaProxy && !this.#acquire(peer.addressKey)) {
        this.stats.refusedByLimit++;
        await this.#send(conn, BUSY);
        return;
      }
      let outcome: Outcome;
      try {
        outcome = await this.#respond(conn, head, peer, reader);
      } finally {
        if (viaProxy) this.#release(peer.addressKey);
      }
      if (outcome === "close") return;
    }
  }

  async #send(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
    return await writeWithin(conn, bytes, this.#writeTimeoutMs);
  }

  /** Answers one request; "close" ends the connection (an upgrade's, once its WebSocket closes). */
  async #respond(
    conn: Deno.Conn,
    head: HttpRequestHead,
    peer: Peer,
    reader: HeadReader,
  ): Promise<Outcome> {
    const headOnly = head.method === "HEAD";
    const keepAlive = head.version === "HTTP/1.1" &&
      !/(^|,)\s*close\s*(,|$)/i.test(head.headers.get("connection") ?? "");
    const fail = async (status: number, text: string, headers: [string, string][] = []) => {
      this.stats.badRequests++;
      await this.#send(conn, textResponse(status, text, { close: true, headers, headOnly }));
      return "close" as const;
    };
    const hostHeader = head.headers.get("host");
    if (hostHeader === undefined) return await fail(400, "a Host header is required");
    const host = parseHost(hostHeader);
    if (host === null) return await fail(400, "the Host header is malformed");
    if (!this.#policy.hostAllowed(host)) {
      this.stats.hostRefused++;
      const text = this.#policy.hasPublicOrigins
        ? `this server is not served as ${hostHeader}: it answers only for its --public-origin list`
        : `this server answers only for its IP addresses, localhost and its host name; to serve it ` +
          `as ${hostHeader}, start it with --public-origin`;
      await this.#send(conn, textResponse(421, text, { close: true, headOnly }));
      return "close";
    }
    const length = head.headers.get("content-length");
    if (head.headers.has("transfer-encoding") || (length !== undefined && length !== "0")) {
      return await fail(400, "requests with a body are not served");
    }
    const path = head.target.split("?")[0]!;
    if (!path.startsWith("/")) return await fail(400, "the request target must be a path");
    if (path === "/ws") return await this.#upgrade(conn, head, host, peer, reader);
    if (head.method !== "GET" && !headOnly) {
      return await fail(405, "only GET and HEAD are served", [["Allow", "GET, HEAD"]]);
    }
    const close = !keepAlive;
    const answer = path === "/healthz"
      ? textResponse(200, "ok", { headOnly, close })
      : pageAnswer(this.#page, path, head.headers.get("if-none-match"), { headOnly, close });
    if (!(await this.#send(conn, answer))) return "close";
    return close ? "close" : "keep";
  }

  /** `/ws`: checks the upgrade, answers 101, and holds the connection until its WebSocket closes. */
  async #upgrade(
    conn: Deno.Conn,
    head: HttpRequestHead,
    host: NonNullable<ReturnType<typeof parseHost>>,
    peer: Peer,
    reader: HeadReader,
  ): Promise<Outcome> {
    const check = checkUpgrade(head, this.build);
    if (!check.ok) {
      this.stats.badRequests++;
      await this.#send(
        conn,
        textResponse(check.status, check.text, {
          close: true,
          headers: check.headers,
          headOnly: head.method === "HEAD",
        }),
      );
      return "close";
    }
    const origin = head.headers.get("origin");
    const verdict = this.#policy.checkOrigin(origin, host);
    const switched = encodeResponse({
      status: 101,
      headers: [
        ["Upgrade", "websocket"],
        ["Connection", "Upgrade"],
        ["Sec-WebSocket-Accept", check.accept],
        ["Sec-WebSocket-Protocol", check.subprotocol],
      ],
    });
    if (!(await this.#send(conn, switched))) return "close";
    this.stats.upgrades++;
    const { heartbeatMs, monotonic } = this.#options;
    const ws = new WsConnection(conn, reader.leftover, {
      maxMessageBytes: this.#options.maxFirstMessageBytes ?? FIRST_MESSAGE_BYTES,
      pingIntervalMs: heartbeatMs,
      silenceLimitMs: 3 * heartbeatMs,
      monotonic,
    });
    this.#sockets.add(ws);
    // Owned by the WebSocket from here: the HTTP close path must not close it under it.
    this.#connections.delete(conn);
    try {
      if (!check.current) {
        this.stats.outOfDate++;
        refuseAtOnce(ws, 4426, "this page is out of date: reload it");
      } else if (verdict === "refused") {
        this.stats.originRefused++;
        this.#options.log.debug(`http ${peer.address}: WebSocket from origin ${origin} refused`);
        refuseAtOnce(ws, 4403, `origin not allowed: ${(origin ?? "").slice(0, 90)}`);
      } else if (this.#closing.signal.aborted) {
        refuseAtOnce(ws, 1001, "server shutting down");
      } else {
        try {
          this.#options.onWebSocket({ ws, peer, subprotocol: check.subprotocol });
        } catch (error) {
          // Not left open and unread: closed as a server error, and said.
          this.#options.log.error(`http: onWebSocket failed: ${describeIoError(error)}`);
          if (ws.isOpen) refuseAtOnce(ws, 1011, "server error");
        }
      }
      await ws.closed;
    } finally {
      this.#sockets.delete(ws);
    }
    return "close";
  }
}

/** Starts a WebSocket (if not yet) only to close it with `code`; its reader sees the peer's close. */
function refuseAtOnce(ws: WsConnection, code: number, reason: string): void {
  try {
    ws.start({ message() {}, closed() {} });
  } catch { /* started already by the handler that failed */ }
  ws.close(code, reason);
}
