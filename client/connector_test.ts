/** keepFirstServerKey: the first key is judged by the given check, every later one by the first. */
import assert from "node:assert/strict";
import { ServerKeyMismatchError } from "../protocol/sealed_types.ts";
import { keepFirstServerKey } from "./connector.ts";

Deno.test("keepFirstServerKey: checks the first key, then holds every later one to it", async () => {
  const keyA = new Uint8Array(32).fill(0xaa);
  const keyB = new Uint8Array(32).fill(0xbb);
  const checked: Uint8Array[] = [];
  let refuseNext = true;
  const check = keepFirstServerKey((key) => {
    checked.push(key);
    if (refuseNext) {
      refuseNext = false;
      throw new ServerKeyMismatchError(keyB, key, "pinned another");
    }
  });
  await assert.rejects(Promise.resolve(check(keyA)), /pinned another/);
  await check(keyA); // a refused first check kept nothing: this is the first again
  await check(keyA);
  assert.deepEqual(checked, [keyA, keyA], "the kept key needs no pin store");
  const refused = await Promise.resolve(check(keyB)).then(() => null, (error) => error);
  assert.ok(refused instanceof ServerKeyMismatchError);
  assert.deepEqual(refused.expected, keyA);
  assert.deepEqual(refused.actual, keyB);
  assert.match(refused.message, new RegExp(`was ${"aa".repeat(32)}, now ${"bb".repeat(32)}`));
  assert.equal(checked.length, 2, "a changed key never reaches the pin store (nothing is pinned)");
});
