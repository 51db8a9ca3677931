import assert from "node:assert/strict";
import fc from "fast-check";
import { RecentMsgIds } from "./recent_msg_ids.ts";

/**
 * What the registry did before with a Map: look up, and on a miss remember
 * the msgId and forget the oldest past `limit`. Returns each lookup's answer.
 */
function withMap(limit: number, msgIds: number[]): (number | undefined)[] {
  const seen = new Map<number, number>();
  return msgIds.map((msgId, seq) => {
    const found = seen.get(msgId);
    if (found !== undefined) return found;
    seen.set(msgId, seq);
    if (seen.size > limit) seen.delete(seen.keys().next().value!);
    return undefined;
  });
}

function withRecent(limit: number, msgIds: number[]): (number | undefined)[] {
  const recent = new RecentMsgIds(limit);
  return msgIds.map((msgId, seq) => {
    const found = recent.get(msgId);
    if (found !== undefined) return found;
    recent.add(msgId, seq);
    assert.ok(recent.size <= limit);
    return undefined;
  });
}

Deno.test("RecentMsgIds: answers every lookup as a Map trimmed to the newest `limit` did", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 70 }),
      // Ids drawn from a pool of up to 100 (arbitrary u32s, so probe runs collide and wrap), so
      // repeats both hit and come back after being forgotten.
      fc.uniqueArray(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 1, maxLength: 100 }),
      fc.array(fc.nat(), { maxLength: 800 }),
      (limit, pool, picks) => {
        const msgIds = picks.map((pick) => pool[pick % pool.length]!);
        assert.deepEqual(withRecent(limit, msgIds), withMap(limit, msgIds));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("RecentMsgIds: 1024 remembered of many, the oldest forgotten first", () => {
  const recent = new RecentMsgIds(1_024);
  assert.equal(recent.get(1), undefined);
  for (let msgId = 1; msgId <= 5_000; msgId++) recent.add(msgId, msgId * 10);
  assert.equal(recent.size, 1_024);
  assert.equal(recent.get(5_000 - 1_024), undefined);
  for (let msgId = 5_000 - 1_023; msgId <= 5_000; msgId++) {
    assert.equal(recent.get(msgId), msgId * 10);
  }
});

Deno.test("RecentMsgIds: seqs past 2^32 are kept exactly", () => {
  const recent = new RecentMsgIds(4);
  recent.add(7, 2 ** 40 + 1);
  assert.equal(recent.get(7), 2 ** 40 + 1);
});

Deno.test("RecentMsgIds: limit must be 1-65535", () => {
  for (const limit of [0, 1.5, 65_536]) assert.throws(() => new RecentMsgIds(limit), RangeError);
});

Deno.test("RecentMsgIds: a final refusal is kept as minus its code, beside seqs", () => {
  const recent = new RecentMsgIds(4);
  recent.add(1, 0);
  recent.add(2, -410);
  recent.add(3, -413);
  assert.deepEqual([recent.get(1), recent.get(2), recent.get(3)], [0, -410, -413]);
});
