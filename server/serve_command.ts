/**
 * `chat serve` from startup to its exit code: the server, its stderr logger,
 * the open-files check, and the signals that stop it.
 *
 * @module
 */
import type { ServerConfig } from "./config.ts";
import {
  keyFilePathOf,
  loadOrCreateServerKey,
  type ServerKey,
  serverKeyLogLine,
} from "./key_file.ts";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { createLogger } from "./log.ts";
import { openFilesLimit, openFilesWarning } from "./open_files.ts";
import { type HttpHooks, startChatServer } from "./server.ts";
import { httpWarnings } from "./http/http_config.ts";
import type { PageFiles } from "./http/page_assets.ts";
import { StartupError } from "./startup_errors.ts";

/** Signals that stop the server: the first gracefully, a second at once. */
const STOP_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"];
/** How long a forced exit waits for its own log line. */
const FORCED_EXIT_FLUSH_MS = 100;
/**
 * A signal this soon after the first is the same request, not a second one:
 * `deno task` passes on the SIGTERM it gets, and `timeout`, systemd or a kill
 * of the process group also send it to the server directly, so one request
 * can arrive twice a few milliseconds apart.
 */
const SAME_REQUEST_MS = 250;

/**
 * The server's key pair from `config.keyFile` (the default path when it is
 * ""), created when missing. Reads HOME and XDG_DATA_HOME only for the
 * default path. Throws a StartupError that says what to do when the file
 * cannot be used (server/key_file.ts).
 */
export async function loadServerKey(
  config: Pick<ServerConfig, "keyFile">,
  env: (name: string) => string | undefined = readVariable,
  cwd: () => string = () => Deno.cwd(),
): Promise<ServerKey> {
  const path = keyFilePathOf(config.keyFile, env, config.keyFile === "" ? "/" : cwd());
  return await loadOrCreateServerKey(path, nodeCrypto);
}

/** A variable for the default key path; a StartupError when Deno may not read it. */
function readVariable(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (error) {
    if (!(error instanceof Error && error.name === "NotCapable")) throw error;
    throw new StartupError(
      `the default key file is found from HOME and XDG_DATA_HOME, which serve may not read; ` +
        `run it with --allow-env=CHAT_*,HOME,XDG_DATA_HOME (deno task serve does), ` +
        `or give --key-file PATH`,
      { cause: error },
    );
  }
}

/**
 * The PEM texts of `--tls-cert` and `--tls-key` (both given or neither:
 * config.ts checks that), read before any socket is bound; a file that
 * cannot be read is a StartupError naming it.
 */
export async function readTlsFiles(
  config: Pick<ServerConfig, "tlsCert" | "tlsKey">,
  readText: (path: string) => Promise<string> = Deno.readTextFile,
): Promise<{ cert: string; key: string } | undefined> {
  if (config.tlsCert === "" && config.tlsKey === "") return undefined;
  const read = async (flag: string, path: string) => {
    try {
      return await readText(path);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new StartupError(`cannot read ${flag} ${path}: ${why}`, { cause: error });
    }
  };
  return {
    cert: await read("--tls-cert", config.tlsCert),
    key: await read("--tls-key", config.tlsKey),
  };
}

/**
 * Starts the server on `config` (its host an address already: see
 * `resolveHost`), serving `page` on its HTTP port (null: `/` answers 404) and serves until SIGINT or SIGTERM, then shuts down
 * gracefully and resolves 0; resolves 1 if a front end died instead. A second
 * signal while shutting down (not the first one again: see SAME_REQUEST_MS)
 * exits the process at once with 1. Throws a `StartupError` if the key file
 * cannot be used (before any socket is bound) or a socket cannot be bound.
 */
export async function runServeCommand(
  config: ServerConfig,
  page: PageFiles | null = null,
): Promise<number> {
  // First, so a key the server must not use stops it before it listens.
  const serverKey = await loadServerKey(config);
  const tls = await readTlsFiles(config);
  const http: HttpHooks = { page, ...(tls ? { tls } : {}) };
  const log = createLogger(config.logLevel);
  // The stop signals are heard before the server starts: a SIGTERM sent as
  // soon as the listening line is out still shuts it down gracefully.
  let stoppingSince: number | null = null;
  const signalled = new Promise<null>((resolve) => {
    for (const signal of STOP_SIGNALS) {
      Deno.addSignalListener(signal, () => {
        if (stoppingSince === null) {
          stoppingSince = performance.now();
          log.info(`${signal}: shutting down (send it again to exit at once)`);
          resolve(null);
        } else if (performance.now() - stoppingSince >= SAME_REQUEST_MS) {
          log.warn(`${signal} again while shutting down: exiting now`);
          void log.flush(FORCED_EXIT_FLUSH_MS).then(() => Deno.exit(1));
        }
      });
    }
  });
  const server = startChatServer(config, {
    log,
    sealed: {
      staticKey: serverKey.keyPair,
      crypto: nodeCrypto,
    },
    http,
  });
  // Once listening, so a startup failure stays the one line that says it.
  log.info(serverKeyLogLine(serverKey));
  const limit = openFilesLimit();
  const warning = limit === null ? null : openFilesWarning(limit, config.maxHandshakes);
  if (warning !== null) log.warn(warning);
  // Plain http, or metrics, on an address others can reach.
  for (const line of httpWarnings(config, server.httpAddr)) log.warn(line);

  const failure = await Promise.race([signalled, server.failed]);
  stoppingSince ??= performance.now();
  await server.shutdown();
  return failure === null ? 0 : 1;
}
