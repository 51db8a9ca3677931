import assert from "node:assert/strict";
import { join } from "node:path";
import { isolatedEnv } from "../testing/isolated_env.ts";
import {
  decodeKeyFile,
  defaultKeyFilePath,
  encodeKeyFile,
  KEY_FILE_HEADER,
  keyFilePathOf,
  loadOrCreateServerKey,
  serverKeyLogLine,
} from "./key_file.ts";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { StartupError } from "./startup_errors.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const fromHex = (text: string) => Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16));

Deno.test("a key file holding RFC 7748's Alice key loads as her key pair (section 6.1)", async () => {
  await using home = await isolatedEnv();
  const path = join(home.root, "alice_key");
  const privateKey = fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  await Deno.writeTextFile(path, encodeKeyFile(privateKey), { mode: 0o600 });
  const key = await loadOrCreateServerKey(path, nodeCrypto);
  assert.equal(key.created, false);
  assert.equal(
    hex(key.keyPair.publicKey),
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  );
  assert.deepEqual(key.keyPair.privateKey, privateKey);
});

Deno.test("key file format: one line, base64url, one spelling", () => {
  const key = new Uint8Array(32).map((_, i) => i * 8 + 3);
  const text = encodeKeyFile(key);
  assert.match(text, /^chat-server-key-v1 [A-Za-z0-9_-]{43}\n$/);
  assert.deepEqual(decodeKeyFile(text), key);
  assert.deepEqual(decodeKeyFile(text.trimEnd()), key, "the newline is optional");
  for (
    const bad of [
      "",
      text.replace(KEY_FILE_HEADER, "chat-server-key-v2"),
      text.replace(" ", "  "),
      text.replace("\n", "\r\n"),
      text + "\n",
      text.slice(0, -2) + "\n", // 42 characters
      text.replace(/.\n$/, "=\n"),
      text.trimEnd() + "x\n",
      // 2 unused bits set in the last character: the same key spelt twice
      text.replace(/(.)\n$/, (_, c: string) => `${c === "B" ? "C" : "B"}\n`),
    ]
  ) {
    const decoded = decodeKeyFile(bad);
    if (bad.endsWith("B\n") || bad.endsWith("C\n")) {
      // Only a last character whose low bits are zero is the canonical one.
      if (decoded !== null) assert.equal(encodeKeyFile(decoded), bad);
    } else {
      assert.equal(decoded, null, JSON.stringify(bad));
    }
  }
});

Deno.test("default path: XDG_DATA_HOME when absolute, else HOME/.local/share, else a clear error", () => {
  const envOf = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(
    defaultKeyFilePath(envOf({ XDG_DATA_HOME: "/x/data", HOME: "/home/a" })),
    "/x/data/chat/server_key",
  );
  assert.equal(
    defaultKeyFilePath(envOf({ XDG_DATA_HOME: "relative/data", HOME: "/home/a" })),
    "/home/a/.local/share/chat/server_key",
  );
  assert.equal(
    defaultKeyFilePath(envOf({ HOME: "/home/a" })),
    "/home/a/.local/share/chat/server_key",
  );
  assert.throws(() => defaultKeyFilePath(envOf({})), StartupError);
  assert.equal(keyFilePathOf("k", envOf({}), "/srv/chat"), "/srv/chat/k");
  assert.equal(keyFilePathOf("", envOf({ HOME: "/h" }), "/srv"), "/h/.local/share/chat/server_key");
});

Deno.test("a missing key file is created 0600 in a 0700 directory, then loaded with the same fingerprint", async () => {
  await using home = await isolatedEnv();
  const path = home.keyFile;
  const created = await loadOrCreateServerKey(path, nodeCrypto);
  assert.equal(created.created, true);
  assert.equal(created.path, path);
  assert.match(created.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(join(home.dataHome, "chat"))).mode! & 0o777, 0o700);
  assert.equal(serverKeyLogLine(created), `server key created: ${path} (${created.fingerprint})`);
  const text = await Deno.readTextFile(path);
  assert.deepEqual(decodeKeyFile(text), created.keyPair.privateKey);

  const loaded = await loadOrCreateServerKey(path, nodeCrypto);
  assert.equal(loaded.created, false);
  assert.equal(loaded.fingerprint, created.fingerprint);
  assert.deepEqual(loaded.keyPair, created.keyPair);
  assert.equal(serverKeyLogLine(loaded), `server key loaded: ${path} (${created.fingerprint})`);
  assert.equal(await Deno.readTextFile(path), text, "loading never rewrites it");
});

Deno.test("a key file group or others can open is refused, and left as it is", async () => {
  await using home = await isolatedEnv();
  const path = join(home.root, "server_key");
  await loadOrCreateServerKey(path, nodeCrypto);
  const before = await Deno.readTextFile(path);
  for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602, 0o610]) {
    await Deno.chmod(path, mode);
    const error = await loadOrCreateServerKey(path, nodeCrypto).then(
      () => assert.fail(`mode ${mode.toString(8)} was accepted`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof StartupError, String(error));
    assert.match(error.message, new RegExp(`has mode 0${mode.toString(8)}: its group or others`));
    assert.match(error.message, new RegExp(`chmod 600 ${path}`));
  }
  assert.equal(await Deno.readTextFile(path), before);
  await Deno.chmod(path, 0o400);
  assert.equal((await loadOrCreateServerKey(path, nodeCrypto)).created, false);
});

Deno.test("a malformed key file or a directory is refused with what to do, never replaced", async () => {
  await using home = await isolatedEnv();
  const path = join(home.root, "server_key");
  for (const text of ["", "hello\n", `${KEY_FILE_HEADER} short\n`, "x".repeat(5000)]) {
    await Deno.writeTextFile(path, text, { mode: 0o600 });
    await assert.rejects(
      loadOrCreateServerKey(path, nodeCrypto),
      (e: unknown) =>
        e instanceof StartupError && /is not a chat server key/.test(e.message) &&
        e.message.includes(path),
    );
    assert.equal(await Deno.readTextFile(path), text);
  }
  await assert.rejects(
    loadOrCreateServerKey(home.root, nodeCrypto),
    (e: unknown) => e instanceof StartupError && /is not a regular file/.test(e.message),
  );
});

Deno.test("two servers starting at once on one missing key file end up with the same key", async () => {
  await using home = await isolatedEnv();
  const keys = await Promise.all(
    Array.from({ length: 4 }, () => loadOrCreateServerKey(home.keyFile, nodeCrypto)),
  );
  assert.equal(keys.filter((k) => k.created).length, 1);
  assert.equal(new Set(keys.map((k) => k.fingerprint)).size, 1);
});
