/**
 * The chat screen's behaviour in-process: keys and session events in, the
 * screen (through `@xterm/headless`) and the fake session's calls out.
 */
import assert from "node:assert/strict";
import { CloseReason } from "../../protocol/datagram.ts";
import { STYLE } from "./event_lines.ts";
import { at, ScreenHarness } from "./screen_test_util.ts";

const PASTE = (lines: string[]) => `\x1b[200~${lines.join("\r")}\r\x1b[201~`;

Deno.test("view: a paste of 60 lines asks first, then sends them in order; the status line counts them", () => {
  const h = new ScreenHarness(80, 20, { members: ["ann", "bob"] });
  h.welcome();
  const lines = Array.from({ length: 60 }, (_, i) => `pasted line ${i + 1}`);
  h.type(PASTE(lines));
  assert.equal(h.visible[19], "Send 60 pasted lines? (y/n)");
  assert.deepEqual(h.session.sent, []);
  h.type("y");
  assert.deepEqual(h.session.sent, lines);
  assert.match(h.statusRow(), /\| sending 0\/60 *$/);
  for (let i = 1; i <= 23; i++) h.event({ type: "delivered", msgId: i, seq: i });
  // The server's pacing refusals are the session's business: no line, nothing red.
  h.event({ type: "error", code: 429, text: "rate limited: message not relayed" });
  assert.match(h.statusRow(), /\| sending 23\/60 *$/);
  for (let i = 24; i <= 60; i++) h.event({ type: "delivered", msgId: i, seq: i });
  assert.doesNotMatch(h.statusRow(), /sending/);
  assert.ok(!h.all.some((row) => /rate limited|^!/.test(row)), h.all.join("\n"));
  assert.equal(h.visible[19], "ann>");
});

Deno.test("view: a paste answered no sends nothing; a short paste sends at once; a paste without newline is typed", () => {
  const h = new ScreenHarness();
  h.welcome();
  h.type(PASTE(["a", "b", "c", "d"]));
  h.type("n");
  assert.deepEqual(h.session.sent, []);
  h.type(PASTE(["one", "two"]));
  assert.deepEqual(h.session.sent, ["one", "two"]);
  h.type("\x1b[200~half\ttyped\x1b[201~");
  assert.equal(h.view.input, "half    typed");
});

Deno.test("view: a sent line longer than the screen leaves nothing behind; its echo shows once", () => {
  const h = new ScreenHarness(80, 20, { members: ["ann", "bob"] });
  h.welcome();
  const long = "z".repeat(100);
  h.type(long + "\r");
  assert.deepEqual(h.session.sent, [long]);
  assert.deepEqual(h.visible.slice(-1), ["ann>"]);
  h.message("ann", long);
  const rows = h.all;
  assert.equal(rows.filter((r) => r.includes("zzzz")).length, 2, rows.join("\n")); // 2 rows of one line
  assert.equal(rows.filter((r) => r.startsWith("ann>")).length, 1);
  assert.ok(rows.includes("[12:00] ann: " + "z".repeat(67)));
});

Deno.test("view: /me sends an action and shows it as * name text", () => {
  const h = new ScreenHarness(80, 20, { members: ["ann", "bob"] });
  h.welcome();
  h.type("/me waves\r");
  assert.deepEqual(h.session.sent, ["/me waves"]);
  h.message("ann", "/me waves");
  h.message("bob", "/me waves back");
  assert.ok(h.all.includes("[12:00] * ann waves"));
  assert.ok(h.all.includes("[12:00] * bob waves back"));
  h.type("/me\r");
  assert.deepEqual(h.session.sent, ["/me waves"]);
  h.type("//me is not an action\r");
  assert.deepEqual(h.session.sent, ["/me waves", "/me is not an action"]);
});

Deno.test("view: the host is asked before /quit, /leave, exit!, Ctrl+C and Ctrl+D close the room", () => {
  for (const how of ["/quit\r", "/leave\r", "exit!\r", "\x03", "\x04"]) {
    const h = new ScreenHarness();
    h.welcome();
    h.type(how);
    assert.equal(h.visible[19], "Leaving closes the room for everyone. Leave? (y/n)", how);
    h.type("n");
    assert.equal(h.session.leaves, 0, how);
    assert.equal(h.visible[19], "ann>");
    h.type(how);
    h.type("y");
    assert.equal(h.session.leaves, 1, how);
  }
});

Deno.test("view: others leave without a question; Ctrl+\\ leaves without one even for the host", () => {
  const member = new ScreenHarness(80, 20, { members: ["bob", "ann"], host: "bob" });
  member.welcome();
  member.type("/quit\r");
  assert.equal(member.session.leaves, 1);
  const host = new ScreenHarness();
  host.welcome();
  host.type("\x1c");
  assert.equal(host.session.leaves, 1);
  const typing = new ScreenHarness(80, 20, { members: ["bob", "ann"], host: "bob" });
  typing.type("abc\x01\x04"); // Ctrl+D on a line with text deletes instead
  assert.equal(typing.view.input, "bc");
  assert.equal(typing.session.leaves, 0);
});

Deno.test("view: /who, /members, /help, unknown commands; commands are never sent", () => {
  const h = new ScreenHarness(80, 30, { members: ["ann", "bob"] });
  h.welcome();
  h.type("/who\r/members\r/help\r/nope\r");
  assert.equal(h.all.filter((r) => r === "2 here: ann (host), bob").length, 2);
  assert.ok(h.all.some((r) => /^ {2}\/leave, \/quit +leave the room/.test(r)));
  assert.ok(h.all.includes("unknown command /nope; /help lists them"));
  assert.deepEqual(h.session.sent, []);
});

Deno.test("view: Tab completes member names, history comes back with Up", () => {
  const h = new ScreenHarness(80, 20, { members: ["ann", "bob", "bea"] });
  h.welcome();
  h.type("b\t");
  assert.equal(h.view.input, "bob: ");
  h.type("\t");
  assert.equal(h.view.input, "bea: ");
  h.type("hi\r");
  assert.deepEqual(h.session.sent, ["bea: hi"]);
  h.type("\x1b[A");
  assert.equal(h.view.input, "bea: hi");
});

Deno.test("view: an over-long message says how many characters too long and stays in the input", () => {
  const h = new ScreenHarness();
  h.welcome();
  // 4096 bytes less the MESSAGE's 2 + 7 ("general") + 32 + 5: 4050 bytes of text; 🙂 is 4.
  const text = "🙂".repeat(1015);
  h.type(text + "\r");
  assert.deepEqual(h.session.sent, []);
  assert.ok(h.all.includes("! not sent: 3 characters too long; shorten it and press Enter"));
  assert.equal(h.view.input, text);
  h.type("\x7f\x7f\x7f\r");
  assert.equal(h.session.sent.length, 1);
});

Deno.test("view: a mention of your name is highlighted and rings the bell, at most once in 5 s; the flag turns it off", () => {
  const h = new ScreenHarness(80, 20, { color: true, members: ["ann", "bob"] });
  h.welcome();
  const bells = () => h.writes.filter((w) => w.includes("\x07")).length;
  h.message("bob", "hey ann, look");
  assert.equal(bells(), 1);
  const row = h.visible.indexOf("[12:00] bob: hey ann, look");
  assert.ok(h.vt.isInverse(row, 17) && h.vt.isBold(row, 17), "ann is highlighted");
  assert.ok(!h.vt.isInverse(row, 13));
  h.now = 1_000;
  h.message("bob", "ann?");
  assert.equal(bells(), 1);
  h.now = 6_000;
  h.message("bob", "ANN!");
  assert.equal(bells(), 2);
  h.message("bob", "annette is not you");
  h.now = 20_000;
  h.message("ann", "I am ann");
  assert.equal(bells(), 2, "not for a non-mention or for your own line");
  const quiet = new ScreenHarness(80, 20, { bell: false, members: ["ann", "bob"] });
  quiet.welcome();
  quiet.message("bob", "ann!");
  assert.ok(!quiet.writes.some((w) => w.includes("\x07")));
  assert.equal(STYLE.mention, "1;7");
});

Deno.test("view: a day-change line before the first line of another day", () => {
  const h = new ScreenHarness();
  h.event({
    type: "message",
    seq: 1,
    time: at(23, 58, 1),
    name: "bob",
    text: "late",
    replay: true,
  });
  h.welcome();
  h.event({
    type: "message",
    seq: 2,
    time: at(0, 1, 2),
    name: "bob",
    text: "early",
    replay: false,
  });
  h.event({
    type: "message",
    seq: 3,
    time: at(0, 2, 2),
    name: "bob",
    text: "again",
    replay: false,
  });
  const rows = h.all.filter((r) => r !== "");
  const i = rows.indexOf("[23:58] bob: late");
  assert.equal(rows[i - 1], "-- Tuesday 1 December 2026 --");
  assert.equal(rows[i + 3], "-- Wednesday 2 December 2026 --", rows.join("\n"));
  assert.equal(rows[i + 4], "[00:01] bob: early");
  assert.equal(rows[i + 5], "[00:02] bob: again");
  const today = new ScreenHarness();
  today.message("bob", "no day line for today's first line");
  assert.ok(!today.all.some((r) => r.startsWith("--")));
});

Deno.test("view: the status line follows the connection: connected, rejoining, back, lost", () => {
  const h = new ScreenHarness(80, 20, { members: ["ann", "bob"] });
  h.welcome();
  assert.match(h.statusRow(), /^ general \| host ann \| 2 members \| connected/);
  h.event({ type: "rejoining", reason: "the server shut down", timeoutMs: 60_000 });
  assert.match(h.statusRow(), /\| rejoining/);
  h.type("typed while away\r");
  assert.match(h.statusRow(), /\| rejoining \| sending 0\/1/);
  h.session.members = ["ann"];
  h.welcome(true);
  assert.match(h.statusRow(), /^ general \| host ann \| 1 member \| connected \| sending 0\/1/);
  assert.ok(h.all.includes(`* Back in "general" (host ann; here: ann)`));
  h.event({ type: "closed", reason: "lost", text: "gone" });
  assert.match(h.statusRow(), /\| lost/);
});

Deno.test("view: others' bidi controls, escapes and tabs cannot reorder or move anything", () => {
  const h = new ScreenHarness(80, 20, { members: ["ann", "bob"] });
  h.welcome();
  h.message("bob", "a\u202Eevil\u2066x\tb\x1b[2Jc");
  assert.ok(h.all.includes("[12:00] bob: a\uFFFDevil\uFFFDx    b\uFFFD[2Jc"), h.all.join("\n"));
});

Deno.test("view: the session's idle warning is a notice", () => {
  const h = new ScreenHarness();
  h.welcome();
  h.event({ type: "idleWarning", removeInMs: 60_000 });
  assert.match(h.all.join(" "), /the server removes you in about 1 minute unless you send one/);
});

Deno.test("view: the host's own leaving says the room closed; undelivered lines are listed", () => {
  const h = new ScreenHarness();
  h.welcome();
  h.type("unsent\r");
  h.event({ type: "undelivered", msgId: 1, text: "unsent" });
  h.event({ type: "closed", reason: CloseReason.LEFT, text: "you left the room" });
  assert.ok(h.all.includes("! not delivered: unsent"));
  assert.ok(h.all.includes("* You left the room."));
  assert.ok(h.all.includes("* The room was closed because its host left."));
});
