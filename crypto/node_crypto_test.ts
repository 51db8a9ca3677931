import assert from "node:assert/strict";
import { nodeCrypto } from "./node_crypto.ts";
import { hex, testProviderVectors, toHex } from "./provider_vectors_test_util.ts";

testProviderVectors(nodeCrypto);

Deno.test("node:crypto: keys of the wrong size are a RangeError, not a silent truncation", () => {
  const key = new Uint8Array(32);
  const nonce = new Uint8Array(12);
  const none = new Uint8Array(0);
  assert.throws(() => nodeCrypto.aeadSeal(key.subarray(1), nonce, none, none), RangeError);
  assert.throws(() => nodeCrypto.aeadSeal(key, nonce.subarray(1), none, none), RangeError);
  assert.throws(() => nodeCrypto.aeadOpen(key, new Uint8Array(8), key, none), RangeError);
  assert.throws(() => nodeCrypto.x25519KeyPair(new Uint8Array(33)), RangeError);
  assert.throws(() => nodeCrypto.ed25519Signer(new Uint8Array(16)), RangeError);
  assert.equal(nodeCrypto.ed25519Verify(new Uint8Array(31), none, new Uint8Array(64)), false);
});

Deno.test("node:crypto: a verify key changed in place is parsed again, not served from cache", () => {
  const a = nodeCrypto.ed25519Signer(new Uint8Array(32).fill(1));
  const b = nodeCrypto.ed25519Signer(new Uint8Array(32).fill(2));
  const message = hex("01020304");
  const key = a.publicKey.slice();
  assert.equal(nodeCrypto.ed25519Verify(key, message, a.sign(message)), true);
  key.set(b.publicKey);
  assert.equal(nodeCrypto.ed25519Verify(key, message, a.sign(message)), false);
  assert.equal(nodeCrypto.ed25519Verify(key, message, b.sign(message)), true);
});

Deno.test("node:crypto: key pairs keep a copy of the private key they were given", () => {
  const secret = new Uint8Array(32).fill(9);
  const pair = nodeCrypto.x25519KeyPair(secret);
  secret.fill(0);
  assert.equal(toHex(pair.privateKey), "09".repeat(32));
});
