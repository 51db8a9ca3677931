/** The UDP receive loop against a socket that fails the way a real one can, without sockets. */
import assert from "node:assert/strict";
import { decodeServerDatagram } from "../protocol/datagram.ts";
import type { HostPort } from "../protocol/host_port.ts";
import type { DatagramSocket, ReceivedBatch } from "./datagram_socket.ts";
import { EndpointRouter } from "./endpoint_router.ts";
import { createLogger } from "./log.ts";
import { KeyedRateLimiter } from "./rate_limit.ts";
import { DEFAULT_REGISTRY_LIMITS, RoomRegistry } from "./registry.ts";
import { UdpTransport } from "./udp_endpoints.ts";
import { UdpFrontEnd } from "./udp_front.ts";

const withCode = (code: string) => Object.assign(new Error("os error"), { code });
const EMPTY: ReceivedBatch = {
  count: 0,
  bytes: () => new Uint8Array(0),
  size: () => 0,
  from: () => ({ hostname: "", port: 0 }),
};
const junk: ReceivedBatch = {
  count: 1,
  bytes: () => new Uint8Array([1, 2, 3]),
  size: () => 3,
  from: () => ({ hostname: "192.0.2.7", port: 4_000 }),
};

/** A socket whose receive() gives each of `script` in turn (errors are thrown). */
function scriptedSocket(script: (ReceivedBatch | Error)[]) {
  const sent: { bytes: Uint8Array; to: HostPort[] }[] = [];
  const socket = {
    receive: () => {
      const next = script.shift() ?? EMPTY;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    send: (bytes: Uint8Array, to: readonly HostPort[]) => sent.push({ bytes, to: [...to] }),
    flush: () => {},
    close: () => Promise.resolve(),
  } as unknown as DatagramSocket;
  return { socket, sent };
}

function frontEnd(socket: DatagramSocket, lines: string[]): UdpFrontEnd {
  const clocks = { monotonic: () => performance.now(), wall: () => Date.now() };
  return new UdpFrontEnd(socket, {
    registry: new RoomRegistry({ ...DEFAULT_REGISTRY_LIMITS, clocks }),
    transport: new UdpTransport(socket, (ip) => ip),
    router: new EndpointRouter(),
    log: createLogger("debug", (line) => lines.push(line.replace(/^\S+ /, ""))),
    strangers: new KeyedRateLimiter({ ratePerSecond: 0, burst: 0, clock: clocks.monotonic }),
    report: () => {},
    clocks,
  });
}

Deno.test("udp loop: ENOBUFS and ENOMEM back off and go on; the next datagram is still answered", async () => {
  const { socket, sent } = scriptedSocket([withCode("ENOBUFS"), withCode("ENOMEM"), junk]);
  const lines: string[] = [];
  await frontEnd(socket, lines).serve();
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.equal(lines[0], "warn  udp receive: ENOBUFS (os error); backing off");
  assert.match(lines[1]!, /^warn {2}udp receive: receiving again after \d+ ms$/);
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0]!.to.map((to) => `${to.hostname}:${to.port}`), ["192.0.2.7:4000"]);
  assert.equal(decodeServerDatagram(sent[0]!.bytes).kind, "error");
});

Deno.test("udp loop: an error it does not know ends serve() with that error", async () => {
  const fatal = withCode("EBADF");
  const { socket } = scriptedSocket([withCode("ENOBUFS"), fatal, junk]);
  await assert.rejects(frontEnd(socket, []).serve(), (error) => error === fatal);
});

Deno.test("udp loop: a server that takes sealed sessions only drops plain datagrams unanswered, and counts them", async () => {
  const { socket, sent } = scriptedSocket([junk]);
  const clocks = { monotonic: () => performance.now(), wall: () => Date.now() };
  const reported: string[] = [];
  await new UdpFrontEnd(socket, {
    registry: new RoomRegistry({ ...DEFAULT_REGISTRY_LIMITS, clocks }),
    transport: new UdpTransport(socket, (ip) => ip),
    router: new EndpointRouter(),
    log: createLogger("debug", () => {}),
    strangers: new KeyedRateLimiter({ ratePerSecond: 0, burst: 0, clock: clocks.monotonic }),
    report: (kind) => reported.push(kind),
    clocks,
    plain: false,
  }).serve();
  assert.equal(sent.length, 0);
  assert.deepEqual(reported, ["plain-datagram"]);
});
