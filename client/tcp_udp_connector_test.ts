/** The Deno UDP channel on loopback: connected to one endpoint, and deaf to every other. */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { startTestServer } from "../testing/test_server.ts";
import { describeChangedKey, openUdpChannel, TcpUdpConnector } from "./tcp_udp_connector.ts";
import { fingerprintText } from "../protocol/fingerprint.ts";

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

Deno.test("TcpUdpConnector sealed: a sealed membership from a real server; the first key is checked once and kept", async () => {
  const server = startTestServer();
  const checked: Uint8Array[] = [];
  const connector = new TcpUdpConnector(
    { hostname: server.tcpAddr.hostname, port: server.tcpAddr.port },
    { sealed: { crypto: nodeCrypto, checkServerKey: (key) => void checked.push(key) } },
  );
  const request = (operation: 1 | 2, username: string) => ({
    operation,
    roomName: "sealed-room",
    username,
    password: "pw",
    capacity: null,
    protocol: 2,
  } as const);
  const connections = [];
  try {
    connections.push(await connector.connect(request(1, "ann"), { timeoutMs: 5_000 }));
    connections.push(await connector.connect(request(2, "bob"), { timeoutMs: 5_000 }));
    const [first, second] = connections;
    assert.deepEqual(first!.sealed!.serverStaticKey, server.staticPublicKey);
    assert.equal(first!.sealed!.passwordProtected, true);
    assert.equal(first!.sealed!.host, "ann");
    assert.equal(first!.token.length, 0, "no token leaves the server");
    assert.notDeepEqual(first!.sealed!.sessionId, second!.sealed!.sessionId);
    assert.deepEqual(checked, [server.staticPublicKey], "checked once: the rejoin path keeps it");
    assert.ok(first!.channel.local !== undefined);
  } finally {
    for (const connection of connections) connection.channel.close();
    await server.shutdown();
  }
});

Deno.test("a rejoin that meets a changed key names both fingerprints and the command that trusts the new one", () => {
  const kept = new Uint8Array(32).fill(1);
  const actual = new Uint8Array(32).fill(2);
  const text = describeChangedKey("127.0.0.1:9001", kept, actual, nodeCrypto);
  const before = fingerprintText(nodeCrypto, kept);
  const now = fingerprintText(nodeCrypto, actual);
  assert.match(text, /nothing was sent/);
  assert.ok(text.includes(`before ${before}, now ${now}`), text);
  assert.ok(!text.includes("\n"), "one line: a close text is shown made safe");
  assert.ok(text.includes(`chat trust 127.0.0.1:9001 ${now}`), text);
});

Deno.test("openUdpChannel: a datagram sent just before close still leaves (a LEAVE before the end)", async () => {
  const server = await udpSocket();
  try {
    const arrived = new Promise<Uint8Array>((resolve) =>
      server.once("message", (bytes: Uint8Array) => resolve(new Uint8Array(bytes)))
    );
    const channel = await openUdpChannel("127.0.0.1", {
      hostname: "127.0.0.1",
      port: server.address().port,
    });
    channel.send(Uint8Array.of(4, 4));
    channel.close(); // at once: node:dgram has not sent it yet
    let timer: ReturnType<typeof setTimeout> | undefined;
    const lost = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 2_000)));
    const got = await Promise.race([arrived, lost]);
    clearTimeout(timer);
    assert.deepEqual(got, Uint8Array.of(4, 4), "the datagram sent before close arrived");
  } finally {
    server.close();
  }
});
