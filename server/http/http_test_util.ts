/**
 * Test-only: an HTTP front on 127.0.0.1:0 with the fixture page, and raw
 * HTTP exchanges over TCP (from a chosen source address too), so tests can
 * send what no well-behaved client would.
 */
import net from "node:net";
import { addressKey } from "../address_key.ts";
import type { Logger } from "../log.ts";
import {
  type HttpFront,
  type HttpFrontOptions,
  startHttpFront,
  type WebSocketArrival,
} from "./http_server.ts";
import { FIXTURE_KEY, FIXTURE_PAGE } from "./page_fixture_test_util.ts";

/** A logger that keeps its lines. */
export function memoryLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return { lines, error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
}

/** A front with test defaults, the WebSockets it handed over, and its log. */
export interface TestFront {
  front: HttpFront;
  port: number;
  arrivals: WebSocketArrival[];
  log: Logger & { lines: string[] };
  close(): Promise<void>;
}

/** Starts a front on 127.0.0.1:0 (host name "classroom-pc"); arrivals are kept, not started. */
export function startTestFront(overrides: Partial<HttpFrontOptions> = {}): TestFront {
  const arrivals: WebSocketArrival[] = [];
  const log = memoryLog();
  const front = startHttpFront({
    listen: { hostname: "127.0.0.1", port: 0 },
    page: FIXTURE_PAGE,
    serverKey: FIXTURE_KEY,
    publicOrigins: [],
    trustProxy: [],
    maxConnections: 64,
    maxConnectionsPerIp: 32,
    addressKeyOf: (ip) => addressKey(ip),
    log,
    monotonic: () => performance.now(),
    heartbeatMs: 10_000,
    hostName: "classroom-pc",
    onWebSocket: (arrival) => void arrivals.push(arrival),
    ...overrides,
  });
  return { front, port: front.addr.port, arrivals, log, close: () => front.close() };
}

/** One parsed response. */
export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
  /** The head as sent, for exact checks. */
  head: string;
}

/** Bytes as one character each (TextDecoder's "latin1" is windows-1252, which remaps 0x80-0x9f). */
const latin1 = {
  decode: (bytes: Uint8Array) => Array.from(bytes, (byte) => String.fromCharCode(byte)).join(""),
};

/**
 * Splits `text` (everything a connection received) into responses. A body
 * is Content-Length bytes (none for 101, 304, or `headOnly`).
 */
export function parseResponses(text: string, headOnly = false): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf("\r\n\r\n");
    if (end < 0) throw new Error(`a partial response: ${JSON.stringify(rest)}`);
    const head = rest.slice(0, end);
    const [statusLine, ...lines] = head.split("\r\n");
    const status = Number(statusLine!.split(" ")[1]);
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    const length = headOnly || status === 101 || status === 304
      ? 0
      : Number(headers.get("content-length") ?? 0);
    const body = rest.slice(end + 4, end + 4 + length);
    responses.push({ status, headers, body, head });
    rest = rest.slice(end + 4 + length);
    if (status === 101) break;
  }
  return responses;
}

/** Reads from `conn` until the server closes it (or `timeoutMs`: then throws). */
export async function readUntilClosed(conn: Deno.Conn, timeoutMs = 5_000): Promise<string> {
  const timer = setTimeout(() => conn.close(), timeoutMs);
  const chunks: string[] = [];
  const buffer = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(latin1.decode(buffer.subarray(0, n)));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted)) {
      if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
    } else {
      throw new Error(`the server did not close within ${timeoutMs} ms`);
    }
  } finally {
    clearTimeout(timer);
  }
  try {
    conn.close();
  } catch { /* closed by the timer */ }
  return chunks.join("");
}

/** Sends `request` on a new connection and returns every response until the server closes. */
export async function exchange(
  port: number,
  request: string,
  headOnly = false,
): Promise<RawResponse[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port, transport: "tcp" });
  await conn.write(new TextEncoder().encode(request));
  return parseResponses(await readUntilClosed(conn), headOnly);
}

/** A GET (or another method) with a Host and `Connection: close`, and extra header lines. */
export function request(
  target: string,
  headers: Record<string, string> = {},
  method = "GET",
): string {
  const all = { Host: "127.0.0.1", Connection: "close", ...headers };
  const lines = Object.entries(all).filter(([, value]) => value !== "").map(([k, v]) =>
    `${k}: ${v}`
  );
  return `${method} ${target} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

/**
 * A connection from `localAddress` (127.0.0.2: a second source address on
 * loopback; Deno.connect cannot bind one). Resolves with what the server
 * sent before closing, or "open" when it is still open after `openForMs`
 * (then it is closed here).
 */
export function connectFrom(
  localAddress: string,
  port: number,
  send: string,
  openForMs = 300,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    let received = "";
    let done = false;
    const finish = (result: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(received === "" ? "open" : received), openForMs);
    socket.on("connect", () => {
      if (send !== "") socket.write(send);
    });
    socket.on("data", (chunk: Uint8Array) => received += latin1.decode(chunk));
    socket.on("end", () => finish(received));
    socket.on("error", (error: Error) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(error);
      }
    });
  });
}

export type { HttpFront };
