/**
 * Getting back into a room after the server forgot us (it restarted, or shut
 * down and came back): the former host creates the room again, everyone
 * else joins, and both retry for a bounded time while the server is away or
 * the room is not there yet.
 */
import { Operation } from "../protocol/tcrp.ts";
import type { HostPort } from "../protocol/host_port.ts";
import { ChatRefusedError, ChatTransportError } from "./errors.ts";
import type { Membership, TcrpCallOptions } from "./tcrp_client.ts";
import type { RoomRequest } from "../protocol/tcrp.ts";

/** How to get back in. */
export interface RejoinOptions {
  server: HostPort;
  room: string;
  username: string;
  password: string | null;
  capacity: number | null;
  /** We were the room's host, so we create it again. */
  wasHost: boolean;
  /** Give up when this much time has passed (milliseconds). */
  timeoutMs: number;
  /** First wait between attempts; it doubles up to 2 s. */
  retryBaseMs: number;
  signal?: AbortSignal;
  /** The TCRP call (tests pass a fake). */
  request: (
    server: HostPort,
    request: RoomRequest,
    options: TcrpCallOptions,
  ) => Promise<Membership>;
}

const MAX_RETRY_WAIT_MS = 2_000;

/**
 * Resolves with a new membership, or rejects with the last reason once the
 * time is up or the server gives an answer that waiting cannot change (a
 * wrong password, a full room, a server at its limits).
 *
 * Retried: no connection (the server is not back yet), 404 for a joiner (the
 * host has not created the room again yet), 409 name taken (our old
 * membership may linger until the server times it out), 429. A former host
 * that finds the room already there (409) joins it instead.
 */
export async function rejoinRoom(options: RejoinOptions): Promise<Membership> {
  const started = Date.now();
  let create = options.wasHost;
  let wait = options.retryBaseMs;
  let lastError: Error = new ChatTransportError("no attempt was made");
  while (Date.now() - started < options.timeoutMs) {
    if (options.signal?.aborted) throw new ChatTransportError("rejoining was cancelled");
    const remaining = options.timeoutMs - (Date.now() - started);
    try {
      return await options.request(options.server, {
        operation: create ? Operation.CREATE_ROOM : Operation.JOIN_ROOM,
        roomName: options.room,
        username: options.username,
        password: options.password,
        capacity: create ? options.capacity : null,
      }, { timeoutMs: Math.max(100, Math.min(5_000, remaining)), signal: options.signal });
    } catch (error) {
      if (error instanceof ChatRefusedError) {
        if (create && error.status === 409) {
          create = false; // someone made it first; join it instead, at once
          lastError = error;
          continue;
        }
        if (error.status === 404 && options.wasHost) {
          create = true; // the room we joined instead has closed since: make it again
        } else if (![404, 409, 429].includes(error.status)) {
          throw error;
        }
      } else if (!(error instanceof ChatTransportError)) {
        throw error;
      }
      lastError = error as Error;
    }
    const left = options.timeoutMs - (Date.now() - started);
    if (left <= 0) break;
    await sleepUnlessAborted(Math.min(wait, left), options.signal);
    wait = Math.min(wait * 2, MAX_RETRY_WAIT_MS);
  }
  throw lastError;
}

function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
