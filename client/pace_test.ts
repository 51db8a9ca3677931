import assert from "node:assert/strict";
import type { JoinAccepted } from "./connector.ts";
import { retrySpanMs } from "./outbox.ts";
import { paceOf } from "./pace.ts";
import { DEFAULT_TIMINGS } from "./session_options.ts";

const REVISION_1: JoinAccepted = {
  status: 200,
  udpPort: 9002,
  maxDatagramBytes: 4096,
  heartbeatSeconds: 10,
  idleTimeoutSeconds: 300,
};
const REVISION_2: JoinAccepted = {
  ...REVISION_1,
  protocol: 2,
  messageRate: 50,
  messageBurst: 100,
  messageWindow: 16,
  messageWindowBytes: 65_536,
  gapTimeoutSeconds: 5,
};

Deno.test("paceOf: a revision-1 server gets 20 a second, bursts of 40, no window, the session's retries", () => {
  assert.deepEqual(paceOf(REVISION_1, DEFAULT_TIMINGS), { rate: 20, burst: 40, window: Infinity });
});

Deno.test("paceOf: a revision-2 server's figures, and tries 625 ms apart for a 5 s gap timeout", () => {
  const pace = paceOf(REVISION_2, DEFAULT_TIMINGS);
  assert.deepEqual(pace, { rate: 50, burst: 100, window: 16, retryMaxMs: 625, sendTries: 33 });
  const before = retrySpanMs(300, 2_000, 12);
  assert.equal(before, 20_100);
  assert.ok(retrySpanMs(300, 625, 33) >= before && retrySpanMs(300, 625, 32) < before);
});

Deno.test("paceOf: a long gap timeout leaves the session's spacing; a zero one spaces at the base", () => {
  const long = paceOf({ ...REVISION_2, gapTimeoutSeconds: 60 }, DEFAULT_TIMINGS);
  assert.deepEqual([long.retryMaxMs, long.sendTries], [2_000, 12]);
  const none = paceOf({ ...REVISION_2, gapTimeoutSeconds: 0 }, DEFAULT_TIMINGS);
  assert.equal(none.retryMaxMs, 300);
  assert.ok(retrySpanMs(300, 300, none.sendTries!) >= 20_100);
});
