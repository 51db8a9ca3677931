/**
 * The chat screen end to end: `chat join` on a pseudo-terminal (`script`)
 * against a real `chat serve`, its output rendered by `@xterm/headless`, with
 * a second member in pipe mode to check what really went through the server.
 * The pty is 80×20 (`stty` inside the script command), TERM=xterm and TZ=UTC.
 * These run one at a time (a file's tests run in sequence), each bounded.
 */
import assert from "node:assert/strict";
import { type Children, type ServerProcess, withChildren, withServer } from "../testing/cli.ts";
import {
  bracketedPaste,
  KEY,
  processExists,
  type PtyChat,
  spawnChatScreen,
} from "../testing/pty.ts";
import { sleep, waitUntil } from "../testing/wait.ts";

const ENV = { TZ: "UTC", TERM: "xterm" };

function joinArgs(server: string, name: string, how: "--create" | "--join", room: string) {
  return ["join", "--server", server, "--name", name, how, "--room", room];
}

/** `name` on the chat screen in `room` (created when `create`), once its first full screen is up. */
async function screenMember(
  kids: Children,
  server: ServerProcess,
  name: string,
  room: string,
  create: boolean,
  options: { after?: string; args?: string[] } = {},
): Promise<PtyChat> {
  const pty = spawnChatScreen(
    kids,
    [
      ...joinArgs(server.address, name, create ? "--create" : "--join", room),
      ...options.args ?? [],
    ],
    {
      env: ENV,
      ...options,
    },
  );
  if (create) {
    await pty.child.stdout.waitFor("? Password (leave empty for an open room)", 10_000);
    await pty.child.write(KEY.enter);
  }
  await pty.child.stdout.waitFor(`* You are in "${room}"`, 10_000);
  await waitUntil(
    () => /\| connected/.test(pty.terminal.visibleRows()[18] ?? ""),
    "the status line",
    5_000,
  );
  return pty;
}

/** Every one of `lines` appears in `rows` at least once, in this order. */
function assertAllInOrder(rows: string[], lines: string[]): void {
  let from = 0;
  for (const line of lines) {
    const index = rows.findIndex((row, i) => i >= from && row.endsWith(line));
    assert.ok(index >= 0, `${line} missing or out of order:\n${rows.join("\n")}`);
    from = index + 1;
  }
}

Deno.test("chat screen: a long half-typed input while 40 lines arrive, before and after a resize", async () => {
  await withChildren(async (kids) => {
    // No rate limit: bob's second burst of 40 would otherwise be refused in part and
    // retried out of order, which is not what this test is about.
    const server = await kids.server(["--rate-limit", "0"]);
    const bob = kids.chat(joinArgs(server.address, "bob", "--create", "talk"));
    await bob.stdout.waitFor(`* You are in "talk"`);
    const ann = await screenMember(kids, server, "ann", "talk", false);
    const typed = "y".repeat(85);
    await ann.child.write(typed);
    await waitUntil(
      () => ann.terminal.visibleRows()[19] === "y".repeat(10),
      "the input's second row",
    );

    const before = Array.from({ length: 40 }, (_, i) => `bob: before ${i}`);
    await bob.write(before.map((l) => l.slice(5)).join("\n") + "\n");
    await ann.child.stdout.waitFor("bob: before 39", 10_000);
    assertAllInOrder(ann.terminal.allRows(), before);

    await ann.resize(60, 20);
    await waitUntil(
      () => ann.terminal.visibleRows()[19] === "y".repeat(30),
      "the input rewrapped at 60",
    );
    const after = Array.from({ length: 40 }, (_, i) => `bob: after ${i}`);
    await bob.write(after.map((l) => l.slice(5)).join("\n") + "\n");
    await ann.child.stdout.waitFor("bob: after 39", 10_000);
    const rows = ann.terminal.allRows();
    assertAllInOrder(rows, before);
    assertAllInOrder(rows, after);
    // The input is intact, once, with the cursor after its last character.
    assert.deepEqual(ann.terminal.visibleRows().slice(-2), [
      "ann> " + "y".repeat(55),
      "y".repeat(30),
    ]);
    assert.equal(rows.filter((r) => r.startsWith("ann> ")).length, 1, rows.join("\n"));
    assert.deepEqual(ann.terminal.cursor, { row: 19, col: 30 });
  });
});

Deno.test("chat screen: a pasted burst of 60 lines is confirmed and delivered, with no error shown", async () => {
  await withServer(async (kids, server) => {
    const bob = kids.chat(joinArgs(server.address, "bob", "--create", "paste"));
    await bob.stdout.waitFor(`* You are in "paste"`);
    const ann = await screenMember(kids, server, "ann", "paste", false);
    const lines = Array.from({ length: 60 }, (_, i) => `pasted ${i + 1}`);
    await ann.child.write(bracketedPaste(lines.join("\r") + "\r"));
    await ann.child.stdout.waitFor("Send 60 pasted lines? (y/n)");
    await ann.child.write("y");
    // Past the server's burst (40), the session paces the rest to the advertised 20 a second.
    await bob.stdout.waitFor(/ann: pasted 60$/m, 20_000);
    const got = bob.stdout.lines.filter((l) => / ann: pasted /.test(l)).map((l) =>
      l.replace(/^.* ann: /, "")
    );
    // Each exactly once, in the order pasted (protocol revision 2: per-sender order).
    assert.deepEqual(got, lines);
    await waitUntil(
      () => !/sending/.test(ann.terminal.visibleRows()[18] ?? ""),
      "the sending count to go",
      10_000,
    );
    const screen = ann.terminal.allRows();
    assert.ok(!screen.some((r) => /^!|rate limit|error/i.test(r)), screen.join("\n"));
    for (const line of lines) assert.ok(screen.some((r) => r.endsWith(`ann: ${line}`)), line);
  });
});

Deno.test("chat screen: SIGHUP (the terminal closed) and SIGTERM leave at once; SIGTERM restores the terminal", async () => {
  await withServer(async (kids, server) => {
    const bob = kids.chat(joinArgs(server.address, "bob", "--create", "bye"));
    await bob.stdout.waitFor(`* You are in "bye"`);

    // A real hangup: script (holding the pty's master side) is killed.
    const ann = await screenMember(kids, server, "ann", "bye", false);
    const annPid = await ann.chatPid();
    const hungUpAt = performance.now();
    ann.child.kill("SIGKILL");
    await bob.stdout.waitFor(/\* ann left$/m, 3_000);
    const leftAfter = performance.now() - hungUpAt;
    assert.ok(leftAfter < 1_000, `ann left ${leftAfter} ms after the hangup`);
    const deadline = performance.now() + 3_000;
    while (await processExists(annPid)) {
      assert.ok(performance.now() < deadline, "chat is still running 3 s after the hangup");
      await sleep(20);
    }

    // SIGTERM: leaves, gives the terminal back (raw mode off: stty shows icanon and echo again).
    const cat = await screenMember(kids, server, "cat", "bye", false, { after: "stty -a" });
    await cat.child.write("half typed");
    const catPid = await cat.chatPid();
    const termAt = performance.now();
    Deno.kill(catPid, "SIGTERM");
    await bob.stdout.waitFor(/\* cat left$/m, 3_000);
    assert.ok(performance.now() - termAt < 1_000);
    await cat.child.stdout.waitFor(/^chat exited: 0$/m, 5_000);
    await cat.child.stdout.waitFor(/\bicanon\b/, 5_000);
    const raw = cat.child.stdout.text;
    const settings = raw.slice(raw.indexOf("chat exited"));
    assert.match(settings, /(^|\s)icanon(\s|$)/m);
    assert.match(settings, /(^|\s)echo(\s|$)/m);
    const restore = raw.slice(raw.lastIndexOf("\x1b[?2026l"));
    for (const part of ["\x1b[r", "\x1b[?7h", "\x1b[?2004l", "\x1b[?25h"]) {
      assert.ok(restore.includes(part), `restores ${JSON.stringify(part)}`);
    }
    assert.ok(cat.terminal.allRows().includes("* You left the room."));
    assert.doesNotMatch(cat.child.stdout.plain, /error|at file:/i);
    assert.equal(await cat.child.exited(5_000), 0);
  });
});

Deno.test("chat screen: /me, /quit and the host's confirmation", async () => {
  await withServer(async (kids, server) => {
    const ann = await screenMember(kids, server, "ann", "den", true);
    const bob = kids.chat(joinArgs(server.address, "bob", "--join", "den"));
    await bob.stdout.waitFor(`* You are in "den"`);
    await ann.child.stdout.waitFor("* bob joined");
    await ann.child.write("/me waves" + KEY.enter);
    await ann.child.stdout.waitFor(/\] \* ann waves$/m);
    await bob.stdout.waitFor(/\] \* ann waves$/m);
    await ann.child.write("/quit" + KEY.enter);
    await ann.child.stdout.waitFor("Leaving closes the room for everyone. Leave? (y/n)");
    await ann.child.write("n");
    await waitUntil(() => ann.terminal.visibleRows()[19] === "ann>", "the prompt back");
    await ann.child.write("/quit" + KEY.enter);
    await waitUntil(
      () => /Leave\? \(y\/n\)/.test(ann.terminal.visibleRows()[19] ?? ""),
      "the question again",
    );
    await ann.child.write("y");
    assert.equal(await ann.child.exited(5_000), 0, ann.child.describe());
    await bob.stdout.waitFor(/^\* The room was closed: its host ann left\.$/m);
  });
});

Deno.test("chat screen: the status line through a server restart: rejoining, then connected again", async () => {
  await withChildren(async (kids) => {
    const first = await kids.server();
    const ann = await screenMember(kids, first, "ann", "again", true);
    first.process.kill("SIGTERM");
    assert.equal(await first.process.exited(5_000), 0);
    await waitUntil(
      () => /\| rejoining/.test(ann.terminal.visibleRows()[18] ?? ""),
      "rejoining",
      5_000,
    );
    await ann.child.write("typed while away" + KEY.enter);
    await waitUntil(
      () => /\| rejoining \| sending 0\/1/.test(ann.terminal.visibleRows()[18] ?? ""),
      "sending 0/1",
      5_000,
    );
    // The same ports again: the host makes the room again by itself.
    await kids.server(["--port", String(first.port), "--udp-port", String(first.udpPort)]);
    await ann.child.stdout.waitFor(`* Back in "again"`, 10_000);
    await ann.child.stdout.waitFor(/\] ann: typed while away$/m, 5_000);
    await waitUntil(
      () =>
        /^ again \| host ann \| 1 member \| connected *$/.test(
          ann.terminal.visibleRows()[18] ?? "",
        ),
      "connected, nothing left to send",
      5_000,
    );
  });
});

Deno.test("chat screen: a mention rings the bell and is shown in reverse video; --no-bell turns the bell off", async () => {
  await withServer(async (kids, server) => {
    const bob = kids.chat(joinArgs(server.address, "bob", "--create", "ring"));
    await bob.stdout.waitFor(`* You are in "ring"`);
    const ann = await screenMember(kids, server, "ann", "ring", false, { args: ["--no-bell"] });
    const dan = await screenMember(kids, server, "dan", "ring", false);
    await bob.write("ann and dan: hello\n");
    await ann.child.stdout.waitFor("bob: ann and dan: hello");
    await dan.child.stdout.waitFor("bob: ann and dan: hello");
    assert.ok(dan.child.stdout.text.includes("\x07"), "dan's terminal rang");
    assert.ok(!ann.child.stdout.text.includes("\x07"), "ann's did not");
    // Her name stands out in reverse video, even with NO_COLOR (set for every child here).
    const rows = dan.terminal.visibleRows();
    const row = rows.findIndex((r) => r.endsWith("bob: ann and dan: hello"));
    const col = rows[row]!.indexOf("dan:");
    assert.ok(dan.terminal.isInverse(row, col) && !dan.terminal.isInverse(row, col - 2));
  });
});

Deno.test("chat screen: PageUp scrolls back through the client's own lines, PageDown returns", async () => {
  await withServer(async (kids, server) => {
    const bob = kids.chat(joinArgs(server.address, "bob", "--create", "scroll"));
    await bob.stdout.waitFor(`* You are in "scroll"`);
    const ann = await screenMember(kids, server, "ann", "scroll", false);
    await bob.write(Array.from({ length: 39 }, (_, i) => `old ${i}`).join("\n") + "\n");
    await ann.child.stdout.waitFor("bob: old 38", 10_000);
    await ann.child.write(KEY.pageUp);
    await waitUntil(
      () => /^-- more \(\d+\) --$/.test(ann.terminal.visibleRows()[17] ?? ""),
      "the more marker",
    );
    const paged = ann.terminal.visibleRows().slice(0, 17).join("\n");
    assert.doesNotMatch(paged, /old 38/);
    assert.match(paged, /old 2\d/);
    await ann.child.write(KEY.pageDown + KEY.pageDown + KEY.pageDown);
    await waitUntil(
      () => /bob: old 38$/.test(ann.terminal.visibleRows()[17] ?? ""),
      "the live view again",
    );
  });
});

Deno.test("chat screen: TERM=dumb gets line mode, which also leaves at once on SIGTERM", async () => {
  await withServer(async (kids, server) => {
    const bob = kids.chat(joinArgs(server.address, "bob", "--create", "plain"));
    await bob.stdout.waitFor(`* You are in "plain"`);
    const ann = spawnChatScreen(kids, joinArgs(server.address, "ann", "--join", "plain"), {
      env: { ...ENV, TERM: "dumb" },
    });
    await ann.child.stdout.waitFor(`* You are in "plain"`, 10_000);
    await ann.child.stdout.waitFor(/^ann>/m);
    await ann.child.write("hello from a dumb terminal" + KEY.enter);
    await bob.stdout.waitFor(/ ann: hello from a dumb terminal$/m);
    // No scroll region, no bracketed paste: the plain readline prompt.
    assert.ok(!ann.child.stdout.text.includes("\x1b[?2004h"));
    assert.doesNotMatch(ann.child.stdout.text, new RegExp(String.raw`\x1b\[1;\d+r`));
    Deno.kill(await ann.chatPid(), "SIGTERM");
    await bob.stdout.waitFor(/\* ann left$/m, 3_000);
    assert.equal(await ann.child.exited(5_000), 0);
  });
});
