/**
 * The chat screen drawn into a real terminal emulator (`@xterm/headless`):
 * what a person sees, what reaches the terminal's scrollback, and where the
 * cursor is.
 */
import assert from "node:assert/strict";
import { ScreenHarness } from "./screen_test_util.ts";

const X85 = "x".repeat(85);

function assertEveryLineOnce(rows: string[], lines: string[]): void {
  let from = 0;
  for (const line of lines) {
    const index = rows.indexOf(line, from);
    assert.ok(
      index >= 0,
      `${JSON.stringify(line)} is missing (or out of order) in:\n${rows.join("\n")}`,
    );
    from = index + 1;
  }
}

Deno.test("screen: 40 lines arriving while an 85-character input is half typed all appear, before and after a resize", () => {
  const h = new ScreenHarness(80, 20);
  h.welcome();
  h.type(X85);
  const before = Array.from({ length: 40 }, (_, i) => `[12:00] bob: line ${i} before the resize`);
  for (let i = 0; i < 40; i++) h.message("bob", `line ${i} before the resize`);
  assertEveryLineOnce(h.all, before);
  // The input is intact in its two rows at the bottom, the cursor after its last character.
  assert.deepEqual(h.visible.slice(-2), ["ann> " + "x".repeat(75), "x".repeat(10)]);
  assert.deepEqual(h.vt.cursor, { row: 19, col: 10 });
  assert.match(h.statusRow(2), /^ general \| host ann \| 1 member \| connected/);
  // No input row was left behind among the messages.
  assert.equal(h.all.filter((row) => row.startsWith("ann> ")).length, 1);

  h.resize(60, 20);
  const after = Array.from({ length: 40 }, (_, i) => `[12:00] bob: line ${i} after`);
  for (let i = 0; i < 40; i++) h.message("bob", `line ${i} after`);
  assertEveryLineOnce(h.all, after);
  assert.deepEqual(h.visible.slice(-2), ["ann> " + "x".repeat(55), "x".repeat(30)]);
  assert.deepEqual(h.vt.cursor, { row: 19, col: 30 });
  assert.equal(h.all.filter((row) => row.startsWith("ann> ")).length, 1);
});

Deno.test("screen: many lines in one tick are one frame, in synchronized output with autowrap off", () => {
  const h = new ScreenHarness(80, 20);
  h.welcome();
  const writes = h.writes.length;
  for (let i = 0; i < 30; i++) {
    h.view.handleEvent({
      type: "message",
      seq: i + 1,
      time: new Date(),
      name: "bob",
      text: `m${i}`,
      replay: false,
    });
  }
  h.draw();
  assert.equal(h.writes.length, writes + 1);
  const frame = h.writes[h.writes.length - 1]!;
  assert.ok(frame.startsWith("\x1b[?2026h"));
  assert.ok(frame.includes("\x1b[?7l"));
  assert.ok(frame.endsWith("\x1b[?2026l") || frame.endsWith("\x1b[?2026l\x07"));
});

Deno.test("screen: an input growing to 3 rows and back loses no message line", () => {
  const h = new ScreenHarness(40, 12);
  h.welcome();
  const lines = Array.from({ length: 15 }, (_, i) => `[12:00] bob: m${i}`);
  for (let i = 0; i < 15; i++) h.message("bob", `m${i}`);
  h.type("y".repeat(100)); // 3 rows
  assert.equal(h.visible[h.visible.length - 4]!.startsWith(" general"), true, h.visible.join("\n"));
  assertEveryLineOnce(h.all, lines);
  h.type("\x15"); // Ctrl+U: back to one row
  assert.deepEqual(h.visible.slice(-1), ["ann>"]);
  assertEveryLineOnce(h.visible, lines.slice(-8));
  assert.deepEqual(h.vt.cursor, { row: 11, col: 5 });
});

Deno.test("screen: wide characters wrap by display width and the cursor counts cells", () => {
  const h = new ScreenHarness(21, 10);
  h.welcome();
  h.message("bob", "日本語".repeat(5));
  // 21 columns hold 10 wide characters: a row with one cell left over moves the next to its own.
  const first = h.visible.indexOf("[12:00] bob: 日本語日");
  assert.ok(first >= 0, h.visible.join("\n"));
  assert.deepEqual(h.visible.slice(first + 1, first + 3), ["本語日本語日本語日本", "語"]);
  h.type("日本");
  assert.deepEqual(h.vt.cursor, { row: 9, col: 9 });
});

Deno.test("screen: the status line is in reverse video, even without colours", () => {
  const h = new ScreenHarness(40, 10, { color: false });
  h.welcome();
  assert.ok(h.vt.isInverse(8, 0));
  assert.ok(h.vt.isInverse(8, 39));
  assert.ok(!h.vt.isInverse(9, 0));
});

Deno.test("screen: PageUp shows older lines with a -- more (n) -- marker; PageDown returns and nothing is lost", () => {
  const h = new ScreenHarness(40, 10);
  h.welcome();
  for (let i = 0; i < 50; i++) h.message("bob", `old ${i}`);
  assert.equal(h.visible[7], "[12:00] bob: old 49");
  h.type("\x1b[5~");
  assert.match(h.visible[7]!, /^-- more \(\d+\) --$/);
  assert.ok(h.screen.paging);
  const shown = h.visible.slice(0, 7);
  assert.ok(!shown.includes("[12:00] bob: old 49"));
  const more = Number(h.visible[7]!.match(/\((\d+)\)/)![1]);
  // A new line while scrolled back does not move the view; the count grows.
  h.message("bob", "new while paging");
  assert.deepEqual(h.visible.slice(0, 7), shown);
  assert.equal(h.visible[7], `-- more (${more + 1}) --`);
  h.type("\x1b[5~\x1b[5~\x1b[5~\x1b[5~\x1b[5~\x1b[5~\x1b[5~\x1b[5~");
  assert.ok(h.visible.includes("[12:00] bob: old 0"), "PageUp reaches the oldest line");
  for (let i = 0; i < 12; i++) h.type("\x1b[6~");
  assert.ok(!h.screen.paging);
  assert.equal(h.visible[7], "[12:00] bob: new while paging");
  assert.ok(h.all.filter((row) => row === "[12:00] bob: new while paging").length >= 1);
});

Deno.test("screen: Ctrl+L repaints, /clear empties the region", () => {
  const h = new ScreenHarness(40, 10);
  h.welcome();
  h.message("bob", "hello");
  h.vt.write("\x1b[3;1Hgarbage");
  h.type("\x0c");
  assert.ok(!h.visible.some((row) => row.includes("garbage")));
  assert.equal(h.visible[7], "[12:00] bob: hello");
  h.type("/clear\r");
  assert.deepEqual(h.visible.slice(0, 8), Array(8).fill(""));
});

Deno.test("screen: stop() gives the terminal back and later output follows the messages", () => {
  const h = new ScreenHarness(40, 10);
  h.welcome();
  h.message("bob", "last words");
  h.screen.stop();
  const restore = h.writes[h.writes.length - 1]!;
  for (const part of ["\x1b[r", "\x1b[?7h", "\x1b[?2004l", "\x1b[?25h"]) {
    assert.ok(restore.includes(part), JSON.stringify(part));
  }
  h.vt.write("* You left the room.\r\n");
  assert.equal(h.visible[7], "[12:00] bob: last words");
  assert.equal(h.visible[8], "* You left the room.");
  assert.equal(h.visible[9], "");
});
