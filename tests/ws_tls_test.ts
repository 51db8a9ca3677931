/**
 * `--tls-cert`/`--tls-key`: serve reads both files before it binds (a file
 * it cannot read is one StartupError naming it), and the HTTP front then
 * speaks TLS: a sealed room list over wss with a self-signed certificate
 * made by openssl for the test.
 */
import assert from "node:assert/strict";
import { readTlsFiles } from "../server/serve_command.ts";
import { StartupError } from "../server/startup_errors.ts";
import { cheapPasswords } from "../testing/sealed_tcrp.ts";
import { errorLines, startTestServer } from "../testing/test_server.ts";
import { closeCode, listOverWebSocket, openRawWebSocket } from "../testing/ws_client.ts";

/** A self-signed certificate for 127.0.0.1 and its key, in PEM, written to a temporary directory. */
async function selfSigned(): Promise<{ dir: string; certFile: string; keyFile: string }> {
  const dir = await Deno.makeTempDir({ prefix: "chat-tls-" });
  const certFile = `${dir}/cert.pem`;
  const keyFile = `${dir}/key.pem`;
  const { code, stderr } = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-addext",
      "extendedKeyUsage=serverAuth",
    ],
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return { dir, certFile, keyFile };
}

Deno.test("tls: serve reads --tls-cert and --tls-key; an unreadable one is a StartupError naming it", async () => {
  const { dir, certFile, keyFile } = await selfSigned();
  try {
    assert.equal(await readTlsFiles({ tlsCert: "", tlsKey: "" }), undefined);
    const tls = await readTlsFiles({ tlsCert: certFile, tlsKey: keyFile });
    assert.match(tls!.cert, /BEGIN CERTIFICATE/);
    assert.match(tls!.key, /PRIVATE KEY/);
    await assert.rejects(
      readTlsFiles({ tlsCert: certFile, tlsKey: `${dir}/missing.pem` }),
      (error: Error) =>
        error instanceof StartupError &&
        error.message.startsWith(`cannot read --tls-key ${dir}/missing.pem`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tls: with a certificate the HTTP front speaks TLS: a sealed room list over wss", async () => {
  const { dir, certFile, keyFile } = await selfSigned();
  const tls = (await readTlsFiles({ tlsCert: certFile, tlsKey: keyFile }))!;
  const s = startTestServer({ allowPlaintext: false }, {
    passwords: cheapPasswords,
    http: { port: 0, hostName: null, tls },
  });
  try {
    const addr = s.httpAddr!;
    const raw = await openRawWebSocket(
      addr,
      undefined,
      () => Deno.connectTls({ hostname: "127.0.0.1", port: addr.port, caCerts: [tls.cert] }),
    );
    const list = await listOverWebSocket(raw.pipe, s.staticPublicKey);
    assert.deepEqual(list.rooms, []);
    assert.equal(await closeCode(raw.pipe), 1000);
    assert.match(s.logs.join("\n"), /the page and WebSockets on https 127\.0\.0\.1:\d+/);
    assert.deepEqual(errorLines(s), []);
  } finally {
    await s.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
