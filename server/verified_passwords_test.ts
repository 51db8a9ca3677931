import assert from "node:assert/strict";
import type { PasswordRecord } from "./password.ts";
import { VerifiedPasswords } from "./verified_passwords.ts";

const record = (): PasswordRecord => ({ salt: new Uint8Array(16), hash: new Uint8Array(32) });

Deno.test("VerifiedPasswords: matches only the remembered password of that record", () => {
  const verified = new VerifiedPasswords();
  const staff = record();
  const other = record();
  assert.equal(verified.matches(staff, "s3cret"), false, "nothing is known at first");
  verified.remember(staff, "s3cret");
  assert.equal(verified.matches(staff, "s3cret"), true);
  assert.equal(verified.matches(staff, "S3cret"), false);
  assert.equal(verified.matches(other, "s3cret"), false, "per record, not per password");
  // The same normalization as the derivation: é composed or decomposed is one password.
  verified.remember(other, "caf\u00e9");
  assert.equal(verified.matches(other, "cafe\u0301"), true);
});
