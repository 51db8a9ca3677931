import assert from "node:assert/strict";
import { createLogger, escapeLogText, formatLogLine } from "./log.ts";

Deno.test("escapeLogText: bidi overrides, line and paragraph separators, ESC and newlines become visible escapes", () => {
  assert.equal(escapeLogText("ann\u202Egnp.exe"), "ann\\u{202E}gnp.exe");
  assert.equal(escapeLogText("a\u2028b\u2029c"), "a\\u{2028}b\\u{2029}c");
  assert.equal(escapeLogText("\x1b[31mred\x1b[0m"), "\\u{1B}[31mred\\u{1B}[0m");
  assert.equal(escapeLogText("one\ntwo\r\tthree"), "one\\ntwo\\r\\tthree");
  assert.equal(escapeLogText("\u0000\u007f\u0085\u009b"), "\\u{0}\\u{7F}\\u{85}\\u{9B}");
  // Isolates, zero-width characters, the byte order mark, a lone surrogate.
  assert.equal(
    escapeLogText("\u2066x\u2069\u200b\u200f\ufeff\ud800"),
    "\\u{2066}x\\u{2069}\\u{200B}\\u{200F}\\u{FEFF}\\u{D800}",
  );
});

Deno.test("escapeLogText: letters of any script, emoji, quotes and backslashes stay as they are", () => {
  for (const text of ["plain ascii", "zoë Ωμέγα 日本語 ✓ 🎉", `quotes " ' and \\ back`, ""]) {
    assert.equal(escapeLogText(text), text);
  }
});

Deno.test("createLogger: a name with a newline or U+2028 cannot forge a second log line", () => {
  const lines: string[] = [];
  const log = createLogger("info", (line) => lines.push(line));
  const forged = 'eve\n2026-01-01T00:00:00.000Z info  room created: "admin" by root';
  log.info(`joined: ${forged} (127.0.0.1) to "lobby"`);
  log.info("joined: mallory\u2028fake line\u202E (127.0.0.1)");
  assert.equal(lines.length, 2);
  for (const line of lines) {
    assert.doesNotMatch(line, /[\n\r\u2028\u2029\u202e]/);
    assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info {2}joined: /);
  }
  assert.match(lines[0]!, /joined: eve\\n2026-01-01T00:00:00\.000Z info {2}room created/);
  assert.match(lines[1]!, /mallory\\u\{2028\}fake line\\u\{202E\} \(127\.0\.0\.1\)$/);
});

Deno.test("createLogger: only the level and above; a collecting logger flushes at once", async () => {
  const lines: string[] = [];
  const log = createLogger("warn", (line) => lines.push(line));
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  assert.deepEqual(lines.map((line) => line.split(" ").slice(1).join(" ")), ["warn  w", "error e"]);
  assert.equal(await log.flush(10), true);
});

Deno.test("formatLogLine: time, level padded to 5, escaped message", () => {
  assert.equal(
    formatLogLine("info", "x\x07y", new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6))),
    "2026-01-02T03:04:05.006Z info  x\\u{7}y",
  );
});
