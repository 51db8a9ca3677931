/**
 * `chat`: the command line. Wiring only: flags and environment variables in,
 * calls into server/ and client/, exit codes out (0 ok, 1 failure, 2 usage).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import process from "node:process";
import denoJson from "./deno.json" with { type: "json" };
import { DEFAULT_TCRP_PORT, type HostPort, parseHostPort } from "./protocol/host_port.ts";
import { parseFingerprint } from "./protocol/fingerprint.ts";
import { displayText, escapeJsonForDisplay } from "./protocol/display_text.ts";
import { ChatRefusedError, ChatTransportError } from "./client/errors.ts";
import { UsageError } from "./client/usage_error.ts";
import { mmsgSuits } from "./server/open_datagram_socket.ts";
import { DEFAULT_SERVER_CONFIG, SERVE_FLAGS, serverConfigFrom } from "./server/config.ts";
import { type FlagParser, wholeNumber } from "./server/flag_values.ts";
import { runServeCommand } from "./server/serve_command.ts";
import { resolveHost, StartupError } from "./server/startup_errors.ts";

// The client modules (and the prompt library they load) are imported only by
// the commands that use them, so `chat serve` needs no terminal variables.
const printLine = (line: string) => process.stdout.write(line + "\n");
const printError = (line: string) => process.stderr.write(line + "\n");

/** A parser for commander: its error becomes commander's one-line usage error (exit 2). */
function forCommander<T>(parse: FlagParser<T>): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
    }
  };
}

const serverOption = () =>
  new Option("--server <host:port>", "the chat server's TCRP address")
    .env("CHAT_SERVER").default(
      { hostname: "127.0.0.1", port: DEFAULT_TCRP_PORT },
      `127.0.0.1:${DEFAULT_TCRP_PORT}`,
    )
    .argParser(forCommander(parseHostPort));

/** `--server-key`: check the server against this fingerprint for the run, without pins. */
const serverKeyOption = () =>
  new Option(
    "--server-key <fingerprint>",
    "accept only the server key with this fingerprint (SHA256:...), for this run; " +
      "reads and writes no pins",
  ).argParser(forCommander(parseFingerprint));

/** The pins, where the environment puts them. */
async function pinStore() {
  const { defaultPinsPath, PinStore } = await import("./client/pin_store.ts");
  return new PinStore(defaultPinsPath((name) => Deno.env.get(name)));
}

/** The server's address as `trust` and `forget` take it: HOST:PORT, a usage error otherwise. */
function serverArgument(text: string) {
  return forCommander(parseHostPort)(text);
}

const program = new Command("chat")
  .description("Group chat rooms: TCRP over TCP to create and join, datagrams over UDP to talk.")
  .version(denoJson.version)
  // Commander's default colour check reads NO_COLOR, FORCE_COLOR and
  // CLICOLOR_FORCE, which `serve` has no permission to read (--allow-env=CHAT_*).
  // Set before .command(), so every subcommand inherits it.
  .configureOutput({ getOutHasColors: () => false, getErrHasColors: () => false })
  .exitOverride()
  // A usage error is one line and this hint, not the whole help.
  .showHelpAfterError("(add --help for usage)");

const serve = program.command("serve")
  .description("run the chat server (TCRP on TCP, chat datagrams on UDP)");
const serveOptions = new Map(SERVE_FLAGS.map((flag) => {
  // A switch takes an optional value: the flag alone is "true".
  const option = new Option(
    flag.switch ? `${flag.flag} [${flag.value}]` : `${flag.flag} <${flag.value}>`,
    flag.help,
  )
    .env(flag.env)
    .default(DEFAULT_SERVER_CONFIG[flag.key], flag.defaultHelp)
    .argParser(forCommander(flag.parse));
  if (flag.switch) option.preset("true");
  serve.addOption(option);
  return [flag, option];
}));
serve.action(async (flags) => {
  const config = serverConfigFrom((flag) => flags[serveOptions.get(flag)!.attributeName()]);
  config.host = await resolveHost(config.host);
  if (config.udpIo === "mmsg" && !mmsgSuits(config.host)) {
    throw new UsageError(
      "--udp-io mmsg needs Linux with glibc, --allow-ffi, and an IPv4 --host (or use auto)",
    );
  }
  // TODO(integration): the page's files, `PAGE` from server/http/page_bundle.ts (the page
  // branch); until then `/` answers 404 and only `/ws` and `/healthz` are served.
  Deno.exit(await runServeCommand(config, null));
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
      forCommander(wholeNumber(1, 65_535)),
    ),
  )
  .addOption(serverKeyOption())
  .option("--json", "print events as JSON lines (without a terminal)")
  .option("--no-bell", "on the chat screen, no bell when someone mentions your name")
  .addOption(
    new Option(
      "--rejoin-timeout <seconds>",
      "when the server restarts, keep trying to get back into the room this long; 0: do not",
    ).env("CHAT_REJOIN_TIMEOUT").default(60).argParser(forCommander(wholeNumber(0, 86_400))),
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
  .addOption(serverKeyOption())
  .option("--json", "print the list as JSON")
  .action(async (flags) => {
    const { listRooms, runKeyCheck } = await import("./client/join_command.ts");
    const { noRoomsHint, roomTable } = await import("./client/room_table.ts");
    const rooms = await listRooms(flags.server, runKeyCheck(flags, printError));
    if (flags.json) {
      printLine(escapeJsonForDisplay(JSON.stringify(rooms)));
    } else if (rooms.length === 0) {
      printLine(noRoomsHint({
        execPath: Deno.execPath(),
        userAgent: Deno.env.get("npm_config_user_agent"),
        mainModule: Deno.mainModule,
        cwd: Deno.cwd(),
      }));
    } else {
      for (const line of roomTable(rooms)) printLine(line);
    }
  });

program.command("trust")
  .description(
    "pin a server's key: the FINGERPRINT given, or (without one) the key the server shows now",
  )
  .argument("<host:port>", "the server, as join and rooms name it", serverArgument)
  .argument("[fingerprint]", "SHA256:... as the server's operator gave it")
  .action(async (server, fingerprint) => {
    const { runTrustCommand } = await import("./client/trust_command.ts");
    const store = await pinStore();
    // Loaded only to connect: with a FINGERPRINT, trust never touches the network.
    const fetchServerKey = async (at: HostPort) =>
      (await import("./client/fetch_server_key.ts")).fetchServerKey(at);
    Deno.exit(
      await runTrustCommand(server, fingerprint, { store, fetchServerKey, writeLine: printLine }),
    );
  });

program.command("forget")
  .description("remove the pin of a server: the key it shows next is trusted on first use")
  .argument("<host:port>", "the server, as join and rooms name it", serverArgument)
  .action(async (server) => {
    const { runForgetCommand } = await import("./client/trust_command.ts");
    Deno.exit(await runForgetCommand(server, { store: await pinStore(), writeLine: printLine }));
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
  if (error instanceof StartupError) {
    printError(`chat: ${error.message}`);
    Deno.exit(1);
  }
  // The server's words (a refusal's text, an error that quotes it) are made safe to print.
  if (error instanceof ChatRefusedError) {
    printError(`chat: the server refused (${error.status}): ${displayText(error.message)}`);
    Deno.exit(1);
  }
  if (error instanceof ChatTransportError) {
    printError(`chat: ${displayText(error.message)}`);
    Deno.exit(1);
  }
  const { ServerKeyMismatchError } = await import("./protocol/sealed_types.ts");
  if (error instanceof ServerKeyMismatchError) {
    // Several lines of our own making: each line made safe, the breaks kept.
    printError(`chat: ${error.message.split("\n").map(displayText).join("\n")}`);
    Deno.exit(1);
  }
  if (error instanceof Error && error.name === "PinStoreError") {
    printError(`chat: ${displayText(error.message)}`);
    Deno.exit(1);
  }
  if (error instanceof Error && error.name === "ExitPromptError") {
    Deno.exit(0); // Ctrl+C at a question: nothing was joined, nothing to undo
  }
  const text = error instanceof Error ? error.stack ?? error.message : String(error);
  printError(`chat: unexpected error: ${text.split("\n").map(displayText).join("\n")}`);
  Deno.exit(1);
}
