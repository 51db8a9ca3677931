/**
 * What `chat serve` can be told: {@linkcode ServerConfig}, its defaults, and
 * {@linkcode SERVE_FLAGS}, every flag described once (flag, environment
 * variable, default, parser, help), from which main.ts builds the command line
 * and the README's configuration table is checked.
 *
 * @module
 */
import { DEFAULT_TCRP_PORT, DEFAULT_UDP_PORT } from "../protocol/host_port.ts";
import { type FlagParser, hostName, oneOf, positiveSeconds, wholeNumber } from "./flag_values.ts";
import { LOG_LEVELS, type LogLevel } from "./log.ts";
import { UDP_IO_CHOICES, type UdpIoChoice } from "./open_datagram_socket.ts";
import { DEFAULT_REGISTRY_LIMITS } from "./registry.ts";
import {
  checkHttpConfig,
  DEFAULT_HTTP_CONFIG,
  HTTP_FLAGS,
  HTTP_PORT_FLAG,
  type HttpServerConfig,
} from "./http/http_config.ts";

/**
 * Everything `chat serve` can be told; the HTTP side's fields (the page,
 * `/ws`, metrics) are in http/http_config.ts.
 */
export interface ServerConfig extends HttpServerConfig {
  host: string;
  port: number;
  udpPort: number;
  /**
   * The UDP port clients are told to use, when it is not the bound one (a
   * port forward, or a fault proxy in front of the server); 0 means the bound one.
   */
  advertisedUdpPort: number;
  idleTimeoutSeconds: number;
  heartbeatSeconds: number;
  rateLimit: number;
  /** Revision 2: msgIds a member may have held beyond the one the server expects (W). */
  messageWindow: number;
  /** Revision 2: bytes of message text held per member. */
  messageWindowBytes: number;
  /** Revision 2: seconds a missing msgId is waited for before it is skipped (REFUSED 410). */
  gapTimeoutSeconds: number;
  /** Revision 2: messages held across the server (REFUSED 429 past it). */
  maxHeldMessages: number;
  maxRooms: number;
  maxMembers: number;
  maxPayloadBytes: number;
  /**
   * TCRP requests a second per address (see address_key.ts), bursts of
   * {@linkcode REQUEST_BURST_FACTOR}x; 0 turns it off.
   */
  requestRateLimit: number;
  /** TCRP connections still reading their request at once from one address (429 past it). */
  maxHandshakesPerIp: number;
  /**
   * TCRP connections open at once in all, so descriptors last; when full,
   * the oldest one still reading its request is closed for a new one (503
   * when none is).
   */
  maxHandshakes: number;
  /** A TCRP connection must deliver its whole request within this long. */
  requestTimeoutSeconds: number;
  /** A TCRP exchange (request, password check, answer) must be done within this long. */
  handshakeTimeoutSeconds: number;
  /** Rooms open at once whose host came from one address (429 past it). */
  maxRoomsPerIp: number;
  /** Members at once, in all rooms, whose handshake came from one address (429 past it). */
  maxMembersPerIp: number;
  /** Members in one room: the limit for rooms without a capacity, and the largest capacity. */
  maxMembersPerRoom: number;
  /** Event text each room keeps for replay, at 2 bytes a UTF-16 unit. */
  historyBytes: number;
  /**
   * Replay datagrams a second in all (history after HELLO, HEARTBEAT and
   * RESEND), shared round-robin between addresses; 0: no limit but the cap
   * per flush. Each address also has its own budget (replay.ts).
   */
  replayRate: number;
  /**
   * Datagrams a second per address that do not authenticate (undecodable,
   * unknown token, token from another address), bursts of 2x; past it they
   * are dropped unanswered. 0 turns it off.
   */
  unauthenticatedRate: number;
  /** Shortest time between two log lines about one kind of abuse from one address. */
  abuseLogIntervalSeconds: number;
  /** Leading bits of an IPv6 address that count as one address for per-address limits. */
  ipv6PrefixLength: number;
  /**
   * Password derivations (scrypt) running at once; more wait their turn. 0:
   * one fewer than the machine's cores, at least 1 (see hashConcurrencyOf).
   */
  hashConcurrency: number;
  logLevel: LogLevel;
  /**
   * How the UDP socket talks to the kernel: "mmsg" (recvmmsg/sendmmsg through
   * FFI, Linux, IPv4, needs --allow-ffi), "deno" (Deno.listenDatagram), or
   * "auto" (mmsg where it can work, else deno).
   */
  udpIo: UdpIoChoice;
  /**
   * The server's key file (server/key_file.ts); "" means the default,
   * $XDG_DATA_HOME/chat/server_key or $HOME/.local/share/chat/server_key.
   */
  keyFile: string;
  /**
   * Also take the plain (unsealed) TCRP operations and datagrams, for tools
   * in other languages and the original wire; without it a plain request is
   * refused with a text that says sealed sessions are required.
   */
  allowPlaintext: boolean;
}

/** The defaults the README documents. */
export const DEFAULT_SERVER_CONFIG: ServerConfig = {
  host: "0.0.0.0",
  port: DEFAULT_TCRP_PORT,
  udpPort: DEFAULT_UDP_PORT,
  advertisedUdpPort: 0,
  idleTimeoutSeconds: DEFAULT_REGISTRY_LIMITS.idleTimeoutMs / 1000,
  heartbeatSeconds: DEFAULT_REGISTRY_LIMITS.heartbeatMs / 1000,
  rateLimit: DEFAULT_REGISTRY_LIMITS.rateLimit,
  messageWindow: DEFAULT_REGISTRY_LIMITS.messageWindow,
  messageWindowBytes: DEFAULT_REGISTRY_LIMITS.messageWindowBytes,
  gapTimeoutSeconds: DEFAULT_REGISTRY_LIMITS.gapTimeoutMs / 1000,
  maxHeldMessages: DEFAULT_REGISTRY_LIMITS.maxHeldMessages,
  maxRooms: DEFAULT_REGISTRY_LIMITS.maxRooms,
  maxMembers: DEFAULT_REGISTRY_LIMITS.maxMembers,
  maxPayloadBytes: 16 * 1024,
  requestRateLimit: 20,
  maxHandshakesPerIp: 32,
  maxHandshakes: 256,
  requestTimeoutSeconds: 3,
  handshakeTimeoutSeconds: 10,
  maxRoomsPerIp: DEFAULT_REGISTRY_LIMITS.maxRoomsPerIp,
  maxMembersPerIp: DEFAULT_REGISTRY_LIMITS.maxMembersPerIp,
  maxMembersPerRoom: DEFAULT_REGISTRY_LIMITS.maxMembersPerRoom,
  historyBytes: DEFAULT_REGISTRY_LIMITS.historyBytes,
  replayRate: 10_000,
  unauthenticatedRate: 20,
  abuseLogIntervalSeconds: 60,
  ipv6PrefixLength: 64,
  hashConcurrency: 0,
  logLevel: "info",
  udpIo: "auto",
  keyFile: "",
  allowPlaintext: false,
  ...DEFAULT_HTTP_CONFIG,
};

/** A TCRP request burst per address is this many seconds of `requestRateLimit`. */
export const REQUEST_BURST_FACTOR = 5;

/**
 * The password derivations to run at once for a `hashConcurrency` setting:
 * the setting itself, or for 0, one core fewer than the machine has (at
 * least 1), so the event loop keeps a core while passwords hash.
 */
export function hashConcurrencyOf(setting: number, cores = navigator.hardwareConcurrency): number {
  return setting > 0 ? setting : Math.max(1, (cores || 1) - 1);
}

/** One `chat serve` flag. Its default is `DEFAULT_SERVER_CONFIG[key]`. */
export interface ServeFlag<K extends keyof ServerConfig = keyof ServerConfig> {
  /** The long flag: "--port". */
  flag: `--${string}`;
  /** What `--help` calls its value: "n", "seconds". */
  value: string;
  /** The environment variable that gives it when the flag is absent. */
  env: `CHAT_${string}`;
  /** The {@linkcode ServerConfig} field it sets. */
  key: K;
  /** One line for `--help`. */
  help: string;
  /** Text to value; throws an error whose message says what was expected. */
  parse: FlagParser<ServerConfig[K]>;
  /**
   * A switch: the flag alone means "true" (`--allow-plaintext`), and it
   * may also be given a value (`--allow-plaintext false`, CHAT_ALLOW_PLAINTEXT=0).
   */
  switch?: true;
  /** What `--help` shows as the default, when the value itself says too little. */
  defaultHelp?: string;
}

// Checks each entry's parser against the type of the field it sets.
function serveFlag<K extends keyof ServerConfig>(flag: ServeFlag<K>): ServeFlag {
  return flag as ServeFlag;
}

const port = wholeNumber(0, 65_535);

/** A file path, or "" for the default; no NUL (no file system takes one). */
export function filePath(text: string): string {
  if (text.includes("\0")) throw new TypeError("expected a file path");
  return text;
}

const TRUE_WORDS = ["true", "yes", "on", "1"];
const FALSE_WORDS = ["false", "no", "off", "0"];

/** true/yes/on/1 or false/no/off/0, any case. */
export function yesOrNo(text: string): boolean {
  const word = text.trim().toLowerCase();
  if (TRUE_WORDS.includes(word)) return true;
  if (FALSE_WORDS.includes(word)) return false;
  throw new TypeError("expected true or false (or yes, no, 1, 0)");
}
const count = wholeNumber(0, 1_000_000_000);

/** Every `chat serve` flag, in the order of `--help` and the README's table. */
export const SERVE_FLAGS: readonly ServeFlag[] = [
  serveFlag({
    flag: "--host",
    value: "address",
    env: "CHAT_HOST",
    key: "host",
    help: "address to listen on (both sockets); a name is resolved at startup",
    parse: hostName,
  }),
  serveFlag({
    flag: "--port",
    value: "n",
    env: "CHAT_PORT",
    key: "port",
    help: "TCRP port (0: any free one)",
    parse: port,
  }),
  serveFlag({
    flag: "--udp-port",
    value: "n",
    env: "CHAT_UDP_PORT",
    key: "udpPort",
    help: "chat datagram port (0: any free one)",
    parse: port,
  }),
  serveFlag({
    flag: "--advertise-udp-port",
    value: "n",
    env: "CHAT_ADVERTISE_UDP_PORT",
    key: "advertisedUdpPort",
    help:
      "UDP port clients are told to use, if not --udp-port (a port forward or proxy); 0: the bound one",
    parse: port,
  }),
  HTTP_PORT_FLAG,
  serveFlag({
    flag: "--idle-timeout",
    value: "seconds",
    env: "CHAT_IDLE_TIMEOUT",
    key: "idleTimeoutSeconds",
    help: "remove members who send no message for this long; 0 turns it off",
    parse: count,
  }),
  serveFlag({
    flag: "--heartbeat",
    value: "seconds",
    env: "CHAT_HEARTBEAT",
    key: "heartbeatSeconds",
    help: "how often clients send HEARTBEAT; 3 missed means lost",
    parse: positiveSeconds,
  }),
  serveFlag({
    flag: "--rate-limit",
    value: "n",
    env: "CHAT_RATE_LIMIT",
    key: "rateLimit",
    help: "messages a second per member on average (bursts of twice that); 0 turns it off",
    parse: count,
  }),
  serveFlag({
    flag: "--message-window",
    value: "n",
    env: "CHAT_MESSAGE_WINDOW",
    key: "messageWindow",
    help: "revision 2: msgIds a member may send ahead of the one the server waits for (1-1024)",
    // At most the msgIds remembered per member, so a repeat below the window is still known.
    parse: wholeNumber(1, 1_024),
  }),
  serveFlag({
    flag: "--message-window-bytes",
    value: "bytes",
    env: "CHAT_MESSAGE_WINDOW_BYTES",
    key: "messageWindowBytes",
    help: "revision 2: message text held per member waiting for an earlier msgId",
    // Whatever the limit, the largest message must fit.
    parse: wholeNumber(4_096, 1 << 30),
  }),
  serveFlag({
    flag: "--gap-timeout",
    value: "seconds",
    env: "CHAT_GAP_TIMEOUT",
    key: "gapTimeoutSeconds",
    help: "revision 2: whole seconds a missing msgId is waited for before it is skipped",
    parse: wholeNumber(1, 3_600),
  }),
  serveFlag({
    flag: "--max-held-messages",
    value: "n",
    env: "CHAT_MAX_HELD_MESSAGES",
    key: "maxHeldMessages",
    help: "revision 2: messages held across the server waiting for earlier ones",
    parse: wholeNumber(1, 1_000_000_000),
  }),
  serveFlag({
    flag: "--request-rate",
    value: "n",
    env: "CHAT_REQUEST_RATE",
    key: "requestRateLimit",
    help: "TCRP requests a second per address (bursts of 5x); 0 turns it off",
    parse: count,
  }),
  serveFlag({
    flag: "--max-rooms",
    value: "n",
    env: "CHAT_MAX_ROOMS",
    key: "maxRooms",
    help: "most rooms at once",
    parse: wholeNumber(1, 1_000_000),
  }),
  serveFlag({
    flag: "--max-members",
    value: "n",
    env: "CHAT_MAX_MEMBERS",
    key: "maxMembers",
    help: "most members across all rooms at once",
    parse: wholeNumber(1, 10_000_000),
  }),
  serveFlag({
    flag: "--max-payload",
    value: "bytes",
    env: "CHAT_MAX_PAYLOAD",
    key: "maxPayloadBytes",
    help: "largest TCRP request payload",
    parse: wholeNumber(64, 16 * 1024 * 1024),
  }),
  serveFlag({
    flag: "--max-handshakes-per-ip",
    value: "n",
    env: "CHAT_MAX_HANDSHAKES_PER_IP",
    key: "maxHandshakesPerIp",
    help: "TCRP connections still reading their request at once from one address (429 past it)",
    parse: wholeNumber(1, 100_000),
  }),
  serveFlag({
    flag: "--max-handshakes",
    value: "n",
    env: "CHAT_MAX_HANDSHAKES",
    key: "maxHandshakes",
    help: "TCRP connections open at once in all; when full, the oldest still reading is closed",
    parse: wholeNumber(1, 100_000),
  }),
  serveFlag({
    flag: "--request-timeout",
    value: "seconds",
    env: "CHAT_REQUEST_TIMEOUT",
    key: "requestTimeoutSeconds",
    help: "a TCRP connection must deliver its whole request within this long",
    parse: positiveSeconds,
  }),
  serveFlag({
    flag: "--handshake-timeout",
    value: "seconds",
    env: "CHAT_HANDSHAKE_TIMEOUT",
    key: "handshakeTimeoutSeconds",
    help: "a TCRP exchange (request, password check, answer) must be done within this long",
    parse: positiveSeconds,
  }),
  serveFlag({
    flag: "--hash-concurrency",
    value: "n",
    env: "CHAT_HASH_CONCURRENCY",
    key: "hashConcurrency",
    help: "room-password checks (scrypt) running at once; 0: one fewer than the cores, at least 1",
    parse: wholeNumber(0, 1_024),
  }),
  serveFlag({
    flag: "--max-rooms-per-ip",
    value: "n",
    env: "CHAT_MAX_ROOMS_PER_IP",
    key: "maxRoomsPerIp",
    help: "rooms open at once whose host came from one address (429 past it)",
    parse: wholeNumber(1, 1_000_000),
  }),
  serveFlag({
    flag: "--max-members-per-ip",
    value: "n",
    env: "CHAT_MAX_MEMBERS_PER_IP",
    key: "maxMembersPerIp",
    help: "members at once, in all rooms, whose handshake came from one address (429 past it)",
    parse: wholeNumber(1, 10_000_000),
  }),
  serveFlag({
    flag: "--max-members-per-room",
    value: "n",
    env: "CHAT_MAX_MEMBERS_PER_ROOM",
    key: "maxMembersPerRoom",
    help:
      "members in a room without a capacity (403 past it), and the largest capacity (400 above)",
    parse: wholeNumber(1, 65_535),
  }),
  serveFlag({
    flag: "--history-bytes",
    value: "n",
    env: "CHAT_HISTORY_BYTES",
    key: "historyBytes",
    help: "event text a room keeps for replay, at 2 bytes a character (the oldest go first)",
    parse: wholeNumber(0, 1 << 30),
  }),
  serveFlag({
    flag: "--replay-rate",
    value: "n",
    env: "CHAT_REPLAY_RATE",
    key: "replayRate",
    help: "replayed events a second in all (after HELLO, HEARTBEAT, RESEND), shared fairly " +
      "between addresses; 0: no limit",
    parse: count,
  }),
  serveFlag({
    flag: "--unauthenticated-rate",
    value: "n",
    env: "CHAT_UNAUTHENTICATED_RATE",
    key: "unauthenticatedRate",
    help: "datagrams a second per address that fail to authenticate before they are " +
      "dropped unanswered (bursts of 2x); 0 turns it off",
    parse: count,
  }),
  serveFlag({
    flag: "--ipv6-prefix",
    value: "bits",
    env: "CHAT_IPV6_PREFIX",
    key: "ipv6PrefixLength",
    help: "leading bits of an IPv6 address that count as one address for the per-address limits",
    parse: wholeNumber(1, 128),
  }),
  serveFlag({
    flag: "--abuse-log-interval",
    value: "seconds",
    env: "CHAT_ABUSE_LOG_INTERVAL",
    key: "abuseLogIntervalSeconds",
    help: "at most one summary line per this long for each kind of abuse from one address",
    parse: positiveSeconds,
  }),
  serveFlag({
    flag: "--log-level",
    value: "level",
    env: "CHAT_LOG_LEVEL",
    key: "logLevel",
    help: "error, warn, info or debug",
    parse: oneOf(LOG_LEVELS),
  }),
  serveFlag({
    flag: "--udp-io",
    value: "io",
    env: "CHAT_UDP_IO",
    key: "udpIo",
    help: "UDP i/o: mmsg (recvmmsg/sendmmsg via FFI; Linux, IPv4, --allow-ffi), deno, or auto",
    parse: oneOf(UDP_IO_CHOICES),
  }),
  serveFlag({
    flag: "--key-file",
    value: "path",
    env: "CHAT_KEY_FILE",
    key: "keyFile",
    help: "the server's key pair, created (mode 0600) when missing; " +
      "clients pin its fingerprint",
    parse: filePath,
    defaultHelp: "$XDG_DATA_HOME/chat/server_key, else ~/.local/share/chat/server_key",
  }),
  serveFlag({
    flag: "--allow-plaintext",
    value: "bool",
    env: "CHAT_ALLOW_PLAINTEXT",
    key: "allowPlaintext",
    help: "also serve the plain, unencrypted protocol (other tools, the original wire)",
    parse: yesOrNo,
    switch: true,
  }),
  ...HTTP_FLAGS,
];

/**
 * A {@linkcode ServerConfig} from every flag's value: `valueOf` gives what the
 * command line, the environment or the default said, already parsed. Throws
 * a UsageError when two flags disagree (`--tls-cert` without `--tls-key`).
 */
export function serverConfigFrom(valueOf: (flag: ServeFlag) => unknown): ServerConfig {
  const config: Record<string, unknown> = { ...DEFAULT_SERVER_CONFIG };
  for (const flag of SERVE_FLAGS) config[flag.key] = valueOf(flag);
  checkHttpConfig(config as unknown as ServerConfig);
  return config as unknown as ServerConfig;
}
