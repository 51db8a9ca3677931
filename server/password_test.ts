import assert from "node:assert/strict";
import { hashPassword, verifyPassword } from "./password.ts";

Deno.test("password: the right password verifies, a wrong one does not", async () => {
  const record = await hashPassword("correct horse");
  assert.equal(record.salt.length, 16);
  assert.equal(record.hash.length, 32);
  assert.equal(await verifyPassword("correct horse", record), true);
  assert.equal(await verifyPassword("correct hors", record), false);
  assert.equal(await verifyPassword("Correct horse", record), false);
  assert.equal(await verifyPassword("", record), false);
});

Deno.test("password: two hashes of one password differ (fresh salt) and both verify", async () => {
  const [a, b] = await Promise.all([hashPassword("s3cret"), hashPassword("s3cret")]);
  assert.notDeepEqual(a.salt, b.salt);
  assert.notDeepEqual(a.hash, b.hash);
  assert.equal(await verifyPassword("s3cret", a), true);
  assert.equal(await verifyPassword("s3cret", b), true);
});

Deno.test("password: Unicode normalization form does not matter", async () => {
  const record = await hashPassword("caf\u00e9"); // precomposed é
  assert.equal(await verifyPassword("cafe\u0301", record), true); // e + combining acute
});
