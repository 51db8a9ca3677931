import assert from "node:assert/strict";
import { CloseReason } from "../protocol/datagram.ts";
import {
  describeClose,
  formatEvent,
  formatEventJson,
  membersLine,
  nameColor,
  padCells,
  sanitize,
} from "./format.ts";
import type { SessionEvent } from "./session.ts";

const ESC = "\x1b";
// Local time, since lines show the reader's clock.
const TIME = new Date(2024, 0, 2, 9, 5, 30);
const PALETTE = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96];
// deno-lint-ignore no-control-regex
const ANY_CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/** One event of every type, each carrying hostile text where it has text. */
const HOSTILE = `evil${ESC}[2J${ESC}]0;pwned\x07\r\nline\x9b31m\x00end\x7f`;
const EVERY_EVENT: SessionEvent[] = [
  {
    type: "welcome",
    room: `r${ESC}[31m`,
    host: "h\r",
    members: ["a", `b${ESC}[1A`],
    rejoined: false,
  },
  { type: "message", seq: 1, time: TIME, name: `n${ESC}[0m`, text: HOSTILE, replay: false },
  { type: "rejoining", reason: `r${ESC}[2J`, timeoutMs: 1000 },
  { type: "reconnecting", reason: HOSTILE },
  { type: "reconnected" },
  { type: "joined", seq: 2, time: TIME, name: `j\n`, replay: true },
  { type: "left", seq: 3, time: TIME, name: `l\b`, replay: false },
  { type: "timedOut", seq: 4, time: TIME, name: `t${ESC}c`, replay: false },
  { type: "delivered", msgId: 1, seq: 5 },
  { type: "undelivered", msgId: 2, text: HOSTILE },
  { type: "missed", fromSeq: 6, toSeq: 9 },
  { type: "error", code: 429, text: HOSTILE },
  { type: "closed", reason: "lost", text: HOSTILE },
  { type: "closed", reason: CloseReason.HOST_LEFT, text: HOSTILE },
];

Deno.test("nameColor is stable per name, case-insensitive and from the palette", () => {
  const names = ["alice", "bob", "carol", "dave", "Eve", "émile", "李", "🙂", "", "x".repeat(32)];
  for (const name of names) {
    const color = nameColor(name);
    assert.ok(PALETTE.includes(color), `${name}: ${color}`);
    assert.equal(nameColor(name), color, "same name, same colour");
    assert.equal(nameColor(name.toUpperCase()), color, "case does not matter");
  }
  // Names spread over the palette rather than sharing one colour.
  const colors = new Set(Array.from({ length: 200 }, (_, i) => nameColor(`user${i}`)));
  assert.ok(colors.size >= 8, `only ${colors.size} colours used`);
});

Deno.test("an action (/me) is [hh:mm] * name text", () => {
  const line = formatEvent(
    { type: "message", seq: 7, time: TIME, name: "alice", text: "/me waves", replay: false },
    { color: false },
  );
  assert.equal(line, "[09:05] * alice waves");
});

Deno.test("padCells pads by display width", () => {
  assert.equal(padCells("日本", 6), "日本  ");
  assert.equal(padCells("abc", 2), "abc");
});

Deno.test("a message line is [hh:mm] name: text", () => {
  const line = formatEvent(
    { type: "message", seq: 7, time: TIME, name: "alice", text: "hi there", replay: false },
    { color: false },
  );
  assert.equal(line, "[09:05] alice: hi there");
});

Deno.test("with color, the name is in its own colour and nothing else leaks", () => {
  const line = formatEvent(
    { type: "message", seq: 7, time: TIME, name: "bob", text: "hi", replay: false },
    { color: true },
  );
  assert.equal(line, `[09:05] ${ESC}[${nameColor("bob")}m${"bob"}${ESC}[0m: hi`);
  const joined = formatEvent(
    { type: "joined", seq: 8, time: TIME, name: "bob", replay: false },
    { color: true },
  );
  assert.equal(joined, `${ESC}[2m[09:05] * bob joined${ESC}[0m`);
});

Deno.test("sanitize replaces every control character, escapes included", () => {
  assert.equal(sanitize("plain text, ünïcödé, 李, 🙂"), "plain text, ünïcödé, 李, 🙂");
  assert.equal(sanitize(`${ESC}[31mred${ESC}[0m`), "\uFFFD[31mred\uFFFD[0m");
  assert.equal(
    sanitize("a\r\nb\tc\bd\x00e\x7ff\x9b2J"),
    "a\uFFFD\uFFFDb    c\uFFFDd\uFFFDe\uFFFDf\uFFFD2J",
  );
  // Bidi controls cannot reorder the line; tabs show as spaces.
  assert.equal(sanitize("a\u202Eb\u2067c\u200Fd\u061Ce"), "a\uFFFDb\uFFFDc\uFFFDd\uFFFDe");
  for (let code = 0; code < 0xa0; code++) {
    const char = String.fromCharCode(code);
    const isControl = code < 0x20 || (code >= 0x7f && code < 0xa0);
    const shown = code === 9 ? "    " : isControl ? "\uFFFD" : char; // a tab shows as spaces
    assert.equal(sanitize(char), shown, `U+${code.toString(16)}`);
  }
});

Deno.test("no event line carries a peer's control characters, with or without color", () => {
  for (const event of EVERY_EVENT) {
    const plain = formatEvent(event, { color: false });
    if (event.type === "delivered") {
      assert.equal(plain, null, "delivered is not shown to a person");
      continue;
    }
    assert.equal(typeof plain, "string");
    assert.ok(!ANY_CONTROL.test(plain!), `${event.type}: ${JSON.stringify(plain)}`);
    assert.ok(!plain!.includes(ESC), `no ANSI without color: ${event.type}`);

    const colored = formatEvent(event, { color: true })!;
    // Only our own SGR sequences remain once they are taken out.
    // deno-lint-ignore no-control-regex
    const stripped = colored.replace(/\x1b\[\d+m/g, "");
    assert.equal(stripped, plain, `${event.type}: colour only adds SGR codes`);
    assert.ok(!ANY_CONTROL.test(stripped), `${event.type}: ${JSON.stringify(colored)}`);
  }
});

Deno.test("hostile text is shown, neutralised, not dropped", () => {
  const line = formatEvent(EVERY_EVENT[1]!, { color: false })!;
  assert.equal(
    line,
    "[09:05] n\uFFFD[0m: evil\uFFFD[2J\uFFFD]0;pwned\uFFFD\uFFFD\uFFFDline\uFFFD31m\uFFFDend\uFFFD",
  );
});

Deno.test("notices read well", () => {
  const f = (event: SessionEvent) => formatEvent(event, { color: false });
  assert.equal(
    f({
      type: "welcome",
      room: "lobby",
      host: "alice",
      members: ["alice", "bob"],
      rejoined: false,
    }),
    '* You are in "lobby" (host alice; here: alice, bob)',
  );
  assert.equal(
    f({ type: "left", seq: 3, time: TIME, name: "bob", replay: false }),
    "[09:05] * bob left",
  );
  assert.equal(
    f({ type: "timedOut", seq: 4, time: TIME, name: "bob", replay: false }),
    "[09:05] * bob timed out",
  );
  assert.equal(
    f({ type: "welcome", room: "lobby", host: "alice", members: ["alice"], rejoined: true }),
    '* Back in "lobby" (host alice; here: alice)',
  );
  assert.equal(
    f({
      type: "welcome",
      room: "lobby",
      host: "mallory",
      members: ["mallory", "ann"],
      rejoined: true,
      previousHost: "alice\u202e",
    }),
    '* Back in "lobby" (host mallory; here: mallory, ann)\n' +
      "* The host changed while you were away: it was alice\ufffd, it is now mallory.",
  );
  assert.equal(
    f({ type: "rejoining", reason: "the server shut down: bye", timeoutMs: 60_000 }),
    "* the server shut down: bye. Rejoining for up to 60 s; what you type meanwhile is sent" +
      " once back in.",
  );
  assert.equal(
    f({ type: "reconnecting", reason: "the connection to the server closed (1006)" }),
    "* the connection to the server closed (1006). Reconnecting; what you type meanwhile is" +
      " sent once back.",
  );
  assert.equal(f({ type: "reconnected" }), "* Reconnected");
  assert.equal(f({ type: "undelivered", msgId: 3, text: "hello" }), "! not delivered: hello");
  assert.equal(
    f({ type: "missed", fromSeq: 6, toSeq: 9 }),
    "* 4 earlier event(s) could not be recovered",
  );
  assert.equal(f({ type: "error", code: 429, text: "slow down" }), "! server: slow down");
  assert.equal(
    f({ type: "closed", reason: CloseReason.LEFT, text: "you left the room" }),
    "* You left the room.",
  );
  assert.equal(
    f({ type: "closed", reason: "lost", text: "timeout" }),
    "* Connection lost: timeout",
  );
  for (const reason of [1, 2, 3, 4, 5] as CloseReason[]) {
    assert.ok(describeClose(reason, "").length > 0);
  }
});

Deno.test("formatEventJson writes one JSON line with every field and an ISO time", () => {
  for (const event of EVERY_EVENT) {
    const line = formatEventJson(event);
    assert.ok(!line.includes("\n"), "one line");
    assert.ok(!ANY_CONTROL.test(line), `${event.type}: JSON escapes control characters`);
    const parsed = JSON.parse(line);
    if ("time" in event) {
      assert.deepEqual(parsed, { ...event, time: TIME.toISOString() });
    } else {
      assert.deepEqual(parsed, event);
    }
  }
  assert.equal(
    formatEventJson({
      type: "message",
      seq: 1,
      time: new Date(0),
      name: "a",
      text: "b",
      replay: true,
    }),
    '{"type":"message","seq":1,"time":"1970-01-01T00:00:00.000Z","name":"a","text":"b","replay":true}',
  );
});

Deno.test("sanitize also replaces zero-width characters and line separators, but keeps joiners that join", () => {
  for (const hidden of ["\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF", "\u2028", "\u2029"]) {
    assert.equal(sanitize(`a${hidden}nn`), "a\uFFFDnn", `U+${hidden.charCodeAt(0).toString(16)}`);
  }
  const family = "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}";
  assert.equal(sanitize(`${family} family`), `${family} family`);
  assert.equal(sanitize("می\u200Cخواهم"), "می\u200Cخواهم");
});

Deno.test("server texts in every line are made safe: names, hosts, members, errors, close reasons", () => {
  const evil = "X\u202Ey\u200Bz\x1b[2J";
  const safe = "X\uFFFDy\uFFFDz\uFFFD[2J";
  const time = new Date(2026, 11, 2, 9, 5);
  const events: SessionEvent[] = [
    { type: "welcome", room: evil, host: evil, members: [evil, "bob"], rejoined: false },
    { type: "message", seq: 1, time, name: evil, text: evil, replay: false },
    { type: "error", code: 400, text: evil },
    { type: "closed", reason: CloseReason.HOST_LEFT, text: evil },
    { type: "closed", reason: "lost", text: evil },
    { type: "rejoining", reason: evil, timeoutMs: 60_000 },
  ];
  for (const event of events) {
    const line = formatEvent(event, { color: false })!;
    assert.ok(line.includes(safe), `${event.type}: ${JSON.stringify(line)}`);
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(line, /[\u202E\u200B\x1b]/, event.type);
  }
  assert.equal(describeClose("lost", evil), `Connection lost: ${safe}`);
});

Deno.test("formatEventJson writes bidi and zero-width characters as escapes: the same text, nothing raw", () => {
  const text = "a\u202Eb\u200Bc\u2066d\u200De";
  const line = formatEventJson({ type: "error", code: 400, text });
  assert.match(line, /a\\u202eb\\u200bc\\u2066d\\u200de/);
  assert.equal(JSON.parse(line).text, text);
});

Deno.test("/members in line mode: names made safe, the host marked", () => {
  assert.equal(membersLine(["ann", "bob"], "ann"), "2 here: ann (host), bob");
  assert.equal(
    membersLine(["ann", "b\x1b]0;x\x07ob\u202E"], "ann"),
    "2 here: ann (host), b\uFFFD]0;x\uFFFDob\uFFFD",
  );
});
