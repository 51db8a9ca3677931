import assert from "node:assert/strict";
import type { SessionEvent } from "../../client/session.ts";
import { checkSenderOrder, type SenderRecord } from "./member.ts";

const shown = (name: string, text: string, seq: number): SessionEvent => ({
  type: "message",
  seq,
  time: new Date(0),
  name,
  text,
  replay: false,
});

Deno.test("checkSenderOrder: every pair in send order passes; missing ones must be reported undelivered", () => {
  const ann: SenderRecord = {
    name: "ann",
    sent: ["a1", "a2", "a3"],
    events: [
      shown("ann", "a1", 1),
      shown("bob", "b1", 2),
      shown("ann", "a3", 3),
      { type: "undelivered", msgId: 2, text: "a2" },
    ],
  };
  const bob: SenderRecord = {
    name: "bob",
    sent: ["b1", "b2"],
    events: [shown("bob", "b1", 2), shown("ann", "a1", 1), shown("ann", "a3", 3)],
  };
  const check = checkSenderOrder([ann, bob]);
  assert.deepEqual(
    [check.pairs, check.inOrder, check.outOfOrder, check.missingUnreported],
    [4, 4, 0, 2],
  );
  // b2 was shown to nobody and bob was not told: once for each receiver.
  assert.deepEqual(check.problems, ["2 never shown and not reported undelivered"]);
});

Deno.test("checkSenderOrder: a message shown before an earlier one of its sender, or twice, is out of order", () => {
  const ann: SenderRecord = {
    name: "ann",
    sent: ["a1", "a2", "a3"],
    events: [shown("ann", "a2", 1), shown("ann", "a1", 2), shown("ann", "a3", 3)],
  };
  const bob: SenderRecord = {
    name: "bob",
    sent: [],
    events: [
      shown("ann", "a1", 2),
      shown("ann", "a2", 1),
      shown("ann", "a2", 1),
      shown("ann", "a3", 3),
    ],
  };
  const check = checkSenderOrder([ann, bob]);
  assert.deepEqual([check.pairs, check.inOrder, check.outOfOrder], [4, 2, 2]);
  assert.deepEqual(check.problems, ["2 shown out of their sender's order"]);
});
