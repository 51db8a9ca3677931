/**
 * The questions `chat join` asks on a terminal, through a real pty
 * (`script`) running the join task's own command: the room picker marks a
 * full room and goes back to the list when a room fills up under it, each
 * refusal is printed once, a new room's name is checked before its
 * password is asked, and a new password is asked twice.
 *
 * The questions are @inquirer/prompts'; the tests wait for a question's
 * words to be drawn before answering it.
 */
import assert from "node:assert/strict";
import { withServer } from "../testing/cli.ts";
import { KEYS, spawnJoinOnPty, waitAfter } from "../testing/prompt_pty.ts";

function joinArgs(server: string, name: string, how: "--create" | "--join", room: string) {
  return ["--server", server, "--name", name, how, "--room", room];
}

const count = (text: string, part: string) => text.split(part).length - 1;

Deno.test("picker: a full room is marked and cannot be picked; one that fills up sends you back to the list", async () => {
  await withServer(async (kids, server) => {
    const cat = kids.likeTask("join", [
      ...joinArgs(server.address, "cat", "--create", "full"),
      "--capacity",
      "1",
    ]);
    const dan = kids.likeTask("join", [
      ...joinArgs(server.address, "dan", "--create", "roomy"),
      "--capacity",
      "2",
    ]);
    await cat.stdout.waitFor(`* You are in "full"`);
    await dan.stdout.waitFor(`* You are in "roomy"`);

    const ann = spawnJoinOnPty(kids, ["--server", server.address, "--name", "ann", "--join"]);
    let at = await waitAfter(ann, 0, /\? Which room\?/);
    // The full room is listed and marked; the cursor starts on the first room with space.
    at = await waitAfter(ann, at, /- full {2}\(1 of 1 members\) \[full\]/);
    at = await waitAfter(ann, at, /❯ roomy {2}\(1 of 2 members\)/);
    // Enter on the full room only says so.
    await ann.write(KEYS.up);
    at = await waitAfter(ann, at, /❯ full {2}\(1 of 1 members\) \[full\]/);
    await ann.write(KEYS.enter);
    at = await waitAfter(ann, at, /That room is full; pick another\./);
    await ann.write(KEYS.down);
    at = await waitAfter(ann, at, /❯ roomy {2}\(1 of 2 members\)/);
    await cat.stdout.waitFor(/\* cat joined/);
    assert.doesNotMatch(cat.stdout.plain, /ann/, "nobody was let into the full room");

    // roomy fills up while ann looks at the list.
    const eve = kids.likeTask("join", joinArgs(server.address, "eve", "--join", "roomy"));
    await dan.stdout.waitFor(/\* eve joined/);
    at = ann.stdout.plain.length;
    await ann.write(KEYS.enter);
    at = await waitAfter(ann, at, /The server said: room is full \(2 members\)/);
    // Back at a fresh list: now both are full, and only a typed name can be chosen.
    at = await waitAfter(ann, at, /\? Which room\?/);
    at = await waitAfter(ann, at, /- roomy {2}\(2 of 2 members\) \[full\]/);
    await waitAfter(ann, at, /❯ Another room \(type its name\)/);

    await eve.closeStdin();
    await dan.stdout.waitFor(/\* eve left/);
    at = ann.stdout.plain.length;
    await ann.write(KEYS.enter);
    at = await waitAfter(ann, at, /\? Room name/);
    await ann.write("roomy" + KEYS.enter);
    await dan.stdout.waitFor(/\* ann joined/, 8_000);

    const plain = ann.stdout.plain;
    assert.equal(
      count(plain, "The server said: room is full"),
      1,
      "the refusal printed once:\n" + plain,
    );
    assert.doesNotMatch(plain, /chat: the server refused|unexpected error/);
    assert.equal(ann.exitCode, null, "still in the room");
  });
});

Deno.test("creating: the name is checked before the password, and a new password is asked twice", async () => {
  await withServer(async (kids, server) => {
    const ann = spawnJoinOnPty(kids, joinArgs(server.address, "ann", "--create", "vault"));
    let at = await waitAfter(ann, 0, /\? Password \(leave empty for an open room\)/);
    await ann.write("abc" + KEYS.enter);
    at = await waitAfter(ann, at, /\? The same password again/);
    await ann.write("abd" + KEYS.enter);
    at = await waitAfter(ann, at, /The two passwords differ; type it again\./);
    at = await waitAfter(ann, at, /\? Password \(leave empty for an open room\)/);
    await ann.write("s3cret" + KEYS.enter);
    at = await waitAfter(ann, at, /\? The same password again/);
    await ann.write("s3cret" + KEYS.enter);
    const rooms = async () => {
      const result = await kids.run(["rooms", "--server", server.address, "--json"]);
      return JSON.parse(result.stdout) as { name: string; passwordProtected: boolean }[];
    };
    const until = async (name: string) => {
      const deadline = Date.now() + 8_000;
      while (!(await rooms()).some((r) => r.name === name) && Date.now() < deadline) {
        // polled: each check is a real LIST_ROOMS round trip
      }
    };
    await until("vault"); // the password is hashed before the room exists

    // The room exists, locked with the password typed twice, not the first try.
    const bob = kids.likeTask("join", [
      ...joinArgs(server.address, "bob", "--join", "vault"),
      "--password-stdin",
    ]);
    await bob.write("s3cret\n");
    await bob.stdout.waitFor(`* You are in "vault" (host ann; here: ann, bob)`, 8_000);
    assert.doesNotMatch(ann.stdout.plain, /abc|abd|s3cret/, "passwords are never echoed");

    // A taken name is found before the password is asked.
    const zed = spawnJoinOnPty(kids, ["--server", server.address, "--name", "zed", "--create"]);
    at = await waitAfter(zed, 0, /\? Name of the new room/);
    await zed.write("vault" + KEYS.enter);
    at = await waitAfter(zed, at, /a room named "vault" already exists; choose another name\./);
    at = await waitAfter(zed, at, /\? Name of the new room/);
    assert.doesNotMatch(zed.stdout.plain, /Password/);
    await zed.write("den" + KEYS.enter);
    at = await waitAfter(zed, at, /\? Password \(leave empty for an open room\)/);
    await zed.write(KEYS.enter); // an open room: nothing to repeat
    await until("den");
    assert.deepEqual(
      (await rooms()).map((r) => [r.name, r.passwordProtected]).sort(),
      [["den", false], ["vault", true]],
    );
    assert.doesNotMatch(zed.stdout.plain, /The same password again/);

    // A taken name given with --room ends the command before any password question.
    const yan = spawnJoinOnPty(kids, joinArgs(server.address, "yan", "--create", "vault"));
    assert.equal(await yan.exited(8_000), 1, yan.describe());
    assert.match(
      yan.stdout.plain,
      /chat: the server refused \(409\): a room named "vault" already exists/,
    );
    assert.doesNotMatch(yan.stdout.plain, /Password/);
  });
});
