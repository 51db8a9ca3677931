/**
 * The relay's CPU cost without sockets: one MESSAGE datagram decoded, handed
 * to the registry of a room of 50, and every answer encoded, as the UDP front
 * end does. `deno bench server/` prints the time per message (51 datagrams out).
 */
import {
  decodeClientDatagram,
  encodeClientDatagram,
  encodeServerDatagram,
} from "../protocol/datagram.ts";
import { DEFAULT_REGISTRY_LIMITS, RoomRegistry } from "./registry.ts";

const MEMBERS = 50;
const registry = new RoomRegistry({ ...DEFAULT_REGISTRY_LIMITS, clock: Date.now, rateLimit: 0 });
const tokens: Uint8Array[] = [];
for (let i = 0; i < MEMBERS; i++) {
  const request = { roomName: "bench", username: `member${i}`, ip: "127.0.0.1" };
  const result = i === 0
    ? registry.create({ ...request, password: null, capacity: null })
    : registry.join({ ...request, passwordProof: null });
  if (!result.ok) throw new Error(result.error);
  tokens.push(result.token);
  registry.handleDatagram({ hostname: "127.0.0.1", port: 20_000 + i }, {
    roomName: "bench",
    token: result.token,
    body: { kind: "hello", lastSeq: 0 },
  });
}
const sender = { hostname: "127.0.0.1", port: 20_000 };
let msgId = 0;

Deno.bench("MESSAGE into a room of 50: decode, registry, encode each answer once", () => {
  const bytes = encodeClientDatagram({
    roomName: "bench",
    token: tokens[0]!,
    body: { kind: "message", msgId: ++msgId, text: `${performance.now()} hello everyone` },
  });
  let sent = 0;
  for (const { to, body } of registry.handleDatagram(sender, decodeClientDatagram(bytes))) {
    encodeServerDatagram(body);
    sent += to.length;
  }
  if (sent !== MEMBERS + 1) throw new Error(`sent ${sent}`);
});
