/**
 * Getting back into a room after the server forgot us (it restarted, or shut
 * down and came back): the former host creates the room again, everyone
 * else joins, and both retry for a bounded time while the server is away or
 * the room is not there yet. Then HELLO on the new connection, and the
 * replay that follows is not shown twice.
 *
 * Sealed sessions add what a rejoin must refuse (docs/protocol.md 6.3): a
 * server key other than the one first accepted (the connector stops before
 * the request; {@linkcode checkRejoinAnswer} checks again), and a room that
 * no longer asks for the password we had (someone else may have created
 * its name first after a restart).
 */
import { type ChatEvent, REPLAY_ON_WELCOME } from "../protocol/datagram.ts";
import { sameBytes } from "../protocol/sealed_datagram.ts";
import { ServerKeyMismatchError } from "../protocol/sealed_types.ts";
import { Operation, PROTOCOL_REVISION } from "../protocol/tcrp.ts";
import { type Connection, type Connector, connectWithin, type RoomRequest } from "./connector.ts";
import { ChatRefusedError, ChatTransportError } from "./errors.ts";
import { type Scheduler, sleep } from "./scheduler.ts";

/** How to get back in. */
export interface RejoinOptions {
  /** Where membership requests go. */
  connector: Connector;
  /** The clock for the backoff and the deadline. */
  scheduler: Scheduler;
  /** The room to get back into. */
  room: string;
  /** Our name in it. */
  username: string;
  /** The room's password, kept from the first request. */
  password: string | null;
  /** The room's capacity, sent again when we create it again. */
  capacity: number | null;
  /** We were the room's host, so we create it again. */
  wasHost: boolean;
  /** Give up when this much time has passed (milliseconds, on the scheduler's clock). */
  timeoutMs: number;
  /** First wait between attempts; it doubles up to 2 s. */
  retryBaseMs: number;
  /** Aborting stops the retrying (the session closed). */
  signal?: AbortSignal;
}

const MAX_RETRY_WAIT_MS = 2_000;

/**
 * The client refused the room a rejoin led to (it no longer asks for our
 * password, or the server answered without sealing): final, not retried.
 */
export class RejoinStoppedError extends Error {
  /** Says what was refused and why. */
  constructor(message: string) {
    super(message);
    this.name = "RejoinStoppedError";
  }
}

/**
 * What the session had when it rejoins: the server key it first accepted
 * (null for a plain session) and whether it gave a password.
 */
export interface RejoinExpectations {
  serverKey: Uint8Array | null;
  hadPassword: boolean;
  room: string;
}

/**
 * Judges a rejoin's answer before anything is sent on it. Throws
 * `ServerKeyMismatchError` for a sealed session whose server now proves
 * another key (a connector should have stopped before the request; this is
 * the session's own check), `RejoinStoppedError` for a sealed session that
 * gets a plain answer, or a room that no longer asks for the password we
 * had: then `leave` is called first, to give the membership back.
 */
export function checkRejoinAnswer(
  expected: RejoinExpectations,
  connection: Connection,
  leave: () => void,
): void {
  const { sealed } = connection;
  if (expected.serverKey !== null) {
    if (sealed === undefined) {
      throw new RejoinStoppedError(
        `the server answered the rejoin of "${expected.room}" without sealing; not rejoining`,
      );
    }
    if (
      sealed.serverStaticKey.length !== expected.serverKey.length ||
      !sameBytes(sealed.serverStaticKey, expected.serverKey)
    ) {
      throw new ServerKeyMismatchError(
        expected.serverKey,
        sealed.serverStaticKey,
        `the server's key changed since this session first joined "${expected.room}"; ` +
          "not rejoining (nothing was sent)",
      );
    }
  }
  if (sealed !== undefined && expected.hadPassword && !sealed.passwordProtected) {
    leave();
    throw new RejoinStoppedError(
      `"${expected.room}" no longer asks for a password: after a restart someone else may ` +
        "have created a room of that name; left it without sending a message",
    );
  }
}

/** A refusal that waiting may change: 429 from the server, or a plain one before the handshake. */
function isBusy(error: unknown): boolean {
  if (error instanceof ChatRefusedError) return error.status === 429;
  if (error instanceof ChatTransportError) {
    // A plain refusal before a sealed handshake completes (anyone could send one).
    const status = (error as { status?: unknown }).status;
    return status === 429 || status === 503;
  }
  return false;
}
/** One attempt's own limit, within what is left of the whole. */
const ATTEMPT_TIMEOUT_MS = { min: 100, max: 5_000 };

/**
 * Resolves with a new connection, or rejects with the last reason once the
 * time is up or the server gives an answer that waiting cannot change (a
 * wrong password, a full room, a server at its limits).
 *
 * Retried: no connection (the server is not back yet), 404 for a joiner (the
 * host has not created the room again yet), 409 name taken (our old
 * membership may linger until the server times it out), 429. A former host
 * that finds the room already there (409) joins it instead.
 */
export async function rejoinRoom(options: RejoinOptions): Promise<Connection> {
  const { scheduler, signal } = options;
  const started = scheduler.now();
  const left = () => options.timeoutMs - (scheduler.now() - started);
  let create = options.wasHost;
  let wait = options.retryBaseMs;
  let lastError: Error = new ChatTransportError("no attempt was made");
  while (left() > 0) {
    if (signal?.aborted) throw new ChatTransportError("rejoining was cancelled");
    try {
      return await connectWithin(options.connector, {
        operation: create ? Operation.CREATE_ROOM : Operation.JOIN_ROOM,
        roomName: options.room,
        username: options.username,
        password: options.password,
        capacity: create ? options.capacity : null,
        protocol: PROTOCOL_REVISION,
      }, {
        scheduler,
        signal,
        timeoutMs: Math.max(ATTEMPT_TIMEOUT_MS.min, Math.min(ATTEMPT_TIMEOUT_MS.max, left())),
      });
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
        throw error; // ServerKeyMismatchError above all: never retried, never pinned
      }
      lastError = error;
    }
    if (left() <= 0) break;
    await sleep(scheduler, Math.min(wait, left()), signal);
    wait = Math.min(wait * 2, MAX_RETRY_WAIT_MS);
  }
  throw lastError;
}

/** What {@linkcode connectFirst} needs. */
export interface FirstConnectOptions {
  connector: Connector;
  request: RoomRequest;
  scheduler: Scheduler;
  signal?: AbortSignal;
  /** The whole of it, retries included, has this long (the session's connectTimeoutMs). */
  timeoutMs: number;
  /** First wait after a 429; it doubles up to 2 s. */
  retryBaseMs: number;
}

/**
 * The first membership request. A 429 (too many requests from this address
 * just now, as when many clients start at once), and a plain 429 or 503
 * that arrives before a sealed handshake completes (a retryable transport
 * failure), is retried after a wait that doubles up to 2 s, within
 * `timeoutMs` in all; every other refusal, and a 429 when the time is up,
 * rejects at once.
 */
export async function connectFirst(options: FirstConnectOptions): Promise<Connection> {
  const { scheduler, signal, timeoutMs } = options;
  const deadline = scheduler.now() + timeoutMs;
  let wait = options.retryBaseMs;
  while (true) {
    try {
      return await connectWithin(options.connector, options.request, {
        scheduler,
        signal,
        timeoutMs: Math.max(1, deadline - scheduler.now()),
      });
    } catch (error) {
      const left = deadline - scheduler.now();
      if (!isBusy(error) || left <= wait) throw error;
    }
    await sleep(scheduler, wait, signal);
    wait = Math.min(wait * 2, MAX_RETRY_WAIT_MS);
  }
}

/** {@linkcode rejoinRoom}'s options with a deadline, and the HELLO step that follows it. */
export interface GetBackInOptions extends Omit<RejoinOptions, "timeoutMs"> {
  /** Give up at this time on the scheduler's clock. */
  deadline: number;
  /**
   * Takes the new connection and says HELLO until WELCOME; rejects when no
   * WELCOME comes within `timeoutMs` (the attempt then starts over).
   */
  welcome: (connection: Connection, timeoutMs: number) => Promise<void>;
  /** True once the session has closed: stop quietly. */
  isClosed: () => boolean;
}

/**
 * The session's rejoin phase: a new membership, then HELLO, again and again
 * until WELCOME or the deadline. Resolves once back in (or the session has
 * closed); rejects with the last reason otherwise.
 */
export async function getBackIn(options: GetBackInOptions): Promise<void> {
  const { scheduler, deadline } = options;
  let lastError: unknown = new ChatTransportError("no attempt was made");
  while (!options.isClosed() && scheduler.now() < deadline) {
    let connection: Connection;
    try {
      connection = await rejoinRoom({ ...options, timeoutMs: deadline - scheduler.now() });
    } catch (error) {
      if (options.isClosed()) return;
      throw error;
    }
    if (options.isClosed()) {
      connection.channel.close();
      return;
    }
    try {
      await options.welcome(connection, deadline - scheduler.now());
      return;
    } catch (error) {
      if (options.isClosed()) return;
      if (!(error instanceof ChatTransportError)) throw error;
      lastError = error; // the HELLO went unanswered: ask for a membership again
    }
  }
  if (!options.isClosed()) throw lastError;
}

/**
 * The last events shown, to recognise them when a rejoin lands in the same
 * room on the same server (we were dropped, it did not restart): WELCOME's
 * replay then repeats them with the same seq, time, type, name and text.
 */
export class ShownEvents {
  /** seq -> identity of the last events shown on this connection. */
  #recent = new Map<number, string>();
  #beforeRejoin = new Map<number, string>();

  /** True when `event` was shown before the rejoin; otherwise it is remembered as shown now. */
  isRepeat(event: ChatEvent): boolean {
    const identity = `${event.timeMs}|${event.type}|${event.name}|${event.text}`;
    if (this.#beforeRejoin.get(event.seq) === identity) {
      this.#beforeRejoin.delete(event.seq);
      return true;
    }
    this.#recent.set(event.seq, identity);
    if (this.#recent.size > REPLAY_ON_WELCOME) {
      this.#recent.delete(this.#recent.keys().next().value!);
    }
    return false;
  }

  /** A rejoin begins: what was shown so far is what the next WELCOME's replay may repeat. */
  rejoining(): void {
    this.#beforeRejoin = this.#recent;
    this.#recent = new Map();
  }
}
