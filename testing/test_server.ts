/**
 * A real chat server for one test: 127.0.0.1, ephemeral ports, no request
 * rate limit and no limit on unauthenticated datagrams (tests send many bad
 * ones on purpose), and its log lines kept in memory for assertions.
 *
 * The UDP i/o is the server default ("auto": mmsg when the test run has
 * --allow-ffi) unless CHAT_UDP_IO says otherwise, so the whole suite can run
 * on either implementation: `CHAT_UDP_IO=deno deno task test`.
 */
import { createLogger } from "../server/log.ts";
import { DEFAULT_SERVER_CONFIG, type ServerConfig } from "../server/config.ts";
import { type ChatServer, type ServerHooks, startChatServer } from "../server/server.ts";
import { UDP_IO_CHOICES, type UdpIoChoice } from "../server/open_datagram_socket.ts";

function udpIoFromEnv(): UdpIoChoice {
  const io = Deno.env.get("CHAT_UDP_IO") as UdpIoChoice | undefined;
  return io && UDP_IO_CHOICES.includes(io) ? io : DEFAULT_SERVER_CONFIG.udpIo;
}

/** A server started for one test, with the log lines it wrote. */
export interface TestServer extends ChatServer {
  /** Every log line, debug level and up. */
  logs: string[];
}

/** Starts a real server on 127.0.0.1 with ephemeral ports and a collecting logger. */
export function startTestServer(
  overrides: Partial<ServerConfig> = {},
  hooks: ServerHooks = {},
): TestServer {
  const logs: string[] = [];
  const server = startChatServer(
    {
      ...DEFAULT_SERVER_CONFIG,
      host: "127.0.0.1",
      port: 0,
      udpPort: 0,
      requestRateLimit: 0,
      unauthenticatedRate: 0,
      udpIo: udpIoFromEnv(),
      // No HTTP front unless a test asks (ServerHooks.http.port: 0 for any free port).
      httpPort: 0,
      // The raw and session clients of the tests speak the plain protocol
      // until the sealed client lands (issue 13); a test of the refusal turns it off.
      allowPlaintext: true,
      ...overrides,
    },
    { log: createLogger("debug", (line) => logs.push(line)), ...hooks },
  );
  return { ...server, logs };
}

/** Log lines at level "error": a crash or an unexpected exception on the server. */
export function errorLines(server: TestServer): string[] {
  // Lines are "<ISO time> <level padded to 5> <message>".
  return server.logs.filter((line) => line.split(" ")[1] === "error");
}
