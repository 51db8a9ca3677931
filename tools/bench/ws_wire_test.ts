import assert from "node:assert/strict";
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import { encodeResetDatagram, resetTokenOf } from "../../protocol/sealed_datagram.ts";
import type { SealedSessionParams } from "../../protocol/sealed_types.ts";
import { RelayKind } from "./target.ts";
import { RelayRooms, type RelaySocket } from "./ws_relay.ts";
import { WS_SUBPROTOCOL, WsBenchSocket } from "./ws_socket.ts";
import { StallProxy } from "./ws_stall_proxy.ts";
import { isResetFor } from "./ws_wire.ts";

Deno.test("isResetFor: a reset with the session's id and token, and nothing else", () => {
  const sessionId = new Uint8Array(8).fill(7);
  const resetToken = resetTokenOf(nodeCrypto, new Uint8Array(32).fill(1), sessionId);
  const session = { sessionId, resetToken } as SealedSessionParams;
  assert.ok(isResetFor(encodeResetDatagram(sessionId, resetToken), session));
  const otherToken = resetToken.slice();
  otherToken[0]! ^= 1;
  assert.ok(!isResetFor(encodeResetDatagram(sessionId, otherToken), session));
  assert.ok(!isResetFor(encodeResetDatagram(new Uint8Array(8), resetToken), session));
  assert.ok(!isResetFor(new Uint8Array(26), session));
});

Deno.test("RelayRooms: REGISTER is answered and joins a room; RELAY goes to that room only; a closed socket leaves", () => {
  const rooms = new RelayRooms();
  const got: string[] = [];
  const socket = (name: string): RelaySocket => ({
    send: (b) => got.push(`${name}:${b.join(",")}`),
  });
  const [a, b, c] = [socket("a"), socket("b"), socket("c")];
  rooms.onMessage(a, new Uint8Array([RelayKind.REGISTER, 0, 1]));
  rooms.onMessage(b, new Uint8Array([RelayKind.REGISTER, 0, 1]));
  rooms.onMessage(c, new Uint8Array([RelayKind.REGISTER, 1, 0]));
  assert.deepEqual(got.splice(0), ["a:1", "b:1", "c:1"]);
  rooms.onMessage(c, new Uint8Array([RelayKind.RELAY, 0, 1, 9, 8]));
  assert.deepEqual(got.splice(0), ["a:9,8", "b:9,8"]);
  rooms.onClose(a);
  rooms.onMessage(a, new Uint8Array([RelayKind.RELAY, 0, 1, 5]));
  assert.deepEqual(got.splice(0), ["b:5"]);
});

/** A WebSocket echo server (Deno's) that also tells how many bytes it has sent. */
function echoServer() {
  let sent = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request, { protocol: WS_SUBPROTOCOL });
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => {
      const bytes = new Uint8Array(event.data as ArrayBuffer);
      // [n]: answer with n messages of 60 KiB each (a flood for the stalled reader).
      if (bytes.length === 1) {
        for (let i = 0; i < bytes[0]!; i++) {
          socket.send(new Uint8Array(60 * 1024));
          sent += 60 * 1024;
        }
      } else socket.send(bytes);
    };
    return response;
  });
  return { server, port: server.addr.port, sent: () => sent };
}

Deno.test("WsBenchSocket: queues messages until the receive loop takes them, in order; closes cleanly", async () => {
  const { server, port } = echoServer();
  try {
    const socket = await WsBenchSocket.open(`ws://127.0.0.1:${port}/ws`);
    socket.send(new Uint8Array([1, 2]));
    socket.send(new Uint8Array([3, 4]));
    assert.deepEqual(await socket.nextMessage(), new Uint8Array([1, 2]));
    const second = await socket.nextMessage();
    socket.unshift(second!);
    socket.send(new Uint8Array([5, 6]));
    const seen: number[][] = [];
    const loop = socket.receiveLoop((bytes) => seen.push([...bytes]));
    const deadline = Date.now() + 5000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, [[3, 4], [5, 6]]);
    socket.close();
    await loop;
    assert.equal(socket.closedInfo?.code, 1000);
  } finally {
    await server.shutdown();
  }
});

Deno.test("StallProxy: passes both ways until stalled, then reads nothing more from the server", async () => {
  const { server, port, sent } = echoServer();
  const proxy = new StallProxy({ hostname: "127.0.0.1", port });
  try {
    const socket = await WsBenchSocket.open(`ws://127.0.0.1:${proxy.port}/ws`);
    socket.send(new Uint8Array([7, 7]));
    assert.deepEqual(await socket.nextMessage(), new Uint8Array([7, 7]));
    proxy.stall();
    const before = proxy.fromServerBytes;
    socket.send(new Uint8Array([200])); // 12 MiB from the server: more than the kernel buffers
    const deadline = Date.now() + 10_000;
    while (sent() < 200 * 60 * 1024 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    // At most the read that was in flight when it stalled.
    assert.ok(proxy.fromServerBytes - before <= 64 * 1024, `${proxy.fromServerBytes - before}`);
    socket.close();
  } finally {
    await proxy.close();
    await server.shutdown();
  }
});
