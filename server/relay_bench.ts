/**
 * The relay's CPU cost without sockets: one MESSAGE datagram decoded, handed
 * to the registry of a room of 50, and its answers routed as the UDP front
 * end does (each body encoded once, queued for every endpoint). `deno bench
 * server/` prints the time per message (51 datagrams out).
 */
import { decodeClientDatagram, encodeClientDatagram } from "../protocol/datagram.ts";
import type { HostPort } from "../protocol/host_port.ts";
import type { DatagramSocket } from "./datagram_socket.ts";
import { EndpointRouter } from "./endpoint_router.ts";
import { DEFAULT_REGISTRY_LIMITS, RoomRegistry } from "./registry.ts";
import { UdpTransport } from "./udp_endpoints.ts";

const MEMBERS = 50;
let sent = 0;
// Counts what would leave; the kernel's part is the bench's (deno task bench), not this one's.
const socket = {
  send: (_bytes: Uint8Array, to: readonly HostPort[]) => (sent += to.length),
  flush: () => {},
} as unknown as DatagramSocket;
const transport = new UdpTransport(socket, (ip) => ip);
const router = new EndpointRouter();
const registry = new RoomRegistry({
  ...DEFAULT_REGISTRY_LIMITS,
  clocks: { monotonic: () => performance.now(), wall: () => Date.now() },
  rateLimit: 0,
});
const peer = { address: "127.0.0.1", addressKey: "127.0.0.1" };
const tokens: Uint8Array[] = [];
for (let i = 0; i < MEMBERS; i++) {
  const request = { roomName: "bench", username: `member${i}`, peer };
  const result = i === 0
    ? registry.create({ ...request, password: null, capacity: null })
    : registry.join({ ...request, passwordProof: null });
  if (!result.ok) throw new Error(result.error);
  tokens.push(result.token);
  registry.handleDatagram(transport.endpointOf({ hostname: "127.0.0.1", port: 20_000 + i }), {
    roomName: "bench",
    token: result.token,
    body: { kind: "hello", lastSeq: 0 },
  });
}
let msgId = 0;

Deno.bench("MESSAGE into a room of 50: decode, registry, route each answer once", () => {
  const bytes = encodeClientDatagram({
    roomName: "bench",
    token: tokens[0]!,
    body: { kind: "message", msgId: ++msgId, text: `${performance.now()} hello everyone` },
  });
  sent = 0;
  const sender = transport.endpointOf({ hostname: "127.0.0.1", port: 20_000 });
  router.queue(registry.handleDatagram(sender, decodeClientDatagram(bytes)));
  router.flush();
  if (sent !== MEMBERS + 1) throw new Error(`sent ${sent}`);
});
