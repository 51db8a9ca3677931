/**
 * The server's web side (docs/protocol.md 7): the HTTP front (the page,
 * `/healthz`, `/ws`, whose sockets it hands to the WebSocket front) when
 * `--http-port` is not 0, and the metrics listener when `--metrics-addr`
 * is set, with the event-loop lag sampler the metrics read. Started after
 * the chat sockets and closed after every WebSocket has closed 1001.
 *
 * @module
 */
import type { ServerConfig } from "./config.ts";
import { EventLoopLag, type LagReading } from "./event_loop_lag.ts";
import type { HttpFrontStats } from "./http/http_front_types.ts";
import { type HttpFront, type PageFiles, startHttpFront } from "./http/http_server.ts";
import {
  type MetricsListener,
  parseMetricsAddr,
  startMetricsListener,
} from "./http/metrics_listener.ts";
import type { Logger } from "./log.ts";
import type { MetricsSnapshot } from "./metrics.ts";
import { bindOrExplain } from "./startup_errors.ts";
import { handshakeMessageLimit } from "./ws/ws_frames.ts";
import type { WsFrontEnd } from "./ws/ws_front.ts";

/** What the HTTP front is started with besides the configuration. */
export interface HttpHooks {
  /**
   * Listen for HTTP on this port whatever `config.httpPort` says (tests: 0,
   * any free port; `config.httpPort` 0 means off).
   */
  port?: number;
  /** The page's files; null or absent: `/` answers 404. */
  page?: PageFiles | null;
  /** The PEM texts of --tls-cert and --tls-key (serve reads the files). */
  tls?: { cert: string; key: string };
  /** The machine's host name (tests); absent: Deno.hostname(). */
  hostName?: string | null;
  /** How long a WebSocket may stay over --ws-buffer-soft before it is closed 4008 (tests). */
  slowReaderMs?: number;
}

/** What the web side needs. */
export interface WebSideOptions {
  config: ServerConfig;
  hooks: HttpHooks;
  ws: WsFrontEnd;
  /** The server's static X25519 public key (the page carries it). */
  serverKey: Uint8Array;
  addressKeyOf: (ip: string) => string;
  log: Logger;
  monotonic: () => number;
  /** The server's counts, given the lag and the HTTP front's counts. */
  metrics: (lag: LagReading, http: Readonly<HttpFrontStats> | null) => MetricsSnapshot;
}

/** The running web side. */
export interface WebSide {
  http: HttpFront | null;
  metricsListener: MetricsListener | null;
  /** Every count `/metrics` reports, now. */
  metrics(): MetricsSnapshot;
  /** Closes the HTTP listener (WebSockets close 1001 there, if any is left), then the metrics one. */
  close(): Promise<void>;
}

/** Binds the HTTP and metrics listeners; a failure to bind closes what it bound and throws a StartupError. */
export function startWebSide(options: WebSideOptions): WebSide {
  const { config, hooks, ws, log } = options;
  const httpPort = hooks.port ?? config.httpPort;
  let http: HttpFront | null = null;
  if (hooks.port !== undefined || httpPort !== 0) {
    const tls = hooks.tls;
    http = bindOrExplain(
      { protocol: "HTTP", hostname: config.host, port: httpPort },
      () =>
        startHttpFront({
          listen: { hostname: config.host, port: httpPort, ...(tls ? { tls } : {}) },
          page: hooks.page ?? null,
          serverKey: options.serverKey,
          publicOrigins: config.publicOrigins,
          trustProxy: config.trustProxy,
          maxConnections: config.maxHttpConnections,
          maxConnectionsPerIp: config.maxHttpConnectionsPerIp,
          addressKeyOf: options.addressKeyOf,
          log,
          monotonic: options.monotonic,
          heartbeatMs: config.heartbeatSeconds * 1000,
          maxFirstMessageBytes: handshakeMessageLimit(config.maxPayloadBytes),
          onWebSocket: (arrival) => ws.onWebSocket(arrival),
          ...(hooks.hostName !== undefined ? { hostName: hooks.hostName } : {}),
        }),
    );
  }
  const lag = new EventLoopLag();
  const metrics = () => options.metrics(lag.read(), http?.stats ?? null);
  let metricsListener: MetricsListener | null = null;
  if (config.metricsAddr !== "") {
    try {
      const where = parseMetricsAddr(config.metricsAddr);
      metricsListener = bindOrExplain(
        { protocol: "METRICS", ...where },
        () => startMetricsListener({ addr: where, snapshot: metrics, log }),
      );
    } catch (error) {
      lag.stop();
      void http?.close();
      throw error;
    }
  }
  return {
    http,
    metricsListener,
    metrics,
    async close() {
      await http?.close();
      await metricsListener?.close();
      lag.stop();
    },
  };
}
