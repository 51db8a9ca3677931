/**
 * `chat`: the command line. Wiring only: flags and environment variables in,
 * calls into server/ and client/, exit codes out (0 ok, 1 failure, 2 usage).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import process from "node:process";
import denoJson from "./deno.json" with { type: "json" };
import { DEFAULT_TCRP_PORT, type HostPort, parseHostPort } from "./protocol/host_port.ts";
import { ChatRefusedError, ChatTransportError } from "./client/errors.ts";
import { UsageError } from "./client/usage_error.ts";
import { mmsgSuits, UDP_IO_CHOICES, type UdpIoChoice } from "./server/open_datagram_socket.ts";
import { LOG_LEVELS, type LogLevel } from "./server/log.ts";
import { DEFAULT_SERVER_CONFIG } from "./server/config.ts";
import { startChatServer } from "./server/server.ts";

// The client modules (and the prompt library they load) are imported only by
// the commands that use them, so `chat serve` needs no terminal variables.
const printLine = (line: string) => process.stdout.write(line + "\n");
const printError = (line: string) => process.stderr.write(line + "\n");

function wholeNumber(min: number, max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return value;
  };
}

function positiveSeconds(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > 86_400) {
    throw new InvalidArgumentError("expected seconds above 0 (fractions allowed)");
  }
  return value;
}

function serverAddress(text: string): HostPort {
  try {
    return parseHostPort(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

const d = DEFAULT_SERVER_CONFIG;
const port = wholeNumber(0, 65_535);
const count = wholeNumber(0, 1_000_000_000);
const serverOption = () =>
  new Option("--server <host:port>", "the chat server's TCRP address")
    .env("CHAT_SERVER").default(
      { hostname: "127.0.0.1", port: DEFAULT_TCRP_PORT },
      `127.0.0.1:${DEFAULT_TCRP_PORT}`,
    )
    .argParser(serverAddress);

const program = new Command("chat")
  .description("Group chat rooms: TCRP over TCP to create and join, datagrams over UDP to talk.")
  .version(denoJson.version)
  .exitOverride()
  .showHelpAfterError();

program.command("serve")
  .description("run the chat server (TCRP on TCP, chat datagrams on UDP)")
  .addOption(
    new Option("--host <address>", "address to listen on").env("CHAT_HOST").default(d.host),
  )
  .addOption(
    new Option("--port <n>", "TCRP port (0: any free one)").env("CHAT_PORT").default(d.port)
      .argParser(port),
  )
  .addOption(
    new Option("--udp-port <n>", "chat datagram port (0: any free one)").env("CHAT_UDP_PORT")
      .default(d.udpPort).argParser(port),
  )
  .addOption(
    new Option(
      "--advertise-udp-port <n>",
      "UDP port clients are told to use, if not --udp-port (a port forward or proxy); 0: the bound one",
    ).env("CHAT_ADVERTISE_UDP_PORT").default(d.advertisedUdpPort).argParser(port),
  )
  .addOption(
    new Option(
      "--idle-timeout <seconds>",
      "remove members who send no message for this long; 0 turns it off",
    ).env("CHAT_IDLE_TIMEOUT").default(d.idleTimeoutSeconds).argParser(count),
  )
  .addOption(
    new Option("--heartbeat <seconds>", "how often clients send HEARTBEAT; 3 missed means lost")
      .env("CHAT_HEARTBEAT").default(d.heartbeatSeconds).argParser(positiveSeconds),
  )
  .addOption(
    new Option(
      "--rate-limit <n>",
      "messages a second per member on average (bursts of twice that); 0 turns it off",
    ).env("CHAT_RATE_LIMIT").default(d.rateLimit).argParser(count),
  )
  .addOption(
    new Option(
      "--request-rate <n>",
      "TCRP requests a second per IP address (bursts of 3x); 0 turns it off",
    ).env("CHAT_REQUEST_RATE").default(d.requestRateLimit).argParser(count),
  )
  .addOption(
    new Option("--max-rooms <n>", "most rooms at once").env("CHAT_MAX_ROOMS").default(d.maxRooms)
      .argParser(wholeNumber(1, 1_000_000)),
  )
  .addOption(
    new Option("--max-members <n>", "most members across all rooms at once").env("CHAT_MAX_MEMBERS")
      .default(d.maxMembers).argParser(wholeNumber(1, 10_000_000)),
  )
  .addOption(
    new Option(
      "--max-handshakes-per-ip <n>",
      "TCRP connections open at once from one IP address (429 past it)",
    ).env("CHAT_MAX_HANDSHAKES_PER_IP").default(d.maxHandshakesPerIp)
      .argParser(wholeNumber(1, 100_000)),
  )
  .addOption(
    new Option("--max-handshakes <n>", "TCRP connections open at once in all (503 past it)")
      .env("CHAT_MAX_HANDSHAKES").default(d.maxHandshakes).argParser(wholeNumber(1, 100_000)),
  )
  .addOption(
    new Option(
      "--handshake-timeout <seconds>",
      "a TCRP connection must deliver its whole request within this long",
    ).env("CHAT_HANDSHAKE_TIMEOUT").default(d.handshakeTimeoutSeconds)
      .argParser(positiveSeconds),
  )
  .addOption(
    new Option(
      "--max-rooms-per-ip <n>",
      "rooms open at once whose host came from one IP address (429 past it)",
    ).env("CHAT_MAX_ROOMS_PER_IP").default(d.maxRoomsPerIp).argParser(wholeNumber(1, 1_000_000)),
  )
  .addOption(
    new Option(
      "--max-members-per-room <n>",
      "members in a room without a capacity (403 past it), and the largest capacity (400 above)",
    ).env("CHAT_MAX_MEMBERS_PER_ROOM").default(d.maxMembersPerRoom)
      .argParser(wholeNumber(1, 65_535)),
  )
  .addOption(
    new Option(
      "--history-bytes <n>",
      "event text a room keeps for replay, at 2 bytes a character (the oldest go first)",
    ).env("CHAT_HISTORY_BYTES").default(d.historyBytes).argParser(wholeNumber(0, 1 << 30)),
  )
  .addOption(
    new Option(
      "--unauthenticated-rate <n>",
      "datagrams a second per IP address that fail to authenticate before they are dropped " +
        "unanswered (bursts of 2x); 0 turns it off",
    ).env("CHAT_UNAUTHENTICATED_RATE").default(d.unauthenticatedRate).argParser(count),
  )
  .addOption(
    new Option(
      "--abuse-log-interval <seconds>",
      "at most one summary line per this long for each kind of abuse from one address",
    ).env("CHAT_ABUSE_LOG_INTERVAL").default(d.abuseLogIntervalSeconds).argParser(positiveSeconds),
  )
  .addOption(
    new Option("--max-payload <bytes>", "largest TCRP request payload").env("CHAT_MAX_PAYLOAD")
      .default(d.maxPayloadBytes).argParser(wholeNumber(64, 16 * 1024 * 1024)),
  )
  .addOption(
    new Option("--log-level <level>", "error, warn, info or debug").env("CHAT_LOG_LEVEL").default(
      d.logLevel,
    ).choices(LOG_LEVELS),
  )
  .addOption(
    new Option(
      "--udp-io <io>",
      "UDP i/o: mmsg (recvmmsg/sendmmsg via FFI; Linux, IPv4, --allow-ffi), deno, or auto",
    ).env("CHAT_UDP_IO").default(d.udpIo).choices(UDP_IO_CHOICES),
  )
  .action(async (flags) => {
    if (flags.udpIo === "mmsg" && !mmsgSuits(flags.host)) {
      throw new UsageError(
        "--udp-io mmsg needs Linux with glibc, --allow-ffi, and an IPv4 --host (or use auto)",
      );
    }
    const server = startChatServer({
      host: flags.host,
      port: flags.port,
      udpPort: flags.udpPort,
      advertisedUdpPort: flags.advertiseUdpPort,
      idleTimeoutSeconds: flags.idleTimeout,
      heartbeatSeconds: flags.heartbeat,
      rateLimit: flags.rateLimit,
      requestRateLimit: flags.requestRate,
      maxRooms: flags.maxRooms,
      maxMembers: flags.maxMembers,
      maxPayloadBytes: flags.maxPayload,
      maxHandshakesPerIp: flags.maxHandshakesPerIp,
      maxHandshakes: flags.maxHandshakes,
      handshakeTimeoutSeconds: flags.handshakeTimeout,
      maxRoomsPerIp: flags.maxRoomsPerIp,
      maxMembersPerRoom: flags.maxMembersPerRoom,
      historyBytes: flags.historyBytes,
      unauthenticatedRate: flags.unauthenticatedRate,
      abuseLogIntervalSeconds: flags.abuseLogInterval,
      logLevel: flags.logLevel as LogLevel,
      udpIo: flags.udpIo as UdpIoChoice,
      ipv6PrefixLength: DEFAULT_SERVER_CONFIG.ipv6PrefixLength,
      hashConcurrency: DEFAULT_SERVER_CONFIG.hashConcurrency,
    });
    const failure = await Promise.race([
      new Promise<null>((resolve) => {
        const stop = () => resolve(null);
        Deno.addSignalListener("SIGINT", stop);
        Deno.addSignalListener("SIGTERM", stop);
      }),
      server.failed,
    ]);
    await server.shutdown();
    Deno.exit(failure === null ? 0 : 1);
  });

program.command("join")
  .description("create or join a room and talk (asks for what is missing on a terminal)")
  .addOption(serverOption())
  .option("--name <name>", "your name in the room")
  .addOption(new Option("--create", "create the room and become its host").conflicts("join"))
  .addOption(new Option("--join", "join an existing room"))
  .option("--room <room>", "the room's name")
  .option("--password-stdin", "read the room password from the first line of stdin")
  .addOption(
    new Option("--capacity <n>", "with --create: most members, host included").argParser(
      wholeNumber(1, 65_535),
    ),
  )
  .option("--json", "print events as JSON lines (without a terminal)")
  .addOption(
    new Option(
      "--rejoin-timeout <seconds>",
      "when the server restarts, keep trying to get back into the room this long; 0: do not",
    ).env("CHAT_REJOIN_TIMEOUT").default(60).argParser(wholeNumber(0, 86_400)),
  )
  .action(async (flags) => {
    const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
    const { runJoinCommand } = await import("./client/join_command.ts");
    const code = await runJoinCommand(flags, {
      interactive,
      color: interactive && !Deno.env.get("NO_COLOR"),
      writeLine: printLine,
      writeError: printError,
    });
    Deno.exit(code);
  });

program.command("rooms")
  .description("list the rooms on a server")
  .addOption(serverOption())
  .option("--json", "print the list as JSON")
  .action(async (flags) => {
    const { requestRoomList } = await import("./client/tcrp_client.ts");
    const { sanitize } = await import("./client/format.ts");
    const rooms = await requestRoomList(flags.server);
    if (flags.json) {
      printLine(JSON.stringify(rooms));
    } else if (rooms.length === 0) {
      printLine("No rooms yet. Create one with: chat join --create --room NAME");
    } else {
      const width = Math.max(4, ...rooms.map((r) => sanitize(r.name).length));
      printLine(`${"ROOM".padEnd(width)}  MEMBERS  LOCKED`);
      for (const r of rooms) {
        const members = r.capacity === null ? `${r.members}` : `${r.members}/${r.capacity}`;
        printLine(
          `${sanitize(r.name).padEnd(width)}  ${members.padEnd(7)}  ${
            r.passwordProtected ? "yes" : "no"
          }`,
        );
      }
    }
  });

try {
  await program.parseAsync(Deno.args, { from: "user" });
} catch (error) {
  if (error instanceof CommanderError) {
    const ok = ["commander.helpDisplayed", "commander.version", "commander.help"];
    Deno.exit(ok.includes(error.code) ? 0 : 2);
  }
  if (error instanceof UsageError) {
    printError(`chat: ${error.message}`);
    Deno.exit(2);
  }
  if (error instanceof ChatRefusedError) {
    printError(`chat: the server refused (${error.status}): ${error.message}`);
    Deno.exit(1);
  }
  if (error instanceof ChatTransportError) {
    printError(`chat: ${error.message}`);
    Deno.exit(1);
  }
  if (error instanceof Error && error.name === "ExitPromptError") {
    Deno.exit(0); // Ctrl+C at a question: nothing was joined, nothing to undo
  }
  printError(`chat: unexpected error: ${error instanceof Error ? error.stack : error}`);
  Deno.exit(1);
}
