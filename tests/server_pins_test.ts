/**
 * Pins end to end: a real `chat serve` with its key file, and real `chat
 * rooms` and `chat trust` processes, each in the test's own HOME (so the
 * pins file and the key file are the test's): first contact pins the key the
 * server logged, a changed key is refused with both fingerprints and the
 * command that accepts it, `--server-key` decides alone and writes nothing,
 * and `trust` without a fingerprint pins what the server proves.
 */
import assert from "node:assert/strict";
import { withChildren } from "../testing/cli.ts";

const RUN_MS = 15_000;
const KEY_LINE = /server key (?:created|loaded): \S+ \((SHA256:[A-Za-z0-9+/]{43})\)/;
const OTHER = "SHA256:Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU";

Deno.test("pins: first contact pins the server's key; a changed key is refused with both fingerprints and the trust command", async () => {
  await withChildren(async (kids) => {
    const server = await kids.server();
    const [, fingerprint] = await server.process.stderr.waitFor(KEY_LINE, RUN_MS);
    const home = kids.home!;

    const first = await kids.run(["rooms", "--server", server.address, "--json"], "", RUN_MS);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim(), "[]");
    assert.match(
      first.stderr,
      new RegExp(
        `^chat: first contact with ${server.address}: trusting its key ${escape(fingerprint!)}`,
      ),
    );
    const pins = JSON.parse(await Deno.readTextFile(home.pinsFile));
    assert.equal(pins.servers[server.address].fingerprint, fingerprint);

    const again = await kids.run(["rooms", "--server", server.address], "", RUN_MS);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, "", "a known key is not announced again");

    // The pin says another key: the server is refused, the pin kept.
    const trusted = await kids.run(["trust", server.address, OTHER], "", RUN_MS);
    assert.equal(trusted.code, 0, trusted.stderr);
    const refused = await kids.run(["rooms", "--server", server.address], "", RUN_MS);
    assert.equal(refused.code, 1, refused.stderr);
    assert.ok(refused.stderr.includes(OTHER), refused.stderr);
    assert.ok(refused.stderr.includes(fingerprint!), refused.stderr);
    assert.ok(
      refused.stderr.includes(`chat trust ${server.address} ${fingerprint}`),
      refused.stderr,
    );
    assert.match(refused.stderr, /nothing was sent/);
    assert.doesNotMatch(refused.stderr, /unexpected error|^\s+at /m);
    assert.equal(
      JSON.parse(await Deno.readTextFile(home.pinsFile)).servers[server.address].fingerprint,
      OTHER,
    );

    // The command the refusal gave, typed as it is, lets the client in again.
    const accepted = await kids.run(["trust", server.address, fingerprint!], "", RUN_MS);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stdout, /replacing the old pin/);
    const back = await kids.run(["rooms", "--server", server.address], "", RUN_MS);
    assert.equal(back.code, 0, back.stderr);
  });
});

Deno.test("pins: --server-key alone decides, and no pins file is read or written", async () => {
  await withChildren(async (kids) => {
    const server = await kids.server();
    const [, fingerprint] = await server.process.stderr.waitFor(KEY_LINE, RUN_MS);
    const right = await kids.run(
      ["rooms", "--server", server.address, "--server-key", fingerprint!, "--json"],
      "",
      RUN_MS,
    );
    assert.equal(right.code, 0, right.stderr);
    assert.equal(right.stderr, "");
    const wrong = await kids.run(
      ["rooms", "--server", server.address, "--server-key", OTHER],
      "",
      RUN_MS,
    );
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(wrong.stderr, /--server-key/);
    assert.ok(wrong.stderr.includes(fingerprint!) && wrong.stderr.includes(OTHER));
    await assert.rejects(Deno.stat(kids.home!.pinsFile), Deno.errors.NotFound);
    const malformed = await kids.run(["rooms", "--server", server.address, "--server-key", "x"]);
    assert.equal(malformed.code, 2, malformed.stderr);
  });
});

Deno.test("trust HOST:PORT without a fingerprint pins the key the server proves", async () => {
  await withChildren(async (kids) => {
    const server = await kids.server();
    const [, fingerprint] = await server.process.stderr.waitFor(KEY_LINE, RUN_MS);
    const trusted = await kids.run(["trust", server.address], "", RUN_MS);
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.equal(
      trusted.stdout,
      `The server at ${server.address} proves the key ${fingerprint}\n` +
        `Pinned ${fingerprint} for ${server.address}.\n`,
    );
    const pins = JSON.parse(await Deno.readTextFile(kids.home!.pinsFile));
    assert.equal(pins.servers[server.address].fingerprint, fingerprint);
    // The exchange ended at the key check (trust_command_test shows no request goes out).
    assert.doesNotMatch(server.process.stderr.plain, /error|Uncaught/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
