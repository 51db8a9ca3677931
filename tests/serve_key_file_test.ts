/**
 * `chat serve` and its key file as an operator meets them: created 0600
 * whatever the umask, loaded again with the same fingerprint, refused (exit
 * 1, one line, no socket bound) when group or others can open it, each run
 * with `deno task serve`'s own permissions in a plain environment whose HOME
 * and XDG directories are the test's own.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  LOOPBACK_ANY_PORTS,
  plainEnv,
  taskArgs,
  waitForListening,
  withChildren,
  withoutTaskLine,
} from "../testing/cli.ts";

const RUN_MS = 20_000;
const STARTED = /info {2}server key (created|loaded): (\/\S+) \((SHA256:[A-Za-z0-9+/]{43})\)$/m;

Deno.test("serve: under umask 000 a new key file is still 0600 in a 0700 directory; the next start loads the same key", async () => {
  await withChildren(async (kids) => {
    const home = kids.home!;
    const shellQuote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;
    const command = [Deno.execPath(), ...taskArgs("serve"), ...LOOPBACK_ANY_PORTS]
      .map(shellQuote).join(" ");
    const first = kids.spawn("sh", ["-c", `umask 000; exec ${command}`], {
      label: "umask 000; chat serve",
      clearEnv: true,
      env: { ...plainEnv(), ...home.env },
    });
    await waitForListening(first, RUN_MS);
    const [, how, path, fingerprint] = await first.stderr.waitFor(STARTED, RUN_MS);
    assert.equal(how, "created", first.stderr.plain);
    assert.equal(path, home.keyFile);
    assert.equal((await Deno.stat(home.keyFile)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(join(home.dataHome, "chat"))).mode! & 0o777, 0o700);
    first.kill("SIGTERM");
    assert.equal(await first.exited(5_000), 0, first.describe());

    const second = kids.likeTask("serve", [...LOOPBACK_ANY_PORTS]);
    await waitForListening(second, RUN_MS);
    const again = await second.stderr.waitFor(STARTED, RUN_MS);
    assert.deepEqual(again?.slice(1), ["loaded", home.keyFile, fingerprint!]);
    second.kill("SIGTERM");
    assert.equal(await second.exited(5_000), 0, second.describe());
  });
});

Deno.test("serve: a key file of mode 0644 stops deno task serve with one line and exit 1, before it listens", async () => {
  await withChildren(async (kids) => {
    const keyFile = join(kids.home!.root, "keys", "server_key");
    // --key-file and CHAT_KEY_FILE both name it; it is created by a first start.
    const created = kids.likeTask("serve", [...LOOPBACK_ANY_PORTS, "--key-file", keyFile]);
    await waitForListening(created, RUN_MS);
    created.kill("SIGTERM");
    assert.equal(await created.exited(5_000), 0, created.describe());
    const text = await Deno.readTextFile(keyFile);

    await Deno.chmod(keyFile, 0o644);
    const refused = await kids.runTask("serve", [...LOOPBACK_ANY_PORTS], {
      env: { CHAT_KEY_FILE: keyFile },
      timeoutMs: RUN_MS,
    });
    assert.equal(refused.code, 1, refused.stderr);
    const lines = withoutTaskLine(refused.stderr).split("\n").filter((l) => l.trim() !== "");
    assert.equal(lines.length, 1, refused.stderr);
    assert.match(
      lines[0]!,
      new RegExp(`^chat: the key file ${keyFile} has mode 0644: its group or others can open it`),
    );
    assert.match(lines[0]!, /chmod 600 /);
    assert.doesNotMatch(refused.stderr, /listening|Uncaught|^\s+at /m);
    assert.equal(await Deno.readTextFile(keyFile), text, "the file is left as it was");
  });
});

Deno.test("serve: without permission to read HOME it says which permission, or --key-file, in one line", async () => {
  await withChildren(async (kids) => {
    const old = [
      "run",
      "--allow-net",
      "--allow-env=CHAT_*",
      "--allow-ffi",
      "--allow-read",
      "--allow-write",
    ];
    const child = kids.spawn(Deno.execPath(), [...old, "main.ts", "serve", ...LOOPBACK_ANY_PORTS], {
      clearEnv: true,
      env: { ...plainEnv(), ...kids.home!.env },
    });
    await child.closeStdin();
    assert.equal(await child.exited(RUN_MS), 1, child.describe());
    await child.stderr.done;
    assert.match(
      child.stderr.plain,
      /^chat: the default key file is found from HOME and XDG_DATA_HOME, which serve may not read; run it with --allow-env=CHAT_\*,HOME,XDG_DATA_HOME .* or give --key-file PATH\n$/,
    );
  });
});

Deno.test("serve: a malformed key file stops it with one line saying what to do, and is not replaced", async () => {
  await withChildren(async (kids) => {
    const keyFile = join(kids.home!.root, "server_key");
    await Deno.writeTextFile(keyFile, "not a key\n", { mode: 0o600 });
    const refused = await kids.runTask("serve", [...LOOPBACK_ANY_PORTS, "--key-file", keyFile], {
      timeoutMs: RUN_MS,
    });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /^chat: the key file .* is not a chat server key/m);
    assert.equal(await Deno.readTextFile(keyFile), "not a key\n");
  });
});
