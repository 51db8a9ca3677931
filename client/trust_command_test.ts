import assert from "node:assert/strict";
import { fingerprintText } from "../protocol/fingerprint.ts";
import { isolatedEnv } from "../testing/isolated_env.ts";
import { withChildren } from "../testing/cli.ts";
import { nodeSha256, PinStore } from "./pin_store.ts";
import {
  type FetchServerKey,
  runForgetCommand,
  runTrustCommand,
  serverKeyFetcher,
} from "./trust_command.ts";
import { UsageError } from "./usage_error.ts";

const SERVER = { hostname: "127.0.0.1", port: 9001 };
const keyA = new Uint8Array(32).fill(1);
const keyB = new Uint8Array(32).fill(2);
const fpA = fingerprintText(nodeSha256, keyA);
const fpB = fingerprintText(nodeSha256, keyB);

const noFetch: FetchServerKey = () =>
  Promise.reject(new Error("trust with a fingerprint connected"));

Deno.test("trust HOST:PORT FINGERPRINT pins it without connecting; again with another shows old and new", async () => {
  await using home = await isolatedEnv();
  const store = new PinStore(home.pinsFile);
  const lines: string[] = [];
  const env = { store, fetchServerKey: noFetch, writeLine: (l: string) => lines.push(l) };
  assert.equal(await runTrustCommand(SERVER, fpA, env), 0);
  assert.deepEqual(lines, [`Pinned ${fpA} for 127.0.0.1:9001.`]);
  assert.equal((await store.get("127.0.0.1:9001"))?.fingerprint, fpA);

  lines.length = 0;
  await runTrustCommand(SERVER, fpB, env);
  assert.equal(lines[0], `Pinned ${fpB} for 127.0.0.1:9001, replacing the old pin:`);
  assert.match(lines[1]!, new RegExp(`^ {2}old \\(pinned .*\\): ${fpA.replace(/[+/]/g, "\\$&")}$`));
  assert.equal(lines[2], `  new:  ${fpB}`);

  lines.length = 0;
  await runTrustCommand(SERVER, fpB, env);
  assert.deepEqual(lines, [`127.0.0.1:9001 was already pinned to ${fpB}; nothing changed.`]);
});

Deno.test("trust with a malformed fingerprint is a usage error and pins nothing", async () => {
  await using home = await isolatedEnv();
  const store = new PinStore(home.pinsFile);
  const env = { store, fetchServerKey: noFetch, writeLine: () => {} };
  for (const bad of ["SHA256:abc", fpA.slice(0, -1), fpA.toLowerCase(), `${fpA}=`]) {
    await assert.rejects(runTrustCommand(SERVER, bad, env), UsageError, bad);
  }
  assert.deepEqual(await store.all(), {});
});

Deno.test("trust HOST:PORT without a fingerprint pins the key the server proves, and says which", async () => {
  await using home = await isolatedEnv();
  const store = new PinStore(home.pinsFile);
  await store.pin("127.0.0.1:9001", fpA);
  const lines: string[] = [];
  const asked: string[] = [];
  const fetchServerKey: FetchServerKey = (server) => {
    asked.push(`${server.hostname}:${server.port}`);
    return Promise.resolve(keyB);
  };
  await runTrustCommand(SERVER, undefined, {
    store,
    fetchServerKey,
    writeLine: (l) => lines.push(l),
  });
  assert.deepEqual(asked, ["127.0.0.1:9001"]);
  assert.equal(lines[0], `The server at 127.0.0.1:9001 proves the key ${fpB}`);
  assert.equal(lines[1], `Pinned ${fpB} for 127.0.0.1:9001, replacing the old pin:`);
  assert.equal((await store.get("127.0.0.1:9001"))?.fingerprint, fpB);
});

Deno.test("the key fetcher stops the sealed call at its key check: the key, and no request sent", async () => {
  let sent = false;
  const fetch = serverKeyFetcher(async (_server, check) => {
    await check(keyA);
    sent = true; // where the sealed request would go out
  });
  assert.deepEqual(await fetch(SERVER), keyA);
  assert.equal(sent, false);
  const unreachable = serverKeyFetcher(() => Promise.reject(new Error("cannot reach")));
  await assert.rejects(unreachable(SERVER), /cannot reach/);
});

Deno.test("forget removes a pin, and says when there was none", async () => {
  await using home = await isolatedEnv();
  const store = new PinStore(home.pinsFile);
  await store.pin("127.0.0.1:9001", fpA);
  const lines: string[] = [];
  await runForgetCommand(SERVER, { store, writeLine: (l) => lines.push(l) });
  await runForgetCommand(SERVER, { store, writeLine: (l) => lines.push(l) });
  assert.match(
    lines[0]!,
    /^Forgot the pin for 127\.0\.0\.1:9001 \(SHA256:.*\): the key it shows next/,
  );
  assert.equal(lines[1], "No pin for 127.0.0.1:9001; nothing changed.");
  assert.equal(await store.get("127.0.0.1:9001"), null);
});

Deno.test("chat trust HOST:PORT FINGERPRINT and chat forget, as processes, in the pins of their own HOME", async () => {
  await withChildren(async (kids) => {
    const trusted = await kids.run(["trust", "127.0.0.1:9001", fpA]);
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.equal(trusted.stdout, `Pinned ${fpA} for 127.0.0.1:9001.\n`);
    const pins = JSON.parse(await Deno.readTextFile(kids.home!.pinsFile));
    assert.equal(pins.servers["127.0.0.1:9001"].fingerprint, fpA);

    const bad = await kids.run(["trust", "127.0.0.1:9001", "SHA256:nope"]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /^chat: FINGERPRINT: not a server fingerprint/);

    const badAddress = await kids.run(["forget", "nope:x"]);
    assert.equal(badAddress.code, 2, badAddress.stderr);

    const forgot = await kids.run(["forget", "127.0.0.1:9001"]);
    assert.equal(forgot.code, 0, forgot.stderr);
    assert.match(forgot.stdout, /^Forgot the pin for 127\.0\.0\.1:9001/);
  });
});

Deno.test("chat trust refuses a corrupt pins file with one line naming it, and leaves it", async () => {
  await withChildren(async (kids) => {
    const file = kids.home!.pinsFile;
    await Deno.mkdir(file.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(file, "{ not json");
    const result = await kids.run(["trust", "127.0.0.1:9001", fpA]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`^chat: the pins file ${file} is not valid`));
    assert.equal(await Deno.readTextFile(file), "{ not json");
  });
});
