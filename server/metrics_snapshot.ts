/**
 * Gathers the server's counts into a {@linkcode MetricsSnapshot}
 * (metrics.ts writes it for `GET /metrics`, docs/protocol.md 7): the
 * registry's rooms and members, the sealed front end's and transport's
 * counters, the UDP socket's and the WebSocket front's datagrams and bytes,
 * the abuse log's counts by kind, refusals by status, event-loop lag and the
 * HTTP front's counts. Nothing here holds a name or an address.
 *
 * @module
 */
import type { AbuseKind } from "./abuse_log.ts";
import type { DatagramSocket, ReceivedBatch } from "./datagram_socket.ts";
import type { EndpointRouter } from "./endpoint_router.ts";
import type { LagReading } from "./event_loop_lag.ts";
import type { HttpFrontStats } from "./http/http_front_types.ts";
import type { MetricsSnapshot } from "./metrics.ts";
import type { RoomRegistry } from "./registry.ts";
import type { SealedFrontEnd } from "./sealed/sealed_front.ts";
import type { SealedUdpTransport } from "./sealed/sealed_transport.ts";
import type { SealedSessions } from "./sealed/sessions.ts";
import type { WsFrontEnd } from "./ws/ws_front.ts";

/** Handshake refusals written, by status, whatever carried them (TCP or WebSocket). */
export class RefusalCounts {
  readonly byStatus: Record<string, number> = {};

  /** Counts one refusal (bound: pass it as a callback). */
  count = (status: number): void => {
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
  };
}

/** A UDP socket that also counts the bytes it receives and queues. */
export interface CountingSocket extends DatagramSocket {
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** Wraps `socket`, counting bytes both ways (its own stats count datagrams). */
export function countingSocket(socket: DatagramSocket): CountingSocket {
  let bytesIn = 0;
  let bytesOut = 0;
  return {
    get addr() {
      return socket.addr;
    },
    get kind() {
      return socket.kind;
    },
    get stats() {
      return socket.stats;
    },
    get bytesIn() {
      return bytesIn;
    },
    get bytesOut() {
      return bytesOut;
    },
    async receive(): Promise<ReceivedBatch> {
      const batch = await socket.receive();
      for (let i = 0; i < batch.count; i++) bytesIn += batch.size(i);
      return batch;
    },
    send(bytes, to) {
      bytesOut += bytes.length * to.length;
      socket.send(bytes, to);
    },
    flush: () => socket.flush(),
    close: () => socket.close(),
  };
}

/** Where the counts come from. */
export interface MetricsSources {
  registry: RoomRegistry;
  sessions: SealedSessions;
  front: SealedFrontEnd;
  transport: SealedUdpTransport;
  router: EndpointRouter;
  socket: CountingSocket;
  ws: WsFrontEnd;
  abuseCounts: Partial<Record<AbuseKind, number>>;
  refusals: RefusalCounts;
  lag: LagReading;
  http: Readonly<HttpFrontStats> | null;
}

/** Abuse kinds that are datagrams dropped (the rest are handshakes and limits). */
const DATAGRAM_DROPS: readonly AbuseKind[] = [
  "malformed-datagram",
  "unknown-token",
  "foreign-token",
  "unauthenticated-rate",
  "member-flood",
  "sealed-malformed",
  "sealed-unknown-session",
  "sealed-budget",
  "sealed-replayed",
  "sealed-forged",
  "sealed-wrong-transport",
  "plain-datagram",
];

/** The counts now. */
export function gatherMetrics(sources: MetricsSources): MetricsSnapshot {
  const { registry, sessions, front, transport, router, socket, ws } = sources;
  const websocket = ws.memberCount;
  const sealed = sessions.size;
  const drops: Record<string, number> = {};
  for (const kind of DATAGRAM_DROPS) drops[kind] = sources.abuseCounts[kind] ?? 0;
  const t = transport.stats;
  Object.assign(drops, {
    "busy": router.stats.skippedBusy,
    "replay-queue": router.stats.replays.dropped,
    "amplification": t.amplificationDropped,
    "departed": t.departedDropped,
    "held": t.heldDropped,
    "exhausted": t.exhausted,
    "oversized": t.oversized,
    "send-error": socket.stats.sendErrors,
    "ws-shed": ws.stats.links.shed,
    "ws-closed": ws.stats.links.toClosed,
  });
  return {
    rooms: registry.roomCount,
    members: {
      udp: Math.max(0, registry.memberCount - sealed),
      "sealed-udp": Math.max(0, sealed - websocket),
      websocket,
    },
    membersDisconnected: registry.disconnectedCount,
    datagramsReceived: socket.stats.received + ws.stats.datagramsIn,
    datagramsSent: socket.stats.sent + ws.stats.links.datagramsOut,
    bytesReceived: socket.bytesIn + ws.stats.bytesIn,
    bytesSent: socket.bytesOut + ws.stats.links.bytesOut,
    drops,
    handshakeRefusals: { ...sources.refusals.byStatus },
    sealFailures: front.stats.failedOpen,
    eventLoopLag: sources.lag,
    websocket: {
      open: ws.stats.open,
      bufferedBytes: ws.bufferedBytes,
      eventsShed: ws.stats.links.shed,
      slowReadersClosed: ws.stats.links.slowClosed,
    },
    http: sources.http,
  };
}
