/**
 * End-to-end tests of the `chat` command line: real `chat serve` and
 * `chat join` / `chat rooms` processes talking over real sockets, checked
 * through their output and exit codes. One test drives the interactive
 * screen through a pseudo-terminal (util-linux `script`).
 *
 * Every child is killed and awaited in `finally`; every wait has a timeout.
 */
import assert from "node:assert/strict";
import { withoutFirstContact, withServer } from "../testing/cli.ts";
import { sleep } from "../testing/wait.ts";
import { KEY, spawnChatInPty } from "../testing/pty.ts";

/** `[hh:mm] ` at the start of event lines. */
const CLOCK = String.raw`\[\d\d:\d\d\] `;

/** A regex for one whole output line: `[hh:mm] ` + `rest` (taken literally). */
function eventLine(rest: string): RegExp {
  return new RegExp(`^${CLOCK}${escape(rest)}$`, "m");
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Output lines with the clock replaced by `[t]`, so they can be compared exactly. */
function timeless(lines: string[]): string[] {
  return lines.map((line) => line.replace(new RegExp(`^${CLOCK}`), "[t] "));
}

function joinArgs(server: string, name: string, how: "--create" | "--join", room: string) {
  return ["join", "--server", server, "--name", name, how, "--room", room];
}

Deno.test("pipe mode: two members talk, see joins and leaves, and the host leaving closes the room", async () => {
  await withServer(async (kids, server) => {
    const ann = kids.chat(joinArgs(server.address, "ann", "--create", "lobby"));
    await ann.stdout.waitFor(`* You are in "lobby" (host ann; here: ann)`);

    const bob = kids.chat(joinArgs(server.address, "bob", "--join", "lobby"));
    await bob.stdout.waitFor(`* You are in "lobby" (host ann; here: ann, bob)`);
    await ann.stdout.waitFor(eventLine("* bob joined"));

    await ann.write("hello from ann\n");
    await bob.stdout.waitFor(eventLine("ann: hello from ann"));
    await ann.stdout.waitFor(eventLine("ann: hello from ann"));

    await bob.write("hi ann, bob here\n");
    await ann.stdout.waitFor(eventLine("bob: hi ann, bob here"));
    await bob.stdout.waitFor(eventLine("bob: hi ann, bob here"));

    // A third member says one thing and leaves when its stdin ends.
    const cat = kids.chat(joinArgs(server.address, "cat", "--join", "lobby"));
    await cat.write("bye all\n");
    await cat.closeStdin();
    assert.equal(await cat.exited(5_000), 0, cat.describe());
    assert.match(cat.stdout.plain, eventLine("cat: bye all"));
    assert.match(cat.stdout.plain, /^\* You left the room\.$/m);
    await ann.stdout.waitFor(eventLine("* cat left"));
    await bob.stdout.waitFor(eventLine("* cat left"));

    // The host's stdin ends: ann leaves, the room closes, bob (stdin still open) exits.
    await ann.closeStdin();
    assert.equal(await ann.exited(5_000), 0, ann.describe());
    await bob.stdout.waitFor(/^\* The room was closed: its host ann left\.$/m);
    assert.equal(await bob.exited(5_000), 0, bob.describe());

    assert.deepEqual(timeless(ann.stdout.lines), [
      `* You are in "lobby" (host ann; here: ann)`,
      "[t] * ann joined",
      "[t] * bob joined",
      "[t] ann: hello from ann",
      "[t] bob: hi ann, bob here",
      "[t] * cat joined",
      "[t] cat: bye all",
      "[t] * cat left",
      "* You left the room.",
    ]);
    assert.deepEqual(timeless(bob.stdout.lines), [
      `* You are in "lobby" (host ann; here: ann, bob)`,
      "[t] * ann joined",
      "[t] * bob joined",
      "[t] ann: hello from ann",
      "[t] bob: hi ann, bob here",
      "[t] * cat joined",
      "[t] cat: bye all",
      "[t] * cat left",
      "* The room was closed: its host ann left.",
    ]);
    assert.equal(withoutFirstContact(ann.stderr.plain), "");
    assert.equal(withoutFirstContact(bob.stderr.plain), "");
    // The server is still up and the room is gone.
    const rooms = await kids.run(["rooms", "--server", server.address, "--json"]);
    assert.equal(rooms.code, 0, rooms.stderr);
    assert.deepEqual(JSON.parse(rooms.stdout), []);
  });
});

Deno.test("pipe mode --json: every output line is a JSON event with the expected fields", async () => {
  await withServer(async (kids, server) => {
    const ann = kids.chat([...joinArgs(server.address, "ann", "--create", "data"), "--json"]);
    await ann.stdout.waitFor(/"type":"welcome"/);
    const bob = kids.chat([...joinArgs(server.address, "bob", "--join", "data"), "--json"]);
    await bob.stdout.waitFor(/"type":"welcome"/);
    await ann.stdout.waitFor(/"type":"joined".*"name":"bob"/);

    const text = `quotes " and \\ and unicode é ✓`;
    await ann.write(text + "\n");
    await bob.stdout.waitFor(/"type":"message"/);
    await ann.stdout.waitFor(/"type":"delivered"/);
    await ann.closeStdin();
    assert.equal(await ann.exited(5_000), 0, ann.describe());
    await bob.stdout.waitFor(/"type":"closed"/);
    assert.equal(await bob.exited(5_000), 0, bob.describe());

    const parse = (lines: string[]) =>
      lines.map((line) => {
        try {
          return JSON.parse(line);
        } catch {
          assert.fail(`not a JSON line: ${JSON.stringify(line)}`);
        }
      });
    const annEvents = parse(ann.stdout.lines);
    const bobEvents = parse(bob.stdout.lines);
    const isoTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

    assert.deepEqual(annEvents[0], {
      type: "welcome",
      room: "data",
      host: "ann",
      members: ["ann"],
      rejoined: false,
    });
    assert.deepEqual(bobEvents[0], {
      type: "welcome",
      room: "data",
      host: "ann",
      members: ["ann", "bob"],
      rejoined: false,
    });
    for (const events of [annEvents, bobEvents]) {
      const joined = events.filter((e) => e.type === "joined");
      assert.deepEqual(joined.map((e) => e.name), ["ann", "bob"]);
      for (const e of joined) {
        assert.equal(typeof e.seq, "number");
        assert.match(e.time, isoTime);
        assert.equal(typeof e.replay, "boolean");
      }
      const messages = events.filter((e) => e.type === "message");
      assert.equal(messages.length, 1, JSON.stringify(events));
      const message = messages[0];
      assert.equal(message.name, "ann");
      assert.equal(message.text, text);
      assert.equal(message.replay, false);
      assert.equal(typeof message.seq, "number");
      assert.match(message.time, isoTime);
      assert.ok(Math.abs(Date.parse(message.time) - Date.now()) < 60_000);
      assert.equal(events.at(-1).type, "closed");
    }
    // ann's own join is history when she is welcomed; bob's is live for her.
    assert.deepEqual(
      annEvents.filter((e) => e.type === "joined").map((e) => e.replay),
      [true, false],
    );
    const delivered = annEvents.filter((e) => e.type === "delivered");
    const annMessage = annEvents.find((e) => e.type === "message");
    assert.deepEqual(delivered, [{ type: "delivered", msgId: 1, seq: annMessage.seq }]);
    assert.deepEqual(annEvents.at(-1), {
      type: "closed",
      reason: "left",
      text: "you left the room",
    });
    assert.deepEqual(bobEvents.at(-1), {
      type: "closed",
      reason: "hostLeft",
      text: "the room was closed: its host ann left",
    });
  });
});

Deno.test("rooms lists members, capacity and lock; --password-stdin lets in the right password only", async () => {
  await withServer(async (kids, server) => {
    const empty = await kids.run(["rooms", "--server", server.address]);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /^No rooms yet\./);

    const ann = kids.chat([
      ...joinArgs(server.address, "ann", "--create", "vault"),
      "--password-stdin",
      "--capacity",
      "3",
    ]);
    await ann.write("s3cret\n");
    const cat = kids.chat(joinArgs(server.address, "cat", "--create", "open-room"));
    await ann.stdout.waitFor(`* You are in "vault"`);
    await cat.stdout.waitFor(`* You are in "open-room"`);

    const table = await kids.run(["rooms", "--server", server.address]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ROOM\s+MEMBERS\s+LOCKED\s+SEALED$/m);
    // `chat join` always seals, so the rooms it makes are sealed.
    assert.match(table.stdout, /^vault\s+1\/3\s+yes\s+yes$/m);
    assert.match(table.stdout, /^open-room\s+1\s+no\s+yes$/m);
    assert.equal(table.stdout.trim().split("\n").length, 3, table.stdout);

    const json = await kids.run(["rooms", "--server", server.address, "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const list = JSON.parse(json.stdout) as { name: string }[];
    list.sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(list, [
      { name: "open-room", members: 1, capacity: null, passwordProtected: false, sealed: true },
      { name: "vault", members: 1, capacity: 3, passwordProtected: true, sealed: true },
    ]);

    // The right password: bob is in, and what he sends after the password line is a message.
    const bob = kids.chat([
      ...joinArgs(server.address, "bob", "--join", "vault"),
      "--password-stdin",
    ]);
    await bob.write("s3cret\nhello vault\n");
    await bob.stdout.waitFor(`* You are in "vault" (host ann; here: ann, bob)`);
    await ann.stdout.waitFor(eventLine("bob: hello vault"));
    assert.doesNotMatch(ann.stdout.plain + bob.stdout.plain, /s3cret/);

    // A wrong password, and none at all: exit 1 with the server's words on stderr.
    const [wrong, missing] = await Promise.all([
      kids.run(
        [...joinArgs(server.address, "eve", "--join", "vault"), "--password-stdin"],
        "guess\nsneaky message\n",
      ),
      kids.run(joinArgs(server.address, "eve", "--join", "vault"), "sneaky message\n"),
    ]);
    for (const result of [wrong, missing]) {
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /wrong or missing password/);
      assert.match(result.stderr, /401/);
      assert.equal(result.stdout, "");
    }

    const after = await kids.run(["rooms", "--server", server.address, "--json"]);
    const vault = (JSON.parse(after.stdout) as { name: string; members: number }[])
      .find((r) => r.name === "vault");
    assert.equal(vault?.members, 2);
    assert.doesNotMatch(ann.stdout.plain, /sneaky/);
  });
});

Deno.test("exit codes: 2 for usage mistakes, 1 for refusals and unreachable servers", async () => {
  await withServer(async (kids, server) => {
    // A port nothing listens on: bind one, then free it.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedPort = (listener.addr as Deno.NetAddr).port;
    listener.close();

    const [unknownFlag, badPort, noName, both, noSuchRoom, unreachable, version] = await Promise
      .all([
        kids.run(["join", "--bogus"]),
        kids.run(["serve", "--port", "nope"]),
        kids.run(["join", "--server", server.address, "--create", "--room", "r"], "hi\n"),
        kids.run(["join", "--name", "a", "--create", "--join", "--room", "r"]),
        kids.run(joinArgs(server.address, "zed", "--join", "nosuch"), "hi\n"),
        kids.run(["rooms", "--server", `127.0.0.1:${closedPort}`]),
        kids.run(["--version"]),
      ]);

    assert.equal(unknownFlag.code, 2, unknownFlag.stderr);
    assert.match(unknownFlag.stderr, /unknown option '--bogus'/);

    assert.equal(badPort.code, 2, badPort.stderr);
    assert.match(badPort.stderr, /--port.*expected a whole number/);

    assert.equal(noName.code, 2, noName.stderr);
    assert.match(
      noName.stderr,
      /without a terminal, chat join needs --name, --room and --create or --join/,
    );
    assert.equal(noName.stdout, "");

    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /--create.*cannot be used with.*--join/);

    assert.equal(noSuchRoom.code, 1, noSuchRoom.stderr);
    assert.match(noSuchRoom.stderr, /no room named "nosuch"/);
    assert.equal(noSuchRoom.stdout, "");

    assert.equal(unreachable.code, 1, unreachable.stderr);
    assert.match(unreachable.stderr, /^chat: /);
    assert.doesNotMatch(unreachable.stderr, /unexpected error|^\s+at /m);

    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+$/m);

    // None of that disturbed the server.
    assert.equal(server.process.exitCode, null);
  });
});

Deno.test("serve: SIGTERM tells every member; one that may rejoin tries, then gives up", async () => {
  await withServer(async (kids, server) => {
    const ann = kids.chat([
      ...joinArgs(server.address, "ann", "--create", "doomed"),
      "--rejoin-timeout",
      "0",
    ]);
    await ann.stdout.waitFor(`* You are in "doomed"`);
    const bob = kids.chat([
      ...joinArgs(server.address, "bob", "--join", "doomed"),
      "--rejoin-timeout",
      "1",
    ]);
    await bob.stdout.waitFor(`* You are in "doomed"`);

    server.process.kill("SIGTERM");
    assert.equal(await server.process.exited(5_000), 0, server.process.describe());
    await ann.stdout.waitFor(/^\* The server is shutting down\.$/m);
    // ann's stdin is still open: the closed room alone ends the command.
    assert.equal(await ann.exited(5_000), 0, ann.describe());
    assert.match(server.process.stderr.plain, /chat server stopped/);
    assert.equal(withoutFirstContact(ann.stderr.plain), "");
    // bob tries to get back in for 1 s; nothing listens any more.
    await bob.stdout.waitFor(
      /^\* the server shut down: the server is shutting down\. Rejoining for up to 1 s;/m,
    );
    await bob.stdout.waitFor(
      /^\* Connection lost: could not get back into "doomed": cannot reach/m,
    );
    assert.equal(await bob.exited(5_000), 1, bob.describe());
  });
});

Deno.test("interactive: prompts, the chat screen, /members, /help and exit! on a pseudo-terminal", async () => {
  await withServer(async (kids, server) => {
    // An existing room, so `join` asks whether to create or join.
    const cat = kids.chat(joinArgs(server.address, "cat", "--create", "other"));
    await cat.stdout.waitFor(`* You are in "other"`);

    const ann = spawnChatInPty(kids, ["join", "--server", server.address]);
    const screen = ann.stdout;
    await screen.waitFor("? Your name", 8_000);
    await sleep(100);
    await ann.type("ann" + KEY.enter);
    await screen.waitFor("? Create a room or join one?");
    await screen.waitFor("Join a room (1 open)");
    await screen.waitFor("Create a new room (you will be its host)");
    await sleep(150);
    await ann.write(KEY.down);
    await screen.waitFor(/❯ Create a new room/);
    await sleep(150);
    await ann.write(KEY.enter);
    await screen.waitFor("? Name of the new room");
    await sleep(100);
    await ann.type("den" + KEY.enter);
    await screen.waitFor("? Password (leave empty for an open room)");
    await sleep(150);
    await ann.write(KEY.enter);
    await screen.waitFor(`* You are in "den" (host ann; here: ann)`);
    await screen.waitFor(/^ann>/m); // the input line

    // A second member, in pipe mode, checks that messages really go through the server.
    const bob = kids.chat(joinArgs(server.address, "bob", "--join", "den"));
    await bob.stdout.waitFor(`* You are in "den" (host ann; here: ann, bob)`);
    await screen.waitFor(eventLine("* bob joined"));

    await sleep(100);
    await ann.type("hello from the terminal" + KEY.enter);
    await screen.waitFor(eventLine("ann: hello from the terminal"));
    await bob.stdout.waitFor(eventLine("ann: hello from the terminal"));

    await bob.write("welcome, ann\n");
    await screen.waitFor(eventLine("bob: welcome, ann"));

    await ann.type("/members" + KEY.enter);
    await screen.waitFor(/^2 here: ann \(host\), bob$/m);

    await ann.type("/help" + KEY.enter);
    await screen.waitFor(/^ {2}\/leave, \/quit +leave the room/m);

    await ann.type("/nope" + KEY.enter);
    await screen.waitFor(/^unknown command \/nope; \/help lists them$/m);

    // The host is asked first: leaving closes the room for everyone.
    await ann.type("exit!" + KEY.enter);
    await screen.waitFor("Leaving closes the room for everyone. Leave? (y/n)");
    await ann.write("y");
    assert.equal(await ann.exited(5_000), 0, ann.describe());
    await bob.stdout.waitFor(/^\* The room was closed: its host ann left\.$/m);
    assert.equal(await bob.exited(5_000), 0, bob.describe());

    const plain = screen.plain;
    assert.match(plain, /✔ Your name ann/);
    assert.match(plain, /✔ Create a room or join one\? Create a new room/);
    assert.match(plain, /✔ Name of the new room den/);
    assert.match(plain, /^\* You left the room\.$/m);
    // Commands are handled locally, never sent as messages: bob saw only the two real ones.
    assert.deepEqual(
      timeless(bob.stdout.lines).filter((line) => /^\[t\] \w+: /.test(line)),
      ["[t] ann: hello from the terminal", "[t] bob: welcome, ann"],
    );
  });
});

Deno.test("interactive: a locked room picked from the list, a wrong password retried, Ctrl+D leaves", async () => {
  await withServer(async (kids, server) => {
    const cat = kids.chat([
      ...joinArgs(server.address, "cat", "--create", "vault"),
      "--password-stdin",
      "--capacity",
      "4",
    ]);
    await cat.write("pw\n");
    await cat.stdout.waitFor(`* You are in "vault"`);

    const ann = spawnChatInPty(kids, ["join", "--server", server.address]);
    const screen = ann.stdout;
    await screen.waitFor("? Your name", 8_000);
    await sleep(100);
    await ann.type("ann" + KEY.enter);
    await screen.waitFor("❯ Join a room (1 open)");
    await sleep(150);
    await ann.write(KEY.enter);
    await screen.waitFor(/^❯ vault +\(1 of 4 members\) +\[locked\]$/m);
    await sleep(150);
    await ann.write(KEY.enter);
    await screen.waitFor(`? Password for "vault"`);
    await sleep(100);
    await ann.type("wrong" + KEY.enter);
    await screen.waitFor(/^The server said: wrong or missing password\n\? Password for "vault"/m);
    await sleep(100);
    await ann.type("pw" + KEY.enter);
    await screen.waitFor(
      `* You are in "vault" (host cat; here: cat, ann)\n* Type /help for commands.`,
    );
    await cat.stdout.waitFor(eventLine("* ann joined"));
    // The password is masked, never echoed.
    assert.match(screen.plain, /^✔ Password for "vault" \*\*\*\*\*$/m);
    assert.match(screen.plain, /^✔ Password for "vault" \*\*$/m);
    assert.doesNotMatch(screen.plain, /wrong$|\bpw\b/m);

    await sleep(100);
    await ann.write(KEY.ctrlD);
    assert.equal(await ann.exited(5_000), 0, ann.describe());
    assert.match(screen.plain, /^\* You left the room\.$/m);
    assert.doesNotMatch(screen.plain, /unexpected error|ERR_/);
    await cat.stdout.waitFor(eventLine("* ann left"));
  });
});

Deno.test("interactive: Ctrl+C at a question exits 0; on the chat screen it leaves the room", async () => {
  await withServer(async (kids, server) => {
    const quitter = spawnChatInPty(kids, ["join", "--server", server.address]);
    // Flags skip the questions they answer: only the password is asked here.
    const zoe = spawnChatInPty(kids, [
      "join",
      "--server",
      server.address,
      "--name",
      "zoe",
      "--create",
      "--room",
      "quick",
    ]);

    await quitter.stdout.waitFor("? Your name", 8_000);
    await sleep(100);
    await quitter.write(KEY.ctrlC);
    assert.equal(await quitter.exited(5_000), 0, quitter.describe());

    await zoe.stdout.waitFor("? Password (leave empty for an open room)", 8_000);
    assert.doesNotMatch(zoe.stdout.plain, /Your name|Create a room|Name of the new room/);
    await sleep(100);
    await zoe.write(KEY.enter);
    await zoe.stdout.waitFor(`* You are in "quick" (host zoe; here: zoe)`);
    const bob = kids.chat(joinArgs(server.address, "bob", "--join", "quick"));
    await bob.stdout.waitFor(`* You are in "quick"`);
    await zoe.stdout.waitFor(eventLine("* bob joined"));

    await sleep(100);
    await zoe.write(KEY.ctrlC);
    // zoe is the host: a second Ctrl+C answers the question yes.
    await zoe.stdout.waitFor("Leaving closes the room for everyone. Leave? (y/n)");
    await zoe.write(KEY.ctrlC);
    assert.equal(await zoe.exited(5_000), 0, zoe.describe());
    assert.match(zoe.stdout.plain, /^\* You left the room\.$/m);
    await bob.stdout.waitFor(/^\* The room was closed: its host zoe left\.$/m);
    assert.equal(await bob.exited(5_000), 0, bob.describe());
  });
});
