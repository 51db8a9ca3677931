/**
 * The `--json` schema, field by field: what the README's table promises a
 * bot author for every event type.
 */
import assert from "node:assert/strict";
import { CloseReason } from "../protocol/datagram.ts";
import { CLOSED_REASONS, closedReasonName, jsonLine } from "./json_events.ts";
import type { SessionEvent } from "./session.ts";

const TIME = new Date(Date.UTC(2026, 10, 24, 14, 2, 11));
const ISO = "2026-11-24T14:02:11.000Z";

Deno.test("--json: every event type's object, exactly", () => {
  const cases: [SessionEvent | Parameters<typeof jsonLine>[0], Record<string, unknown>][] = [
    [
      { type: "welcome", room: "r", host: "ann", members: ["ann", "bob"], rejoined: false },
      { type: "welcome", room: "r", host: "ann", members: ["ann", "bob"], rejoined: false },
    ],
    [
      { type: "message", seq: 7, time: TIME, name: "ann", text: "hi", replay: false },
      { type: "message", seq: 7, time: ISO, name: "ann", text: "hi", replay: false },
    ],
    [
      { type: "joined", seq: 1, time: TIME, name: "bob", replay: true },
      { type: "joined", seq: 1, time: ISO, name: "bob", replay: true },
    ],
    [
      { type: "left", seq: 2, time: TIME, name: "bob", replay: false },
      { type: "left", seq: 2, time: ISO, name: "bob", replay: false },
    ],
    [
      { type: "timedOut", seq: 3, time: TIME, name: "bob", replay: false },
      { type: "timedOut", seq: 3, time: ISO, name: "bob", replay: false },
    ],
    [{ type: "delivered", msgId: 4, seq: 9 }, { type: "delivered", msgId: 4, seq: 9 }],
    [
      { type: "undelivered", msgId: 5, text: "lost" },
      { type: "undelivered", msgId: 5, text: "lost" },
    ],
    [
      { type: "undelivered", msgId: null, text: "never sent" },
      { type: "undelivered", msgId: null, text: "never sent" },
    ],
    [{ type: "missed", fromSeq: 3, toSeq: 5 }, { type: "missed", fromSeq: 3, toSeq: 5 }],
    [
      { type: "error", code: 429, text: "rate limited" },
      { type: "error", code: 429, text: "rate limited" },
    ],
    [
      { type: "rejoining", reason: "the server shut down", timeoutMs: 60_000 },
      { type: "rejoining", reason: "the server shut down", timeoutMs: 60_000 },
    ],
    [
      { type: "idleWarning", removeInMs: 60_000 },
      { type: "idleWarning", removeInMs: 60_000 },
    ],
    [
      { type: "refused", code: 401, text: "wrong or missing password" },
      { type: "refused", code: 401, text: "wrong or missing password" },
    ],
    [
      {
        type: "closed",
        reason: CloseReason.HOST_LEFT,
        text: "the room was closed: its host ann left",
      },
      { type: "closed", reason: "hostLeft", text: "the room was closed: its host ann left" },
    ],
  ];
  for (const [event, expected] of cases) {
    const line = jsonLine(event);
    assert.ok(!line.includes("\n"), "one line");
    assert.deepEqual(JSON.parse(line), expected);
  }
});

Deno.test("--json: closed.reason is always a name from the documented set, never a number", () => {
  const reasons = [...Object.values(CloseReason), "lost" as const];
  const names = reasons.map(closedReasonName);
  assert.deepEqual(names, ["hostLeft", "idle", "timedOut", "shutdown", "left", "lost"]);
  assert.deepEqual([...names].sort(), [...CLOSED_REASONS].sort(), "each name used, once");
  for (const reason of reasons) {
    const value = JSON.parse(jsonLine({ type: "closed", reason, text: "t" }));
    assert.equal(typeof value.reason, "string");
    assert.ok((CLOSED_REASONS as readonly string[]).includes(value.reason));
  }
});

Deno.test("--json: texts are exact, with DEL and C1 controls escaped too", () => {
  const text = `quote " backslash \\ esc \x1b csi \x9b del \x7f é ✓`;
  const line = jsonLine({ type: "undelivered", msgId: 1, text });
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f]/);
  assert.match(line, /\\u009b/);
  assert.equal(JSON.parse(line).text, text);
});

Deno.test("--json: bidi, zero-width and separator characters are escaped too, the text kept exact", () => {
  const text = "ann\u202Egnp\u200B\u2028x";
  const line = jsonLine({ type: "error", code: 400, text });
  assert.ok(!/[\u202E\u200B\u2028]/.test(line), line);
  assert.equal(JSON.parse(line).text, text);
});
