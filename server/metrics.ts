/**
 * The server's counts in the Prometheus text exposition format (version
 * 0.0.4), for `GET /metrics` on the metrics listener. Pure: the caller
 * gathers a {@linkcode MetricsSnapshot}; this only writes it.
 *
 * No room name, member name or address is ever a label (they would leak
 * who talks where to whoever reads the metrics, and grow without bound):
 * the only labels are fixed sets, the transport, a drop's cause and a
 * refusal's status.
 *
 * @module
 */
import type { HttpFrontStats } from "./http/http_front_types.ts";

/** How a member reaches the server. */
export type MemberTransport = "udp" | "sealed-udp" | "websocket";

/** Everything `/metrics` reports, at one moment. Counters only grow; gauges are "now". */
export interface MetricsSnapshot {
  /** Gauge: rooms open. */
  rooms: number;
  /** Gauge: members by transport (disconnected ones in grace included). */
  members: Record<MemberTransport, number>;
  /** Gauge: WebSocket members whose socket closed, still members for the grace period. */
  membersDisconnected: number;
  /** Counters: datagrams and their bytes, in and out, all transports. */
  datagramsReceived: number;
  datagramsSent: number;
  bytesReceived: number;
  bytesSent: number;
  /** Counters: datagrams dropped, by cause ("unauthenticated", "rate", "replay", ...). */
  drops: Record<string, number>;
  /** Counters: handshakes refused, by status (400, 403, 429, 503, ...). */
  handshakeRefusals: Record<string, number>;
  /** Counter: sealed datagrams that failed to open. */
  sealFailures: number;
  /** Gauges: event-loop lag in milliseconds, the last sample and the largest since the last read. */
  eventLoopLag: { lastMs: number; maxMs: number };
  /** WebSocket transport: gauges (open, bufferedBytes) and counters (shed, closed). */
  websocket: {
    open: number;
    bufferedBytes: number;
    eventsShed: number;
    slowReadersClosed: number;
  };
  /** The HTTP front's counts; null when HTTP is off. */
  http: Readonly<HttpFrontStats> | null;
}

type Sample = [labels: Record<string, string> | null, value: number];

/** Writes one metric family: HELP, TYPE, then its samples. */
function family(
  lines: string[],
  name: string,
  type: "counter" | "gauge",
  help: string,
  samples: Sample[],
): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) {
    const text = labels === null
      ? ""
      : `{${Object.entries(labels).map(([key, val]) => `${key}="${escapeLabel(val)}"`).join(",")}}`;
    lines.push(`${name}${text} ${formatValue(value)}`);
  }
}

/** A label value as the format writes it: backslash, quote and newline escaped. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** One sample per key of `record`, labelled `label="<key>"`, keys in order. */
function byLabel(label: string, record: Record<string, number>): Sample[] {
  return Object.keys(record).sort().map((key) => [{ [label]: key }, record[key]!]);
}

const one = (value: number): Sample[] => [[null, value]];

/** The exposition text of `snapshot`; ends with a newline. */
export function renderMetrics(snapshot: MetricsSnapshot): string {
  const lines: string[] = [];
  const s = snapshot;
  family(lines, "chat_rooms", "gauge", "Rooms open.", one(s.rooms));
  family(lines, "chat_members", "gauge", "Members, by transport.", byLabel("transport", s.members));
  family(
    lines,
    "chat_members_disconnected",
    "gauge",
    "WebSocket members whose socket closed, kept for the grace period.",
    one(s.membersDisconnected),
  );
  family(
    lines,
    "chat_datagrams_received_total",
    "counter",
    "Datagrams received.",
    one(s.datagramsReceived),
  );
  family(lines, "chat_datagrams_sent_total", "counter", "Datagrams sent.", one(s.datagramsSent));
  family(
    lines,
    "chat_datagram_bytes_received_total",
    "counter",
    "Datagram bytes received.",
    one(s.bytesReceived),
  );
  family(
    lines,
    "chat_datagram_bytes_sent_total",
    "counter",
    "Datagram bytes sent.",
    one(s.bytesSent),
  );
  family(
    lines,
    "chat_drops_total",
    "counter",
    "Datagrams dropped, by cause.",
    byLabel("cause", s.drops),
  );
  family(
    lines,
    "chat_handshake_refusals_total",
    "counter",
    "Handshakes refused, by status.",
    byLabel("status", s.handshakeRefusals),
  );
  family(
    lines,
    "chat_seal_failures_total",
    "counter",
    "Sealed datagrams that failed to open.",
    one(s.sealFailures),
  );
  family(
    lines,
    "chat_event_loop_lag_seconds",
    "gauge",
    "Event-loop lag at the last sample (every 0.5 s).",
    one(s.eventLoopLag.lastMs / 1000),
  );
  family(
    lines,
    "chat_event_loop_lag_max_seconds",
    "gauge",
    "Largest event-loop lag since the previous scrape.",
    one(s.eventLoopLag.maxMs / 1000),
  );
  const ws = s.websocket;
  family(lines, "chat_websocket_connections", "gauge", "WebSockets open.", one(ws.open));
  family(
    lines,
    "chat_websocket_buffered_bytes",
    "gauge",
    "Bytes queued on WebSockets, not yet taken by their peers.",
    one(ws.bufferedBytes),
  );
  family(
    lines,
    "chat_websocket_events_shed_total",
    "counter",
    "Events skipped for WebSockets over the soft buffer limit.",
    one(ws.eventsShed),
  );
  family(
    lines,
    "chat_websocket_slow_readers_closed_total",
    "counter",
    "WebSockets closed 4008 as slow readers.",
    one(ws.slowReadersClosed),
  );
  if (s.http !== null) renderHttp(lines, s.http);
  return lines.join("\n") + "\n";
}

function renderHttp(lines: string[], http: Readonly<HttpFrontStats>): void {
  family(
    lines,
    "chat_http_connections",
    "gauge",
    "HTTP connections open (WebSockets included).",
    one(http.open),
  );
  family(
    lines,
    "chat_http_connections_refused_total",
    "counter",
    "HTTP connections refused (503) by the connection limits.",
    one(http.refusedByLimit),
  );
  family(
    lines,
    "chat_http_host_refusals_total",
    "counter",
    "Requests refused (421) for their Host.",
    one(http.hostRefused),
  );
  family(
    lines,
    "chat_websocket_origin_refusals_total",
    "counter",
    "WebSockets closed 4403 for their Origin.",
    one(http.originRefused),
  );
  family(
    lines,
    "chat_websocket_upgrades_total",
    "counter",
    "WebSocket upgrades answered 101.",
    one(http.upgrades),
  );
  family(
    lines,
    "chat_websocket_out_of_date_total",
    "counter",
    "WebSockets closed 4426 (an old page or profile).",
    one(http.outOfDate),
  );
  family(
    lines,
    "chat_http_bad_requests_total",
    "counter",
    "HTTP requests refused as malformed, too large, slow or not served.",
    one(http.badRequests),
  );
}
