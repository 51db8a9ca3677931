/**
 * The `chat serve` settings of the HTTP side (the page, `/ws`, metrics):
 * {@linkcode HttpServerConfig}, their flags (spliced into config.ts's
 * SERVE_FLAGS), the checks between two flags, and the warnings `serve`
 * prints about where it listens.
 *
 * @module
 */
import { UsageError } from "../../client/usage_error.ts";
import type { ServeFlag, ServerConfig } from "../config.ts";
import { type FlagParser, wholeNumber } from "../flag_values.ts";
import { CidrError, parseCidr } from "./cidr.ts";
import { normalizePublicOrigin } from "./host_policy.ts";
import { formatHostPort, parseMetricsAddr } from "./metrics_listener.ts";

/** The HTTP side's part of `ServerConfig`. */
export interface HttpServerConfig {
  /** The page, `/healthz` and `/ws`; 0 turns HTTP off. */
  httpPort: number;
  /** The only origins (and their hosts) served; none: IP literals, localhost, the host name. */
  publicOrigins: readonly string[];
  /** Proxies whose X-Forwarded-For is believed (CIDR blocks). */
  trustProxy: readonly string[];
  /** PEM certificate chain file for https/wss ("" none; needs `tlsKey`). */
  tlsCert: string;
  /** PEM private key file for https/wss ("" none; needs `tlsCert`). */
  tlsKey: string;
  /** `GET /metrics` on HOST:PORT; "" off. */
  metricsAddr: string;
  /** HTTP connections (WebSockets included) open at once in all. */
  maxHttpConnections: number;
  /** HTTP connections open at once from one address. */
  maxHttpConnectionsPerIp: number;
  /** Seconds a WebSocket member whose socket closed stays a member, disconnected. */
  wsGraceSeconds: number;
  /** Bytes waiting on a WebSocket past which EVENTs to it are skipped. */
  wsBufferSoft: number;
  /** Bytes waiting on a WebSocket past which it is closed 4008. */
  wsBufferHard: number;
}

/** One frozen empty list: a list flag's default, and what its parser gives for "". */
const NONE: readonly string[] = Object.freeze([]);

/** The defaults the README documents. */
export const DEFAULT_HTTP_CONFIG: HttpServerConfig = {
  httpPort: 8080,
  publicOrigins: NONE,
  trustProxy: NONE,
  tlsCert: "",
  tlsKey: "",
  metricsAddr: "",
  maxHttpConnections: 4096,
  maxHttpConnectionsPerIp: 256,
  wsGraceSeconds: 300,
  wsBufferSoft: 256 * 1024,
  wsBufferHard: 1024 * 1024,
};

/** A comma-separated list of `parse`d entries; "" is none. */
function listOf(parse: (entry: string) => string): FlagParser<readonly string[]> {
  return (text) => {
    const entries = text.split(/[\s,]+/).map((entry) => entry.trim()).filter((entry) =>
      entry !== ""
    );
    return entries.length === 0 ? NONE : entries.map(parse);
  };
}

/** `--public-origin`: http(s) origins, written as a browser sends them. */
export const publicOriginList: FlagParser<readonly string[]> = listOf(normalizePublicOrigin);

/** `--trust-proxy`: CIDR blocks or single addresses (IPv4 or IPv6). */
export const cidrList: FlagParser<readonly string[]> = listOf((entry) => {
  try {
    parseCidr(entry);
  } catch (error) {
    if (error instanceof CidrError) throw new TypeError(error.message);
    throw error;
  }
  return entry;
});

/** `--metrics-addr`: "" (off), PORT (on 127.0.0.1) or HOST:PORT, as HOST:PORT. */
export function metricsAddress(text: string): string {
  if (text.trim() === "") return "";
  return formatHostPort(parseMetricsAddr(text));
}

/** A file path, or "" for none; no NUL. */
function optionalPath(text: string): string {
  if (text.includes("\0")) throw new TypeError("expected a file path");
  return text;
}

// Checks each entry's parser against the type of the field it sets.
function httpFlag<K extends keyof HttpServerConfig>(flag: ServeFlag<K>): ServeFlag {
  return flag as unknown as ServeFlag;
}

/** `--http-port`, placed with the other ports. */
export const HTTP_PORT_FLAG: ServeFlag = httpFlag({
  flag: "--http-port",
  value: "n",
  env: "CHAT_HTTP_PORT",
  key: "httpPort",
  help: "HTTP port of the web page, /healthz and the WebSocket /ws; 0 turns HTTP off",
  parse: wholeNumber(0, 65_535),
});

/** The other HTTP flags, in the order of `--help` and the README. */
export const HTTP_FLAGS: readonly ServeFlag[] = [
  httpFlag({
    flag: "--public-origin",
    value: "origins",
    env: "CHAT_PUBLIC_ORIGIN",
    key: "publicOrigins",
    help: "comma list of origins the page is served as (https://chat.school.example); " +
      "only their hosts are answered",
    parse: publicOriginList,
    defaultHelp: "none: IP addresses, localhost and this machine's name",
  }),
  httpFlag({
    flag: "--trust-proxy",
    value: "cidrs",
    env: "CHAT_TRUST_PROXY",
    key: "trustProxy",
    help: "comma list of proxy addresses or CIDR blocks whose X-Forwarded-For is believed",
    parse: cidrList,
    defaultHelp: "none",
  }),
  httpFlag({
    flag: "--tls-cert",
    value: "file",
    env: "CHAT_TLS_CERT",
    key: "tlsCert",
    help: "PEM certificate (chain) for https and wss; with --tls-key",
    parse: optionalPath,
    defaultHelp: "none: plain http",
  }),
  httpFlag({
    flag: "--tls-key",
    value: "file",
    env: "CHAT_TLS_KEY",
    key: "tlsKey",
    help: "PEM private key of --tls-cert",
    parse: optionalPath,
    defaultHelp: "none",
  }),
  httpFlag({
    flag: "--metrics-addr",
    value: "host:port",
    env: "CHAT_METRICS_ADDR",
    key: "metricsAddr",
    help: "serve GET /metrics (Prometheus) on PORT (127.0.0.1) or HOST:PORT",
    parse: metricsAddress,
    defaultHelp: "off",
  }),
  httpFlag({
    flag: "--max-http-connections",
    value: "n",
    env: "CHAT_MAX_HTTP_CONNECTIONS",
    key: "maxHttpConnections",
    help: "HTTP connections and WebSockets open at once in all (503 past it)",
    parse: wholeNumber(1, 1_000_000),
  }),
  httpFlag({
    flag: "--max-http-connections-per-ip",
    value: "n",
    env: "CHAT_MAX_HTTP_CONNECTIONS_PER_IP",
    key: "maxHttpConnectionsPerIp",
    help: "HTTP connections and WebSockets open at once from one address (503 past it)",
    parse: wholeNumber(1, 1_000_000),
  }),
  httpFlag({
    flag: "--ws-grace",
    value: "seconds",
    env: "CHAT_WS_GRACE",
    key: "wsGraceSeconds",
    help: "a WebSocket member whose socket closed stays a member this long, to reconnect",
    parse: wholeNumber(0, 86_400),
  }),
  httpFlag({
    flag: "--ws-buffer-soft",
    value: "bytes",
    env: "CHAT_WS_BUFFER_SOFT",
    key: "wsBufferSoft",
    help: "bytes waiting on a WebSocket past which events to it are skipped (it repairs later)",
    parse: wholeNumber(4_096, 1 << 30),
  }),
  httpFlag({
    flag: "--ws-buffer-hard",
    value: "bytes",
    env: "CHAT_WS_BUFFER_HARD",
    key: "wsBufferHard",
    help: "bytes waiting on a WebSocket past which it is closed (4008, the page reconnects)",
    parse: wholeNumber(4_096, 1 << 30),
  }),
];

/**
 * The rules between HTTP flags, as a {@linkcode UsageError} (exit 2):
 * `--tls-cert` and `--tls-key` come together; the soft buffer limit is
 * below the hard one.
 */
export function checkHttpConfig(config: HttpServerConfig): void {
  if ((config.tlsCert === "") !== (config.tlsKey === "")) {
    const given = config.tlsCert === "" ? "--tls-key" : "--tls-cert";
    const missing = config.tlsCert === "" ? "--tls-cert" : "--tls-key";
    throw new UsageError(`${given} needs ${missing} too: https takes a certificate and its key`);
  }
  const { wsBufferSoft: soft, wsBufferHard: hard } = config;
  // Parsed values are numbers; a caller that fills fields with stand-ins (a test) is not judged.
  if (typeof soft === "number" && typeof hard === "number" && soft >= hard) {
    throw new UsageError(
      `--ws-buffer-soft (${config.wsBufferSoft}) must be below --ws-buffer-hard ` +
        `(${config.wsBufferHard})`,
    );
  }
}

/** Whether `hostname` is a loopback address or name (127.0.0.0/8, ::1, localhost). */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host) ||
    /^::ffff:127\./.test(host);
}

/**
 * The warning lines `serve` logs once listening: the page over plain http
 * on an address others can reach (`boundAddr`, the HTTP listener's; null
 * when HTTP is off), and metrics on a non-loopback address.
 */
export function httpWarnings(
  config: Pick<ServerConfig, "tlsCert" | "metricsAddr">,
  boundAddr: Deno.NetAddr | null,
): string[] {
  const warnings: string[] = [];
  if (boundAddr !== null && config.tlsCert === "" && !isLoopback(boundAddr.hostname)) {
    warnings.push(
      `the page is served over plain http on ${formatHostPort(boundAddr)}: connections are ` +
        "protected only against passive listeners; use --tls-cert/--tls-key or a reverse proxy",
    );
  }
  if (config.metricsAddr !== "") {
    const metrics = parseMetricsAddr(config.metricsAddr);
    if (!isLoopback(metrics.hostname)) {
      warnings.push(
        `metrics are served on ${config.metricsAddr}, which is not a loopback address: anyone ` +
          "who can reach it can read the server's counts; prefer 127.0.0.1 or a firewall",
      );
    }
  }
  return warnings;
}
