/**
 * Leaving without being asked to: a piped `chat join` (the join task's own
 * command and permissions, in a plain environment) whose stdout closes
 * (`--json | head -1`) or that gets SIGTERM, SIGHUP or SIGINT sends LEAVE
 * at once, so the others see "left" within a second instead of a ghost
 * that times out 30 s later; no stack trace, and an exit code that says why.
 */
import assert from "node:assert/strict";
import { plainEnv, taskArgs, withoutFirstContact, withServer } from "../testing/cli.ts";

function joinArgs(server: string, name: string, how: "--create" | "--join", room: string) {
  return ["--server", server, "--name", name, how, "--room", room, "--json"];
}

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** No trace of an uncaught error: no "Uncaught", no EPIPE, no stack frame. */
const CRASH = /Uncaught|EPIPE|Broken pipe|unexpected error|^\s+at /m;

Deno.test("chat join --json | head -1: leaves at once, exits 0, no stack trace", async () => {
  await withServer(async (kids, server) => {
    const ann = kids.likeTask("join", joinArgs(server.address, "ann", "--create", "pipes"));
    await ann.stdout.waitFor(/"type":"welcome"/);
    const join = [
      Deno.execPath(),
      ...taskArgs("join"),
      ...joinArgs(server.address, "bob", "--join", "pipes"),
    ];
    const bob = kids.spawn(
      "bash",
      ["-c", `${join.map(quote).join(" ")} | head -1; echo "chat exit $\{PIPESTATUS[0]}" >&2`],
      { clearEnv: true, env: plainEnv(), label: "chat join --json | head -1" },
    );
    // head prints the first line (the welcome) and exits; chat join's next line meets EPIPE.
    await bob.stdout.waitFor(/"type":"welcome"/, 8_000);
    const headDone = performance.now();
    await ann.stdout.waitFor(/"type":"left",.*"name":"bob"/, 3_000);
    const leftAfterMs = performance.now() - headDone;
    assert.ok(leftAfterMs < 1_000, `the others saw "left" ${leftAfterMs} ms after head exited`);
    assert.equal(await bob.exited(5_000), 0, bob.describe());
    assert.match(bob.stderr.plain, /^chat exit 0$/m, bob.describe());
    assert.doesNotMatch(bob.stderr.plain, CRASH);
    assert.equal(bob.stdout.lines.length, 1, "head printed one line");
    assert.doesNotMatch(ann.stdout.plain, /"type":"timedOut"/);
  });
});

const SIGNALS = [["SIGTERM", 143], ["SIGHUP", 129], ["SIGINT", 130]] as const;

for (const [signal, code] of SIGNALS) {
  Deno.test(`${signal} to a piped chat join: "left" within a second, exit ${code}, no stack trace`, async () => {
    await withServer(async (kids, server) => {
      const ann = kids.likeTask("join", joinArgs(server.address, "ann", "--create", "signals"));
      await ann.stdout.waitFor(/"type":"welcome"/);
      const bob = kids.likeTask("join", joinArgs(server.address, "bob", "--join", "signals"));
      await bob.stdout.waitFor(/"type":"welcome"/);
      await ann.stdout.waitFor(/"type":"joined",.*"name":"bob"/);

      const sentAt = performance.now();
      bob.kill(signal);
      await ann.stdout.waitFor(/"type":"left",.*"name":"bob"/, 3_000);
      const leftAfterMs = performance.now() - sentAt;
      assert.ok(leftAfterMs < 1_000, `the others saw "left" ${leftAfterMs} ms after ${signal}`);
      assert.equal(await bob.exited(5_000), code, bob.describe());
      assert.equal(withoutFirstContact(bob.stderr.plain), "", bob.describe());
      assert.deepEqual(JSON.parse(bob.stdout.lines.at(-1)!), {
        type: "closed",
        reason: "left",
        text: "you left the room",
      });
    });
  });
}
