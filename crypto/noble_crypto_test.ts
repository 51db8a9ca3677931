import assert from "node:assert/strict";
import { nobleCrypto } from "./noble_crypto.ts";
import { testProviderVectors } from "./provider_vectors_test_util.ts";

testProviderVectors(nobleCrypto);

Deno.test("@noble: keys of the wrong size are a RangeError; a bad verify key verifies nothing", () => {
  const key = new Uint8Array(32);
  const nonce = new Uint8Array(12);
  const none = new Uint8Array(0);
  assert.throws(() => nobleCrypto.aeadSeal(key.subarray(1), nonce, none, none), RangeError);
  assert.throws(() => nobleCrypto.aeadSeal(key, nonce.subarray(1), none, none), RangeError);
  assert.throws(() => nobleCrypto.aeadOpen(key, new Uint8Array(8), key, none), RangeError);
  assert.throws(() => nobleCrypto.x25519KeyPair(new Uint8Array(33)), RangeError);
  assert.throws(() => nobleCrypto.x25519(key, new Uint8Array(33)), RangeError);
  assert.throws(() => nobleCrypto.ed25519Signer(new Uint8Array(16)), RangeError);
  assert.equal(nobleCrypto.ed25519Verify(new Uint8Array(31), none, new Uint8Array(64)), false);
  // Not a point on the curve (y = 2 has no x): false, not a throw.
  const offCurve = new Uint8Array(32);
  offCurve[0] = 2;
  assert.equal(nobleCrypto.ed25519Verify(offCurve, none, new Uint8Array(64)), false);
});

Deno.test("@noble: a signer keeps a copy of its seed", () => {
  const seed = new Uint8Array(32).fill(1);
  const signer = nobleCrypto.ed25519Signer(seed);
  const before = signer.sign(Uint8Array.of(1));
  seed.fill(2);
  assert.deepEqual(signer.sign(Uint8Array.of(1)), before);
});
