/**
 * An independent client for the revision-2 scenarios, written from
 * docs/protocol.md rather than with the project's session library: TCRP
 * frames built and read as bytes and JSON, sent from a chosen 127/8 source
 * address (testing/tcp_from.ts), and UDP sockets bound to one. Answers are
 * read as plain JSON, so fields a newer server adds ("protocol", "next")
 * are seen as they are.
 */
import { encodeUtf8 } from "../../protocol/bytes.ts";
import { ClientKind } from "../../protocol/datagram.ts";
import { Operation, State, TOKEN_BYTES } from "../../protocol/tcrp.ts";
import { rawDatagram, requestFrame, u32 } from "../../testing/raw_client.ts";
import { tcrpRequestFrom } from "../../testing/tcp_from.ts";

/** One TCRP exchange as the scenarios judge it. */
export interface Answer {
  /** The state-1 status; "none" when nothing came, "error" when connecting failed. */
  status: number | "none" | "error";
  /** The state-1 JSON. */
  json: Record<string, unknown> | null;
  /** The state-2 token after a 200 to CREATE_ROOM or JOIN_ROOM. */
  token: Uint8Array | null;
  /** Bytes received (headers included). */
  bytes: number;
  /** Milliseconds from connecting to the end of the exchange. */
  ms: number;
}

/** A CREATE_ROOM or JOIN_ROOM request frame; `fields` is the JSON as sent. */
export function roomFrame(
  op: "create" | "join",
  room: string,
  fields: Record<string, unknown>,
): Uint8Array {
  const operation = op === "create" ? Operation.CREATE_ROOM : Operation.JOIN_ROOM;
  return requestFrame(operation, room, JSON.stringify(fields));
}

/** LIST_ROOMS: empty (revision 1, or revision 2's first page), or with a page request. */
export function listFrame(page?: { cursor?: string; limit?: number }): Uint8Array {
  return requestFrame(Operation.LIST_ROOMS, "", page ? JSON.stringify(page) : "");
}

/** Sends `bytes` from `source` and reads the whole answer (the server closes after it). */
export async function requestFrom(
  addr: Deno.NetAddr,
  bytes: Uint8Array,
  source: string,
  timeoutMs = 5_000,
): Promise<Answer> {
  const started = performance.now();
  let exchange;
  try {
    exchange = await tcrpRequestFrom(addr, bytes, source, timeoutMs);
  } catch {
    return { status: "error", json: null, token: null, bytes: 0, ms: performance.now() - started };
  }
  const ms = performance.now() - started;
  const [first, second] = exchange.frames;
  const bytesIn = exchange.frames.reduce(
    (sum, frame) => sum + 32 + frame.roomName.length + frame.payload.length,
    0,
  );
  if (first === undefined) return { status: "none", json: null, token: null, bytes: bytesIn, ms };
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(new TextDecoder().decode(first.payload));
  } catch { /* judged by status below */ }
  const status = typeof json?.status === "number" ? json.status : "none";
  const token = status === 200 && second?.state === State.COMPLETE &&
      second.payload.length === TOKEN_BYTES
    ? second.payload
    : null;
  return { status, json, token, bytes: bytesIn, ms };
}

/**
 * {@linkcode requestFrom} for a scenario's setup: a 503 (every connection
 * slot of the server taken, by the setup itself) is asked again, 100 ms
 * later, up to 50 times.
 */
export async function setupRequestFrom(
  addr: Deno.NetAddr,
  bytes: Uint8Array,
  source: string,
): Promise<Answer> {
  for (let tries = 1;; tries++) {
    const answer = await requestFrom(addr, bytes, source);
    if (answer.status !== 503 || tries === 50) return answer;
    await pause(100);
  }
}

/**
 * The revision the server speaks: 2 when its answers carry `"protocol": 2`
 * (the revision-2 version signal), else 1.
 */
export async function serverRevision(addr: Deno.NetAddr, source: string): Promise<number> {
  const answer = await requestFrom(addr, listFrame(), source);
  const protocol = answer.json?.protocol;
  return typeof protocol === "number" ? protocol : 1;
}

/** Counts statuses: "12× 200, 3× 429". */
export function tally(values: (number | string)[]): string {
  const counts = new Map<number | string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => String(a).localeCompare(String(b)))
    .map(([value, n]) => `${n}× ${value}`).join(", ") || "none";
}

/** The `q` quantile of `values` (0-1), NaN when empty. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Runs `jobs` with at most `width` in flight. */
export async function limited<T>(jobs: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  return results;
}

/** Resolves after `ms`. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A membership: where its token came from and the room it is for. */
export interface Membership {
  room: string;
  token: Uint8Array;
}

/**
 * A UDP socket bound to one source address that only sends: an attacker
 * does not read what it provokes (the kernel drops it once the socket's
 * buffer is full), and reading it would cost the generator, not the server.
 */
export class SendOnlySocket {
  readonly source: string;
  #conn: Deno.DatagramConn;
  #to: Deno.NetAddr;

  /** Binds `source`, port 0. */
  constructor(server: Deno.NetAddr, source: string) {
    this.source = source;
    this.#to = server;
    this.#conn = Deno.listenDatagram({ hostname: source, port: 0, transport: "udp" });
  }

  /** Sends one datagram; a send the kernel refuses (buffer full) is counted by the caller. */
  async send(bytes: Uint8Array): Promise<boolean> {
    try {
      await this.#conn.send(bytes, this.#to);
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the socket. */
  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

/** HELLO, HEARTBEAT or MESSAGE for a membership, as bytes. */
export const datagramFor = {
  hello: (m: Membership, lastSeq: number) =>
    rawDatagram(m.room, m.token, ClientKind.HELLO, u32(lastSeq)),
  heartbeat: (m: Membership, lastSeq: number) =>
    rawDatagram(m.room, m.token, ClientKind.HEARTBEAT, u32(lastSeq)),
  message: (m: Membership, msgId: number, text: string) => {
    const body = encodeUtf8(text);
    const out = new Uint8Array(4 + body.length);
    out.set(u32(msgId));
    out.set(body, 4);
    return rawDatagram(m.room, m.token, ClientKind.MESSAGE, out);
  },
  leave: (m: Membership) => rawDatagram(m.room, m.token, ClientKind.LEAVE, new Uint8Array(0)),
};

/**
 * Sends `total` datagrams from `sockets` at `perSecond` on average, paced
 * every 10 ms, `make(i)` giving the i-th and its socket. Returns how many
 * went out and the seconds it took (a generator that cannot keep up shows
 * as a lower rate than offered).
 */
export async function paced(
  total: number,
  perSecond: number,
  make: (i: number) => [SendOnlySocket, Uint8Array],
): Promise<{ sent: number; failed: number; seconds: number }> {
  const started = performance.now();
  let i = 0;
  let failed = 0;
  while (i < total) {
    const due = Math.min(total, Math.ceil(((performance.now() - started) / 1000) * perSecond));
    const batch: Promise<boolean>[] = [];
    for (; i < due && batch.length < 2_048; i++) {
      const [socket, bytes] = make(i);
      batch.push(socket.send(bytes));
    }
    failed += (await Promise.all(batch)).filter((ok) => !ok).length;
    if (i >= due) await pause(10);
  }
  return { sent: total - failed, failed, seconds: (performance.now() - started) / 1000 };
}
