/**
 * `chat join`: decides between the terminal screen and pipe mode, asks
 * (on a terminal only) for what the flags left out, and retries the
 * handshake after a refusal a person can fix.
 */
import * as readline from "node:readline";
import process from "node:process";
import type { HostPort } from "../protocol/host_port.ts";
import { ProtocolError } from "../protocol/errors.ts";
import { validateRoomName, validateUsername } from "../protocol/names.ts";
import type { RoomSummary } from "../protocol/tcrp.ts";
import { ChatRefusedError } from "./errors.ts";
import { type ExitCause, exitCodeFor, installExitHandlers } from "./exit_signals.ts";
import { sanitize } from "./format.ts";
import { type ByteSink, LineOutput } from "./line_output.ts";
import { UsageError } from "./usage_error.ts";
import { defaultPinsPath, explicitKeyCheck, pinnedKeyCheck, PinStore } from "./pin_store.ts";
import type { ServerKeyCheck } from "../protocol/sealed_types.ts";
import { runPipeMode } from "./pipe_mode.ts";
import {
  askCreateOrJoin,
  askName,
  askNewPassword,
  askNewRoom,
  askPassword,
  askRoomToJoin,
} from "./prompts.ts";
import { ChatSession, type SessionOptions } from "./session.ts";
import { TcpUdpConnector } from "./tcp_udp_connector.ts";
import { requestSealedRoomList } from "./tcrp_client.ts";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { runTerminal } from "./terminal.ts";

/** The flags of `chat join`. */
export interface JoinFlags {
  server: HostPort;
  name?: string;
  create?: boolean;
  join?: boolean;
  room?: string;
  passwordStdin?: boolean;
  capacity?: number;
  json?: boolean;
  /** Seconds to keep trying to get back in after the server forgets us; 0: do not. */
  rejoinTimeout?: number;
  /** false (`--no-bell`): the chat screen rings no bell on a mention. */
  bell?: boolean;
  /** `--server-key`: the fingerprint (32 bytes) the server must prove, for this run, without pins. */
  serverKey?: Uint8Array;
}

/** The terminal facts `chat join` depends on. */
export interface JoinEnvironment {
  interactive: boolean;
  color: boolean;
  writeLine: (line: string) => void;
  writeError: (line: string) => void;
  /** Pipe mode's stdout and stderr (default `Deno.stdout`, `Deno.stderr`). */
  stdout?: ByteSink;
  stderr?: ByteSink;
}

/** Signals that end pipe mode with a LEAVE (none of them asks first). */
const PIPE_SIGNALS: Deno.Signal[] = ["SIGHUP", "SIGTERM", "SIGINT"];

/** Runs `chat join`; resolves with the exit code. */
export async function runJoinCommand(flags: JoinFlags, env: JoinEnvironment): Promise<number> {
  if (flags.create && flags.join) throw new UsageError("choose one of --create and --join");
  if (flags.capacity !== undefined && flags.join) {
    throw new UsageError("--capacity is for --create only");
  }
  // Names that break the fixed rules are the caller's mistake, found before
  // any connection (the server would only say 400).
  checkName("--name", flags.name, validateUsername);
  checkName("--room", flags.room, validateRoomName);
  if (env.interactive) {
    // stdin is the terminal, so --password-stdin is served by the hidden
    // password prompts, asked only when the room needs one.
    const session = await openInteractively(flags, env, runKeyCheck(flags, env.writeError));
    return await runTerminal(session, { color: env.color, bell: flags.bell !== false });
  }
  if (flags.name === undefined || flags.room === undefined || !(flags.create || flags.join)) {
    throw new UsageError(
      "without a terminal, chat join needs --name, --room and --create or --join",
    );
  }
  return await runPipe(flags, { ...flags, name: flags.name, room: flags.room }, env);
}

function checkName(flag: string, value: string | undefined, validate: (name: string) => string) {
  if (value === undefined) return;
  try {
    validate(value);
  } catch (error) {
    if (error instanceof ProtocolError) throw new UsageError(`${flag}: ${error.message}`);
    throw error;
  }
}

/**
 * Pipe mode with its process around it: stdout and stderr that notice a
 * reader going away, and a LEAVE on SIGHUP, SIGTERM, SIGINT or a closed
 * stdout (`exit_signals.ts`).
 */
async function runPipe(
  flags: JoinFlags,
  named: { name: string; room: string },
  env: JoinEnvironment,
): Promise<number> {
  const out = new LineOutput(env.stdout ?? Deno.stdout);
  const err = new LineOutput(env.stderr ?? Deno.stderr);
  // Bounded: a reader that stopped reading must not hold the exit up.
  const flushed = async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([out.flush(), err.flush()]),
      new Promise((resolve) => (timer = setTimeout(resolve, 1_000))),
    ]);
    clearTimeout(timer);
  };
  const stop = new AbortController();
  let running: Promise<number> | null = null;
  const exits = installExitHandlers({
    signals: PIPE_SIGNALS,
    leave: async (cause) => {
      stop.abort(cause);
      const code = running === null ? exitCodeFor(cause, 1) : await running;
      await flushed();
      return code;
    },
  });
  out.onClosed = () => exits.request({ kind: "outputClosed" });
  const stdinLines = lineReader();
  try {
    const password = flags.passwordStdin ? await stdinLines.next() : undefined;
    if (flags.passwordStdin && password === undefined) {
      stdinLines.close();
      throw new UsageError("--password-stdin: stdin ended before a password line");
    }
    const choice = {
      create: flags.create === true,
      room: named.room,
      username: named.name,
      password: password ?? null,
    };
    const keyCheck = runKeyCheck(flags, (line) => err.writeLine(line));
    running = runPipeMode(sessionOptionsOf(flags, choice, keyCheck), {
      lines: stdinLines.rest(),
      out,
      err,
      json: flags.json === true,
      stop: stop.signal,
    });
    return await running;
  } catch (error) {
    // Stopped while opening: the stop was the point, not the error it caused.
    if (stop.signal.aborted) return exitCodeFor(stop.signal.reason as ExitCause, 1);
    throw error;
  } finally {
    await flushed();
    exits.dispose();
  }
}

async function openInteractively(
  flags: JoinFlags,
  env: JoinEnvironment,
  keyCheck: ServerKeyCheck,
): Promise<ChatSession> {
  const listAll = () => listRooms(flags.server, keyCheck);
  let username = flags.name ?? await askName();
  let create = flags.create ? true : flags.join ? false : undefined;
  let rooms = create === true ? [] : await listAll();
  create ??= await askCreateOrJoin(rooms);
  let room: string;
  let password: string | null = null;
  if (create) {
    room = await freeRoomName(flags, env, flags.room ?? await askNewRoom(), listAll);
    password = await askNewPassword(env.writeError);
  } else {
    room = flags.room ?? await askRoomToJoin(rooms);
    password = await passwordFor(room, rooms);
  }
  while (true) {
    try {
      return await ChatSession.open(
        sessionOptionsOf(flags, { create, room, username, password }, keyCheck),
      );
    } catch (error) {
      if (!(error instanceof ChatRefusedError)) throw error;
      // Ask again for the one thing a person can fix. Anything else ends the
      // command, and main prints the refusal: each refusal is printed once.
      const canPick = flags.room === undefined;
      const fixable = error.status === 401 ||
        (error.status === 409 && (create ? canPick : flags.name === undefined)) ||
        ((error.status === 403 || error.status === 404) && !create && canPick);
      if (!fixable) throw error;
      env.writeError(`The server said: ${sanitize(error.message)}`);
      if (error.status === 401) {
        password = await askPassword(`Password for "${sanitize(room)}"`);
      } else if (error.status === 409 && !create) {
        username = await askName();
      } else if (error.status === 409) {
        room = await freeRoomName(flags, env, await askNewRoom(), listAll);
      } else {
        // Full (403) or gone (404): back to a fresh list.
        rooms = await listAll();
        room = await askRoomToJoin(rooms);
        password = await passwordFor(room, rooms);
      }
    }
  }
}

/** The password prompt for a listed locked room; null for any other. */
async function passwordFor(room: string, rooms: RoomSummary[]): Promise<string | null> {
  if (!rooms.find((r) => r.name === room)?.passwordProtected) return null;
  return await askPassword(`Password for "${sanitize(room)}"`);
}

/**
 * `room`, or another name asked for while the server's list already has
 * it, so the password is asked for a name that can be created. A name given
 * with --room that is taken ends the command (409). Only exact names are
 * compared here; a look-alike the server refuses comes back as 409 and is
 * asked again.
 */
async function freeRoomName(
  flags: JoinFlags,
  env: JoinEnvironment,
  room: string,
  listAll: () => Promise<RoomSummary[]>,
) {
  while ((await listAll()).some((r) => r.name === room)) {
    const taken = `a room named "${room}" already exists`;
    if (flags.room !== undefined) throw new ChatRefusedError(409, taken);
    env.writeError(`${sanitize(taken)}; choose another name.`);
    room = await askNewRoom();
  }
  return room;
}

/** What was chosen, by flag or by answer. */
export interface JoinChoice {
  create: boolean;
  room: string;
  username: string;
  password: string | null;
}

/**
 * The session `chat join` opens, from its flags and what was chosen. The
 * capacity goes only with a create: `--capacity` and then "Join" in the
 * menu must not send it (the server refuses a join that carries one).
 */
export function sessionOptionsOf(
  flags: JoinFlags,
  choice: JoinChoice,
  keyCheck: ServerKeyCheck,
): SessionOptions {
  return {
    // Always sealed: the project's client never falls back to the plain protocol.
    connector: new TcpUdpConnector(flags.server, {
      sealed: { crypto: nodeCrypto, checkServerKey: keyCheck },
    }),
    crypto: nodeCrypto,
    ...choice,
    capacity: choice.create ? flags.capacity ?? null : null,
    timings: flags.rejoinTimeout === undefined
      ? {}
      : { rejoinTimeoutMs: flags.rejoinTimeout * 1000 },
  };
}

/** Reads stdin line by line, so a password line can be taken before the messages. */
function lineReader() {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  const iterator = rl[Symbol.asyncIterator]();
  return {
    async next(): Promise<string | undefined> {
      const result = await iterator.next();
      return result.done ? undefined : result.value;
    },
    async *rest(): AsyncIterable<string> {
      while (true) {
        const result = await iterator.next();
        if (result.done) return;
        yield result.value;
      }
    },
    close(): void {
      rl.close();
    },
  };
}

/**
 * How `chat join` and `chat rooms` judge the server's key before anything
 * secret is sent: against `--server-key` when given (no pins read or
 * written), else against the pins, trusting a first contact (`onPinned`
 * says so, once). One check serves a whole run, rejoins included, and
 * accepts only the key it first accepted (client/pin_store.ts).
 */
export function serverKeyCheckFor(
  flags: { server: HostPort; serverKey?: Uint8Array },
  pins: () => PinStore,
  onPinned: (line: string) => void,
): ServerKeyCheck {
  if (flags.serverKey !== undefined) return explicitKeyCheck(flags.server, flags.serverKey);
  const store = pins();
  return pinnedKeyCheck(store, flags.server, {
    onPinned: (address, fingerprint) =>
      onPinned(
        `chat: first contact with ${sanitize(address)}: trusting its key ${fingerprint} ` +
          `from now on (pinned in ${sanitize(store.path)})`,
      ),
  });
}

/**
 * The key check of one `chat join` or `chat rooms` run: --server-key, or the
 * pins where the environment puts them (first contacts said on `writeError`).
 */
export function runKeyCheck(
  flags: { server: HostPort; serverKey?: Uint8Array },
  writeError: (line: string) => void,
): ServerKeyCheck {
  return serverKeyCheckFor(
    flags,
    () => new PinStore(defaultPinsPath((name) => Deno.env.get(name))),
    writeError,
  );
}

/** The whole room list over sealed exchanges, each checking the server's key with `keyCheck`. */
export function listRooms(server: HostPort, keyCheck: ServerKeyCheck): Promise<RoomSummary[]> {
  return requestSealedRoomList(server, { crypto: nodeCrypto, checkServerKey: keyCheck });
}
