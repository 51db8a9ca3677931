/**
 * A real chat server for one test: 127.0.0.1, ephemeral ports, no request
 * rate limit and no limit on unauthenticated datagrams (tests send many bad
 * ones on purpose), and its log lines kept in memory for assertions.
 */
import { createLogger } from "../../server/log.ts";
import {
  type ChatServer,
  DEFAULT_SERVER_CONFIG,
  type ServerConfig,
  type ServerHooks,
  startChatServer,
} from "../../server/server.ts";

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
