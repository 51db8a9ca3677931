import assert from "node:assert/strict";
import { join } from "node:path";
import { fingerprintText, formatFingerprint } from "../protocol/fingerprint.ts";
import { ServerKeyMismatchError } from "../protocol/sealed_types.ts";
import { isolatedEnv } from "../testing/isolated_env.ts";
import {
  defaultPinsPath,
  explicitKeyCheck,
  nodeSha256,
  pinnedKeyCheck,
  PinStore,
  PinStoreError,
  serverAddressKey,
  ServerKeyChangedError,
} from "./pin_store.ts";

const SERVER = { hostname: "127.0.0.1", port: 9001 };
const keyA = new Uint8Array(32).fill(0xa);
const keyB = new Uint8Array(32).fill(0xb);
const fpA = fingerprintText(nodeSha256, keyA);
const fpB = fingerprintText(nodeSha256, keyB);

Deno.test("pins path: XDG_CONFIG_HOME when absolute, else HOME/.config, else a clear error", () => {
  const envOf = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(
    defaultPinsPath(envOf({ XDG_CONFIG_HOME: "/c", HOME: "/h" })),
    "/c/chat/known_servers.json",
  );
  assert.equal(
    defaultPinsPath(envOf({ XDG_CONFIG_HOME: "c", HOME: "/h" })),
    "/h/.config/chat/known_servers.json",
  );
  assert.throws(() => defaultPinsPath(envOf({})), PinStoreError);
});

Deno.test("a server's address key: host lower case, IPv6 in brackets", () => {
  assert.equal(
    serverAddressKey({ hostname: "Chat.Example.ORG", port: 9001 }),
    "chat.example.org:9001",
  );
  assert.equal(serverAddressKey({ hostname: "::1", port: 9001 }), "[::1]:9001");
});

Deno.test("first use pins the key (file 0600, directory 0700); a match passes; both read the same file", async () => {
  await using home = await isolatedEnv();
  const store = new PinStore(home.pinsFile, { now: () => new Date("2026-12-02T10:00:00Z") });
  const pinned: string[] = [];
  const check = pinnedKeyCheck(store, SERVER, { onPinned: (a, f) => pinned.push(`${a} ${f}`) });
  await check(keyA);
  assert.deepEqual(pinned, [`127.0.0.1:9001 ${fpA}`]);
  assert.equal((await Deno.stat(home.pinsFile)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(join(home.configHome, "chat"))).mode! & 0o777, 0o700);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(home.pinsFile)), {
    version: 1,
    servers: { "127.0.0.1:9001": { fingerprint: fpA, since: "2026-12-02T10:00:00.000Z" } },
  });
  // A later run (a new check, a new store) finds the pin and passes.
  const later: string[] = [];
  await pinnedKeyCheck(new PinStore(home.pinsFile), SERVER, { onPinned: (a) => later.push(a) })(
    keyA,
  );
  assert.deepEqual(later, [], "nothing new was pinned");
  await check(keyA); // the same session again (a rejoin)
});

Deno.test("a changed key is refused with both fingerprints and the exact command, and the pin stays", async () => {
  await using home = await isolatedEnv();
  const store = new PinStore(home.pinsFile);
  await store.pin("127.0.0.1:9001", fpA);
  const before = await Deno.readTextFile(home.pinsFile);
  const error = await Promise.resolve().then(() => pinnedKeyCheck(store, SERVER)(keyB)).then(
    () => assert.fail("a changed key passed"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ServerKeyChangedError);
  assert.ok(error instanceof ServerKeyMismatchError, "callers may catch the shared type");
  assert.equal(error.expectedFingerprint, fpA);
  assert.equal(error.actualFingerprint, fpB);
  assert.deepEqual(error.actual, keyB);
  assert.equal(formatFingerprint(error.expected), fpA);
  assert.equal(error.acceptCommand, `chat trust 127.0.0.1:9001 ${fpB}`);
  assert.ok(error.message.includes(fpA) && error.message.includes(fpB), error.message);
  assert.ok(error.message.includes(`chat trust 127.0.0.1:9001 ${fpB}`), error.message);
  assert.ok(error.message.includes("chat forget 127.0.0.1:9001"), error.message);
  assert.match(error.message, /nothing was sent/);
  assert.equal(await Deno.readTextFile(home.pinsFile), before, "the pin is not touched");
});

Deno.test("once a key passed, a rejoin accepts only that key, even if the pin was removed meanwhile", async () => {
  await using home = await isolatedEnv();
  const store = new PinStore(home.pinsFile);
  const check = pinnedKeyCheck(store, SERVER);
  await check(keyA);
  await store.forget("127.0.0.1:9001");
  await assert.rejects(async () => await check(keyB), ServerKeyChangedError);
  assert.equal(await store.get("127.0.0.1:9001"), null, "the rejoin pinned nothing");
  await check(keyA);
});

Deno.test("--server-key checks against that fingerprint only, and reads and writes no pins", async () => {
  await using home = await isolatedEnv();
  // A corrupt pins file shows that nothing reads it.
  await Deno.mkdir(join(home.configHome, "chat"));
  await Deno.writeTextFile(home.pinsFile, "{ corrupt");
  const check = explicitKeyCheck(SERVER, new Uint8Array(nodeSha256.sha256(keyA)));
  await check(keyA);
  const error = await Promise.resolve().then(() => check(keyB)).then(
    () => assert.fail("another key passed"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ServerKeyChangedError);
  assert.match(error.message, /--server-key/);
  assert.ok(error.message.includes(fpA) && error.message.includes(fpB));
  assert.equal(await Deno.readTextFile(home.pinsFile), "{ corrupt");
});

Deno.test("trust replaces a pin and says which it replaced; forget removes one", async () => {
  await using home = await isolatedEnv();
  const store = new PinStore(home.pinsFile);
  assert.equal(await store.pin("a:1", fpA), null);
  assert.equal((await store.pin("a:1", fpB))?.fingerprint, fpA);
  assert.equal((await store.get("a:1"))?.fingerprint, fpB);
  await store.pin("b:2", fpA);
  assert.equal((await store.forget("a:1"))?.fingerprint, fpB);
  assert.equal(await store.forget("a:1"), null);
  assert.deepEqual(Object.keys(await store.all()), ["b:2"]);
  await assert.rejects(store.pin("c:3", "SHA256:short"), /fingerprint/);
});

Deno.test("a corrupt or unknown pins file is a clear error naming it, and is never overwritten", async () => {
  await using home = await isolatedEnv();
  await Deno.mkdir(join(home.configHome, "chat"));
  const store = new PinStore(home.pinsFile);
  const cases: [string, RegExp][] = [
    ["{ not json", /is not valid \(.*\); nothing was changed/],
    ["[]", /not a JSON object/],
    ['{"servers":{}}', /no "version"/],
    ['{"version":1,"servers":[]}', /"servers" is not an object/],
    ['{"version":1,"servers":{"a:1":{"fingerprint":"SHA256:abc"}}}', /is not a fingerprint/],
    ['{"version":1,"servers":{"a:1":{}}}', /has no fingerprint/],
    ['{"version":2,"servers":{}}', /version 2, written by a newer chat/],
  ];
  for (const [text, expected] of cases) {
    await Deno.writeTextFile(home.pinsFile, text);
    const attempts: (() => Promise<unknown>)[] = [
      async () => await pinnedKeyCheck(store, SERVER)(keyA),
      () => store.pin("a:1", fpA),
      () => store.forget("a:1"),
    ];
    for (const attempt of attempts) {
      await assert.rejects(
        attempt,
        (e: unknown) =>
          e instanceof PinStoreError && expected.test(e.message) &&
          e.message.includes(home.pinsFile),
        text,
      );
    }
    assert.equal(await Deno.readTextFile(home.pinsFile), text, "left as it was");
  }
});

Deno.test("many pins at once in one process all land", async () => {
  await using home = await isolatedEnv();
  const store = new PinStore(home.pinsFile);
  await Promise.all(Array.from({ length: 30 }, (_, i) => store.pinIfAbsent(`h${i}:1`, fpA)));
  assert.equal(Object.keys(await store.all()).length, 30);
});

Deno.test("two clients pinning at once (separate processes) both end up pinned, and a first-use race has one winner", async () => {
  await using home = await isolatedEnv();
  const module = new URL("./pin_store.ts", import.meta.url).href;
  const writer = (id: number, fingerprint: string) => `
    import { PinStore } from ${JSON.stringify(module)};
    const store = new PinStore(${JSON.stringify(home.pinsFile)});
    const results = [];
    for (let i = 0; i < 25; i++) {
      await store.pinIfAbsent("w${id}-" + i + ":1", ${JSON.stringify(fingerprint)});
      results.push((await store.pinIfAbsent("shared:1", ${
    JSON.stringify(fingerprint)
  })).pin.fingerprint);
    }
    console.log(JSON.stringify(results));
  `;
  const runs = await Promise.all(
    [0, 1, 2, 3].map((id) =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--quiet", writer(id, id % 2 === 0 ? fpA : fpB)],
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output()
    ),
  );
  const seen = new Set<string>();
  for (const run of runs) {
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    for (const fp of JSON.parse(new TextDecoder().decode(run.stdout))) seen.add(fp);
  }
  const pins = await new PinStore(home.pinsFile).all();
  for (let id = 0; id < 4; id++) {
    for (let i = 0; i < 25; i++) assert.ok(pins[`w${id}-${i}:1`], `w${id}-${i} was lost`);
  }
  assert.equal(Object.keys(pins).length, 4 * 25 + 1);
  assert.equal(seen.size, 1, "every client saw the one shared pin that won");
  assert.deepEqual([...seen], [pins["shared:1"]!.fingerprint]);
  const leftovers = [...Deno.readDirSync(join(home.configHome, "chat"))].map((e) => e.name).sort();
  assert.deepEqual(leftovers, ["known_servers.json", "known_servers.json.lock"], "no temp files");
});
