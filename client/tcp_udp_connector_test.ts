/** The Deno UDP channel on loopback: connected to one endpoint, and deaf to every other. */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { openUdpChannel } from "./tcp_udp_connector.ts";

function udpSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket("udp4");
  return new Promise((resolve) => socket.bind(0, "127.0.0.1", () => resolve(socket)));
}

Deno.test("openUdpChannel: sends to the server, receives only from its exact address and port", async () => {
  const server = await udpSocket();
  const stranger = await udpSocket();
  const channel = await openUdpChannel("127.0.0.1", {
    hostname: "127.0.0.1",
    port: server.address().port,
  });
  try {
    const arrived = new Promise<Uint8Array>((resolve) =>
      server.once("message", (bytes: Uint8Array) => resolve(new Uint8Array(bytes)))
    );
    channel.send(Uint8Array.of(1, 2, 3));
    assert.deepEqual(await arrived, Uint8Array.of(1, 2, 3));
    const to = channel.local!;
    // The stranger shares the server's IP but not its port: dropped, though it comes first
    // (a loopback send has queued the datagram at the receiver when its callback runs).
    await new Promise((resolve) => stranger.send(Uint8Array.of(9), to.port, to.hostname, resolve));
    await new Promise((resolve) => server.send(Uint8Array.of(7), to.port, to.hostname, resolve));
    assert.deepEqual(await channel.receive(), Uint8Array.of(7));
  } finally {
    channel.close();
    assert.equal(await channel.receive(), null, "closed: receive says null");
    server.close();
    stranger.close();
  }
});
