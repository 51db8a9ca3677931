/** Test-only: a metrics snapshot for the renderer and the listener. */
import type { MetricsSnapshot } from "./metrics.ts";

/** A snapshot with a distinct value everywhere. */
export function sampleSnapshot(): MetricsSnapshot {
  return {
    rooms: 3,
    members: { udp: 4, "sealed-udp": 5, websocket: 6 },
    membersDisconnected: 1,
    datagramsReceived: 100,
    datagramsSent: 200,
    bytesReceived: 3000,
    bytesSent: 4000,
    drops: { unauthenticated: 7, rate: 8 },
    handshakeRefusals: { "429": 9, "403": 10 },
    sealFailures: 11,
    eventLoopLag: { lastMs: 2.5, maxMs: 40 },
    websocket: { open: 6, bufferedBytes: 1234, eventsShed: 12, slowReadersClosed: 13 },
    http: {
      open: 8,
      refusedByLimit: 14,
      hostRefused: 15,
      originRefused: 16,
      upgrades: 17,
      outOfDate: 18,
      badRequests: 19,
    },
  };
}
