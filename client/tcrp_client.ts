/**
 * The client side of TCRP: one connection per request, reading whole frames
 * however TCP splits them, turning refusals into {@linkcode ChatRefusedError}.
 * Plain requests, and sealed ones (docs/protocol.md section 6.1), whose
 * exchange is sealed_exchange.ts over the connection.
 */
import { ProtocolError } from "../protocol/errors.ts";
import {
  decodeTcrpResponse,
  encodeTcrpRequest,
  type JoinAccepted,
  type ListRequest,
  Operation,
  type RoomList,
  type RoomRequest,
  type RoomSummary,
  State,
  type TcrpFrame,
  TcrpFrameParser,
  type TcrpRequest,
  type TcrpResponse,
  TOKEN_BYTES,
} from "../protocol/tcrp.ts";
import type { HostPort } from "../protocol/host_port.ts";
import { ChatRefusedError, ChatTransportError } from "./errors.ts";
import {
  type FrameStream,
  type SealedExchangeOptions,
  sealedListExchange,
  type SealedMembership,
  sealedRoomExchange,
} from "./sealed_exchange.ts";

/** What a successful CREATE_ROOM or JOIN_ROOM hands back. */
export interface Membership {
  accepted: JoinAccepted;
  token: Uint8Array;
  /** Our end of the TCP connection: the token is bound to this IP. */
  localHostname: string;
}

/** How long a TCRP call waits for its answer unless told otherwise. */
export const DEFAULT_TCRP_TIMEOUT_MS = 10_000;

/** Options shared by the TCRP calls. */
export interface TcrpCallOptions {
  /** Give up after this long (default {@linkcode DEFAULT_TCRP_TIMEOUT_MS}). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

// Room lists can be long; a server answer beyond this is garbage, not a list.
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Most LIST_ROOMS pages one walk reads: a server's whole list is 10 at its default 1,000 rooms. */
const MAX_LIST_PAGES = 10_000;
/**
 * Most answer bytes one walk reads in all: what one answer may be, so a
 * server cannot make the client hold more by cutting its list into pages.
 */
export const MAX_LIST_WALK_BYTES = MAX_RESPONSE_BYTES;
/** Waits before asking again for a page refused with 429 (the walk is under way). */
const PAGE_RETRY_MS = [250, 500, 1_000, 2_000, 2_000];

/**
 * Asks for the whole room list, page by page (each page is one connection,
 * `timeoutMs` each), following each answer's `next` until it is null or
 * absent (a revision-1 server sends its whole list at once). A page after
 * the first refused with 429 (the address's list budget or request rate) is
 * asked for again after a pause, so a long walk is slowed, not lost. The
 * walk reads at most {@linkcode MAX_LIST_WALK_BYTES} of answers in all.
 */
export function requestRoomList(
  server: HostPort,
  options: TcrpCallOptions = {},
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<RoomSummary[]> {
  return walkRoomList(
    async (request) => {
      const { response, frames } = await exchange(server, request, 1, options);
      return { list: response as RoomList, bytes: frames[0]!.payload.length };
    },
    options,
    sleep,
  );
}

/**
 * {@linkcode requestRoomList} over sealed exchanges: each page's server key
 * is checked before its request goes out, and each row says whether its
 * room is sealed. A page refused with 429 before its handshake (the request
 * rate) or after (the list budget) is asked for again.
 */
export function requestSealedRoomList(
  server: HostPort,
  options: TcrpCallOptions & SealedExchangeOptions,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<RoomSummary[]> {
  return walkRoomList(
    (request) =>
      withConnection(server, options, (stream) => sealedListExchange(stream, request, options)),
    options,
    sleep,
  );
}

/** Follows `next` from page to page, with the limits of {@linkcode requestRoomList}. */
async function walkRoomList(
  page: (request: ListRequest) => Promise<{ list: RoomList; bytes: number }>,
  options: TcrpCallOptions,
  sleep: (ms: number) => Promise<void>,
): Promise<RoomSummary[]> {
  const rooms: RoomSummary[] = [];
  const cursors = new Set<string>();
  let cursor: string | null = null;
  let bytes = 0;
  for (let n = 0; n < MAX_LIST_PAGES; n++) {
    const request: ListRequest = cursor === null
      ? { operation: Operation.LIST_ROOMS }
      : { operation: Operation.LIST_ROOMS, cursor };
    const answer = await listPage(page, request, options, n === 0 ? [] : PAGE_RETRY_MS, sleep);
    bytes += answer.bytes;
    if (bytes > MAX_LIST_WALK_BYTES) {
      throw new ChatTransportError("the server's room list is larger than any real one");
    }
    const list = answer.list;
    rooms.push(...list.rooms);
    const next = list.next ?? null;
    if (next === null) return rooms;
    // A cursor seen before would walk in a circle.
    if (cursors.has(next)) break;
    cursors.add(next);
    cursor = next;
  }
  throw new ChatTransportError("the server's room list does not come to an end");
}

async function listPage(
  page: (request: ListRequest) => Promise<{ list: RoomList; bytes: number }>,
  request: ListRequest,
  options: TcrpCallOptions,
  retries: readonly number[],
  sleep: (ms: number) => Promise<void>,
): Promise<{ list: RoomList; bytes: number }> {
  for (let attempt = 0;; attempt++) {
    try {
      return await page(request);
    } catch (error) {
      const retry = retries[attempt];
      const limited = (error instanceof ChatRefusedError || error instanceof ChatTransportError) &&
        error.status === 429;
      if (!limited || retry === undefined) throw error;
      options.signal?.throwIfAborted();
      await sleep(retry);
    }
  }
}

/** Creates or joins a room; resolves with the token and the server's settings. */
export async function requestMembership(
  server: HostPort,
  request: RoomRequest,
  options: TcrpCallOptions = {},
): Promise<Membership> {
  const { response, frames, localHostname } = await exchange(server, request, 2, options);
  const token = frames[1]!;
  if (token.state !== State.COMPLETE || token.payload.length !== TOKEN_BYTES) {
    throw new ChatTransportError("the server's completion frame did not carry a 32-byte token");
  }
  return { accepted: response as JoinAccepted, token: token.payload, localHostname };
}

/** What a successful sealed CREATE_ROOM or JOIN_ROOM hands back. */
export interface SealedMembershipAnswer extends SealedMembership {
  /** Our end of the TCP connection. */
  localHostname: string;
}

/**
 * Creates or joins a room over a sealed exchange: the server's static key is
 * checked with `checkServerKey` before the request (name, password) is sent.
 * A refusal before the handshake completes is a {@linkcode ChatTransportError}
 * with its `status` (retryable); a sealed one is a {@linkcode ChatRefusedError}.
 */
export function requestSealedMembership(
  server: HostPort,
  request: RoomRequest,
  options: TcrpCallOptions & SealedExchangeOptions,
): Promise<SealedMembershipAnswer> {
  return withConnection(server, options, async (stream, localHostname) => ({
    ...await sealedRoomExchange(stream, request, options),
    localHostname,
  }));
}

/**
 * Runs `talk` over a new connection to `server` as a {@linkcode FrameStream},
 * within the call's time and signal, and closes it after. Errors other than
 * the exchange's own kinds (and the key check's) become transport errors.
 */
async function withConnection<T>(
  server: HostPort,
  options: TcrpCallOptions,
  talk: (stream: FrameStream, localHostname: string) => Promise<T>,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TCRP_TIMEOUT_MS;
  const signals = [AbortSignal.timeout(timeoutMs)];
  if (options.signal) signals.push(options.signal);
  const signal = AbortSignal.any(signals);
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: server.hostname, port: server.port, signal });
  } catch (error) {
    throw new ChatTransportError(
      `cannot reach ${server.hostname}:${server.port}: ${describe(error, timeoutMs)}`,
      { cause: error },
    );
  }
  const abort = () => conn.close();
  signal.addEventListener("abort", abort, { once: true });
  const parser = new TcrpFrameParser({ maxPayloadBytes: MAX_RESPONSE_BYTES });
  const frames: TcrpFrame[] = [];
  const buffer = new Uint8Array(16 * 1024);
  const stream: FrameStream = {
    write: (bytes) => writeAll(conn, bytes),
    read: async () => {
      while (frames.length === 0) {
        const n = await conn.read(buffer);
        if (n === null) return null;
        frames.push(...parser.push(buffer.subarray(0, n)));
      }
      return frames.shift()!;
    },
  };
  try {
    return await talk(stream, (conn.localAddr as Deno.NetAddr).hostname);
  } catch (error) {
    if (error instanceof ChatRefusedError || error instanceof ChatTransportError) throw error;
    if (error instanceof ProtocolError) {
      throw new ChatTransportError(`the server sent a malformed answer: ${error.message}`, {
        cause: error,
      });
    }
    // A failed key check is the caller's to show, unchanged (nothing was sent).
    if (!signal.aborted && !isIoError(error)) throw error;
    throw new ChatTransportError(`connection failed: ${describe(error, timeoutMs, signal)}`, {
      cause: error,
    });
  } finally {
    signal.removeEventListener("abort", abort);
    try {
      conn.close();
    } catch { /* closed by abort */ }
  }
}

/** An error of the socket (any of Deno.errors), as opposed to one the exchange's parts threw. */
function isIoError(error: unknown): boolean {
  return Object.values(Deno.errors).some((kind) => error instanceof kind);
}

/** A plain request: its answer (state 1) and, on success, `framesOnSuccess` frames in all. */
function exchange(
  server: HostPort,
  request: TcrpRequest,
  framesOnSuccess: number,
  options: TcrpCallOptions,
): Promise<{ response: TcrpResponse; frames: TcrpFrame[]; localHostname: string }> {
  return withConnection(server, options, async (stream, localHostname) => {
    await stream.write(encodeTcrpRequest(request));
    const frames: TcrpFrame[] = [];
    let response: TcrpResponse | null = null;
    while (frames.length < framesOnSuccess) {
      const frame = await stream.read();
      if (frame === null) break;
      frames.push(frame);
      if (response === null) {
        response = decodeTcrpResponse(frame);
        if (response.status !== 200) {
          throw new ChatRefusedError(response.status, (response as { error: string }).error);
        }
      }
    }
    if (response === null || frames.length < framesOnSuccess) {
      throw new ChatTransportError("the server closed the connection before answering in full");
    }
    return { response, frames, localHostname };
  });
}

function describe(error: unknown, timeoutMs: number, signal?: AbortSignal): string {
  if (signal?.aborted || (error instanceof DOMException && error.name === "TimeoutError")) {
    return `no answer within ${timeoutMs} ms`;
  }
  return error instanceof Error ? error.message : String(error);
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}
