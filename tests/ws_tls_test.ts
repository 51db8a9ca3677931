/**
 * `--tls-cert`/`--tls-key`: serve reads both files before it binds (a file
 * it cannot read is one StartupError naming it), and the HTTP front then
 * speaks TLS: a sealed room list over wss with the committed test-only
 * certificate.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { readTlsFiles } from "../server/serve_command.ts";
import { StartupError } from "../server/startup_errors.ts";
import { cheapPasswords } from "../testing/sealed_tcrp.ts";
import { errorLines, startTestServer } from "../testing/test_server.ts";
import { closeCode, listOverWebSocket, openRawWebSocket } from "../testing/ws_client.ts";

/** The committed test-only certificate for 127.0.0.1 and its key (server/http/http_tls_test.ts uses them too). */
const CERT_FILE = fileURLToPath(
  new URL("../testing/testdata/tls_test_only_cert.pem", import.meta.url),
);
const KEY_FILE = fileURLToPath(
  new URL("../testing/testdata/tls_test_only_key.pem", import.meta.url),
);

Deno.test("tls: serve reads --tls-cert and --tls-key; an unreadable one is a StartupError naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-tls-" });
  try {
    assert.equal(await readTlsFiles({ tlsCert: "", tlsKey: "" }), undefined);
    const tls = await readTlsFiles({ tlsCert: CERT_FILE, tlsKey: KEY_FILE });
    assert.match(tls!.cert, /BEGIN CERTIFICATE/);
    assert.match(tls!.key, /PRIVATE KEY/);
    await assert.rejects(
      readTlsFiles({ tlsCert: CERT_FILE, tlsKey: `${dir}/missing.pem` }),
      (error: Error) =>
        error instanceof StartupError &&
        error.message.startsWith(`cannot read --tls-key ${dir}/missing.pem`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tls: with a certificate the HTTP front speaks TLS: a sealed room list over wss", async () => {
  const tls = (await readTlsFiles({ tlsCert: CERT_FILE, tlsKey: KEY_FILE }))!;
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
  }
});
