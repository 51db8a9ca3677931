/**
 * `chat join`: decides between the terminal screen and pipe mode, asks
 * (on a terminal only) for what the flags left out, and retries the
 * handshake after a refusal a person can fix.
 */
import * as readline from "node:readline";
import process from "node:process";
import type { HostPort } from "../protocol/host_port.ts";
import { ChatRefusedError } from "./errors.ts";
import { UsageError } from "./usage_error.ts";
import { runPipeMode } from "./pipe_mode.ts";
import { askCreateOrJoin, askName, askNewRoom, askPassword, askRoomToJoin } from "./prompts.ts";
import { ChatSession, type SessionOptions } from "./session.ts";
import { TcpUdpConnector } from "./tcp_udp_connector.ts";
import { requestRoomList } from "./tcrp_client.ts";
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
}

/** The terminal facts `chat join` depends on. */
export interface JoinEnvironment {
  interactive: boolean;
  color: boolean;
  writeLine: (line: string) => void;
  writeError: (line: string) => void;
}

/** Runs `chat join`; resolves with the exit code. */
export async function runJoinCommand(flags: JoinFlags, env: JoinEnvironment): Promise<number> {
  if (flags.create && flags.join) throw new UsageError("choose one of --create and --join");
  if (flags.capacity !== undefined && flags.join) {
    throw new UsageError("--capacity is for --create only");
  }
  if (env.interactive) {
    // stdin is the terminal, so --password-stdin is served by the hidden
    // password prompts, asked only when the room needs one.
    const session = await openInteractively(flags, env);
    return await runTerminal(session, { color: env.color, bell: flags.bell !== false });
  }
  if (flags.name === undefined || flags.room === undefined || !(flags.create || flags.join)) {
    throw new UsageError(
      "without a terminal, chat join needs --name, --room and --create or --join",
    );
  }
  const stdinLines = lineReader();
  const password = flags.passwordStdin ? await stdinLines.next() : undefined;
  if (flags.passwordStdin && password === undefined) {
    stdinLines.close();
    throw new UsageError("--password-stdin: stdin ended before a password line");
  }
  const choice = {
    create: flags.create === true,
    room: flags.room,
    username: flags.name,
    password: password ?? null,
  };
  return await runPipeMode(sessionOptionsOf(flags, choice), {
    lines: stdinLines.rest(),
    writeLine: env.writeLine,
    writeError: env.writeError,
    json: flags.json === true,
  });
}

async function openInteractively(
  flags: JoinFlags,
  env: JoinEnvironment,
): Promise<ChatSession> {
  let username = flags.name ?? await askName();
  let create = flags.create ? true : flags.join ? false : undefined;
  let rooms = create === true && flags.room !== undefined
    ? []
    : await requestRoomList(flags.server);
  create ??= await askCreateOrJoin(rooms);
  let room = flags.room ?? (create ? await askNewRoom() : await askRoomToJoin(rooms));
  let password: string | null = null;
  if (create) {
    password = await askPassword("Password (leave empty for an open room)");
  } else if (rooms.find((r) => r.name === room)?.passwordProtected) {
    password = await askPassword(`Password for "${room}"`);
  }
  while (true) {
    try {
      return await ChatSession.open(sessionOptionsOf(flags, { create, room, username, password }));
    } catch (error) {
      if (!(error instanceof ChatRefusedError)) throw error;
      env.writeError(`The server said: ${error.message}`);
      // Ask again for the one thing a person can fix; anything else ends the command.
      if (error.status === 401) {
        password = await askPassword(`Password for "${room}"`);
      } else if (error.status === 409 && !create && flags.name === undefined) {
        username = await askName();
      } else if (error.status === 409 && create && flags.room === undefined) {
        room = await askNewRoom();
      } else if (error.status === 404 && flags.room === undefined) {
        rooms = await requestRoomList(flags.server);
        if (rooms.length === 0) throw error;
        room = await askRoomToJoin(rooms);
      } else {
        throw error;
      }
    }
  }
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
export function sessionOptionsOf(flags: JoinFlags, choice: JoinChoice): SessionOptions {
  return {
    connector: new TcpUdpConnector(flags.server),
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
