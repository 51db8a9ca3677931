/**
 * `chat join --json` for bot authors, end to end through the join task's
 * own command and permissions: refusals as JSON objects (and text on
 * stderr), `closed.reason` as a name, the idle warning, stdin lines left
 * after a shutdown reported as undelivered, and names checked before any
 * connection.
 */
import assert from "node:assert/strict";
import { type ChildHandle, withChildren, withoutFirstContact, withServer } from "../testing/cli.ts";

function joinArgs(server: string, name: string, how: "--create" | "--join", room: string) {
  return ["--server", server, "--name", name, how, "--room", room, "--json"];
}

/** Every stdout line, parsed; a line that is not JSON fails the test. */
function events(child: ChildHandle): Record<string, unknown>[] {
  return child.stdout.lines.map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      assert.fail(`not a JSON line: ${JSON.stringify(line)}\n${child.describe()}`);
    }
  });
}

Deno.test("--json: a refusal is one JSON object on stdout and one line on stderr, exit 1", async () => {
  await withServer(async (kids, server) => {
    const ann = kids.likeTask("join", [
      ...joinArgs(server.address, "ann", "--create", "vault"),
      "--password-stdin",
    ]);
    await ann.write("s3cret\n");
    await ann.stdout.waitFor(/"type":"welcome"/);

    const wrong = kids.likeTask("join", [
      ...joinArgs(server.address, "eve", "--join", "vault"),
      "--password-stdin",
    ]);
    await wrong.write("guess\n");
    const missing = kids.likeTask("join", joinArgs(server.address, "eve", "--join", "nowhere"));
    for (const child of [wrong, missing]) await child.closeStdin();
    assert.equal(await wrong.exited(8_000), 1, wrong.describe());
    assert.equal(await missing.exited(8_000), 1, missing.describe());
    await Promise.all([wrong.stdout.done, missing.stdout.done]);

    assert.deepEqual(events(wrong), [
      { type: "refused", code: 401, text: "wrong or missing password" },
    ]);
    assert.equal(wrong.stderr.plain, "chat: the server refused (401): wrong or missing password\n");
    assert.deepEqual(events(missing), [
      { type: "refused", code: 404, text: 'no room named "nowhere"' },
    ]);
    assert.equal(missing.stderr.plain.split("\n").filter((l) => l !== "").length, 1);
  });
});

Deno.test("--json: an idle host is warned, removed (closed.reason idle), and the others told why (hostLeft)", async () => {
  await withChildren(async (kids) => {
    const server = await kids.server(["--idle-timeout", "3"]);
    const ann = kids.likeTask("join", joinArgs(server.address, "ann", "--create", "quiet"));
    await ann.stdout.waitFor(/"type":"welcome"/);
    const bob = kids.likeTask("join", joinArgs(server.address, "bob", "--join", "quiet"));
    await bob.stdout.waitFor(/"type":"welcome"/);
    // Half of a 3 s timeout before the removal (under two minutes: half the timeout).
    await ann.stdout.waitFor(/"type":"idleWarning"/, 5_000);
    await bob.write("bob keeps talking\n"); // so only the host is idle
    await ann.stdout.waitFor(/"type":"closed"/, 5_000);
    await bob.stdout.waitFor(/"type":"closed"/, 5_000);
    assert.equal(await ann.exited(5_000), 0, ann.describe());
    assert.equal(await bob.exited(5_000), 0, bob.describe());

    const annEvents = events(ann);
    assert.deepEqual(annEvents.filter((e) => e.type === "idleWarning"), [
      { type: "idleWarning", removeInMs: 1_500 },
    ]);
    assert.deepEqual(annEvents.at(-1), {
      type: "closed",
      reason: "idle",
      text: "removed after sending no message for too long",
    });
    assert.deepEqual(events(bob).at(-1), {
      type: "closed",
      reason: "hostLeft",
      text: "the room was closed: its host ann was removed after 3 seconds without a message",
    });
  });
});

Deno.test("--json --rejoin-timeout 0: stdin lines left after a shutdown are undelivered, exit 1", async () => {
  await withServer(async (kids, server) => {
    const ann = kids.likeTask("join", [
      ...joinArgs(server.address, "ann", "--create", "doomed"),
      "--rejoin-timeout",
      "0",
    ]);
    await ann.stdout.waitFor(/"type":"welcome"/);
    // Stopped, ann cannot read: CLOSED 4 and two lines wait for her together.
    ann.kill("SIGSTOP");
    try {
      server.process.kill("SIGTERM");
      assert.equal(await server.process.exited(5_000), 0, server.process.describe());
      await ann.write("late 1\nlate 2\n");
    } finally {
      ann.kill("SIGCONT");
    }
    assert.equal(await ann.exited(5_000), 1, ann.describe());
    const annEvents = events(ann);
    assert.deepEqual(
      annEvents.filter((e) => e.type === "undelivered").map((e) => e.text),
      ["late 1", "late 2"],
    );
    assert.ok(
      annEvents.some((e) =>
        e.type === "closed" && e.reason === "shutdown" && e.text === "the server is shutting down"
      ),
      ann.describe(),
    );
    assert.equal(withoutFirstContact(ann.stderr.plain), "");
  });
});

Deno.test("names that break the fixed rules are usage errors (exit 2) found without a server", async () => {
  await withChildren(async (kids) => {
    // A port nothing listens on: contacting it would be exit 1, not 2.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const server = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
    listener.close();
    const cases: [string[], RegExp][] = [
      [["--name", " ann", "--create", "--room", "r"], /^chat: --name: username must not start/],
      [["--name", "x".repeat(33), "--join", "--room", "r"], /^chat: --name: username must be 1-32/],
      [["--name", "ann", "--create", "--room", ""], /^chat: --room: room name must be 1-255/],
      [["--name", "ann", "--join", "--room", "a\tb"], /^chat: --room: room name must not/],
    ];
    const runs = cases.map(([args]) => {
      const child = kids.likeTask("join", ["--server", server, ...args]);
      return child.closeStdin().then(() => child.exited(8_000)).then(() => child);
    });
    for (const [i, child] of (await Promise.all(runs)).entries()) {
      await child.stderr.done;
      assert.equal(child.exitCode, 2, child.describe());
      assert.match(child.stderr.plain, cases[i]![1], child.describe());
      assert.equal(child.stderr.plain.trim().split("\n").length, 1, child.describe());
      assert.equal(child.stdout.plain, "");
    }
  });
});
