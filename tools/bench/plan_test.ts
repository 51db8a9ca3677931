import assert from "node:assert/strict";
import { planScenarios } from "./plan.ts";

const base = {
  procs: 1,
  io: "mmsg" as const,
  wsRelays: ["ours" as const, "deno" as const],
  ceiling: true,
};

Deno.test("planScenarios: the ws mode adds both WebSocket ceilings, 1 × 50, the mixed room and the stalled reader at the 1 × 50 run's rate", () => {
  const plan = planScenarios({ ...base, sealedModes: [], wsMode: true });
  assert.deepEqual(
    plan.map((p) => [p.target, p.transport, p.relayEngine, p.layout.stalled ?? 0]),
    [
      ["relay", "ws", "ours", 0],
      ["relay", "ws", "deno", 0],
      ["chat", "ws", undefined, 0],
      ["chat", "mixed", undefined, 0],
      ["chat", "ws", undefined, 1],
    ],
  );
  assert.equal(
    plan[4]!.stallBase,
    plan[2],
    "the stalled run compares with the plain WebSocket one",
  );
  assert.ok(plan.every((p) => p.layout.rooms === 1 && p.layout.members === 50 && p.start === 1000));
});

Deno.test("planScenarios: UDP modes keep their layouts and ceiling; a custom layout gets a WebSocket row and its ceilings", () => {
  const udp = planScenarios({ ...base, sealedModes: [false, true], wsMode: false });
  assert.equal(udp.length, 6);
  assert.ok(udp.every((p) => p.transport === undefined));
  const custom = planScenarios({
    ...base,
    custom: { rooms: 10, members: 10, senders: 1 },
    sealedModes: [true],
    wsMode: true,
  });
  assert.deepEqual(custom.map((p) => [p.target, p.transport ?? "udp"]), [
    ["relay", "udp"],
    ["chat", "udp"],
    ["relay", "ws"],
    ["relay", "ws"],
    ["chat", "ws"],
  ]);
});
