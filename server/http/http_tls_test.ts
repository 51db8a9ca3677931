/**
 * The HTTP front over TLS (--tls-cert/--tls-key): https and wss on the same
 * listener. The certificate is made here with openssl when it exists, else
 * the committed test-only pair in testing/testdata/ is used.
 */
import assert from "node:assert/strict";
import { waitUntil } from "../../testing/wait.ts";
import { parseResponses, request, startTestFront } from "./http_test_util.ts";

const TESTDATA = new URL("../../testing/testdata/", import.meta.url);

/** A self-signed localhost certificate and key (PEM texts). */
async function testCertificate(): Promise<{ cert: string; key: string }> {
  const dir = await Deno.makeTempDir({ prefix: "chat_tls_" });
  try {
    const made = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "extendedKeyUsage=serverAuth",
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    assert.equal(made.code, 0, "openssl req -x509 failed");
    return {
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
    };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return {
      cert: await Deno.readTextFile(new URL("tls_test_only_cert.pem", TESTDATA)),
      key: await Deno.readTextFile(new URL("tls_test_only_key.pem", TESTDATA)),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function readAll(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(65536);
  let text = "";
  while (true) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) return text;
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
}

Deno.test("with a certificate the same port serves https and wss; plain http is refused; a silent client holds its slot until it leaves", async () => {
  const tls = await testCertificate();
  const t = startTestFront({
    listen: { hostname: "127.0.0.1", port: 0, tls },
    headTimeoutMs: 300,
    maxConnectionsPerIp: 1,
  });
  try {
    const https = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: t.port,
      caCerts: [tls.cert],
    });
    await https.write(new TextEncoder().encode(request("/healthz")));
    const [health] = parseResponses(await readAll(https));
    https.close();
    assert.equal(health!.status, 200);
    assert.equal(health!.body, "ok\n");

    const wss = await Deno.connectTls({ hostname: "127.0.0.1", port: t.port, caCerts: [tls.cert] });
    await wss.write(new TextEncoder().encode(request("/ws", {
      Connection: "Upgrade",
      Upgrade: "websocket",
      "Sec-WebSocket-Version": "13",
      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Protocol": "chat.ws.1",
      Host: `127.0.0.1:${t.port}`,
      Origin: `https://127.0.0.1:${t.port}`,
    })));
    const buffer = new Uint8Array(4096);
    const n = await wss.read(buffer);
    assert.match(new TextDecoder().decode(buffer.subarray(0, n!)), /^HTTP\/1\.1 101 /);
    await waitUntil(() => t.arrivals.length === 1, "the wss arrival");
    t.arrivals[0]!.ws.start({ message() {}, closed() {} });
    wss.close();
    await t.arrivals[0]!.ws.closed;

    // Plain http to the TLS port: not a TLS handshake, closed without an answer or a crash.
    const plain = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    await plain.write(new TextEncoder().encode(request("/healthz")));
    assert.doesNotMatch(await readAll(plain), /HTTP\/1\.1 200/);
    plain.close();
    // A client that never starts its handshake keeps its slot until it goes away
    // (Deno cannot abort a handshake); the head deadline starts after the handshake.
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    await waitUntil(() => t.front.stats.open === 1, "the silent connection counted");
    silent.close();
    await waitUntil(() => t.front.stats.open === 0, "its slot freed when it left");
    const idle = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: t.port,
      caCerts: [tls.cert],
    });
    await idle.handshake();
    assert.equal(await readAll(idle), "", "closed unanswered at the head deadline");
    idle.close();
    await waitUntil(() => t.front.stats.open === 0, "every connection closed");
    // Over the limits a TLS connection gets its 503 once its handshake is done.
    const held = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    await waitUntil(() => t.front.stats.open === 1, "a held connection");
    const over = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: t.port,
      caCerts: [tls.cert],
    });
    await over.write(new TextEncoder().encode(request("/healthz")));
    const [busy] = parseResponses(await readAll(over));
    assert.equal(busy!.status, 503);
    assert.equal(t.front.stats.refusedByLimit, 1);
    held.close();
    over.close();
    await waitUntil(() => t.front.stats.open === 0, "every connection closed");
    assert.equal(
      t.log.lines.filter((line) => line.startsWith("error")).length,
      0,
      t.log.lines.join("\n"),
    );
  } finally {
    await t.close();
  }
});
