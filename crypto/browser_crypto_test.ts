import assert from "node:assert/strict";
import { browserCrypto } from "./browser_crypto.ts";
import { nobleCrypto } from "./noble_crypto.ts";
import { flip, testProviderVectors } from "./provider_vectors_test_util.ts";

// Both paths against the published vectors (RFC 8032 tests 1 and 2 for Ed25519 among them).
testProviderVectors(browserCrypto());
testProviderVectors(browserCrypto({ forceFallback: true }));

Deno.test("browser crypto: Deno's WebCrypto has Ed25519, so it is used; forced, @noble is", async () => {
  assert.equal(await browserCrypto().verifyPath(), "webcrypto");
  assert.equal(await browserCrypto({ forceFallback: true }).verifyPath(), "noble");
});

Deno.test("browser crypto: a WebCrypto without Ed25519, or one that verifies wrongly, is not used", async () => {
  const throwing = {
    importKey: () => Promise.reject(new DOMException("Unrecognized name", "NotSupportedError")),
  } as unknown as SubtleCrypto;
  const lying = {
    importKey: () => Promise.resolve({} as CryptoKey),
    verify: () => Promise.resolve(true), // says yes to everything, the flipped probe too
  } as unknown as SubtleCrypto;
  for (const subtle of [throwing, lying]) {
    const provider = browserCrypto({ subtle });
    assert.equal(await provider.verifyPath(), "noble");
    const signer = nobleCrypto.ed25519Signer();
    const message = Uint8Array.of(1, 2, 3);
    const signature = signer.sign(message);
    assert.equal(await provider.ed25519Verify(signer.publicKey, message, signature), true);
    assert.equal(
      await provider.ed25519Verify(signer.publicKey, message, flip(signature, 5)),
      false,
    );
  }
});

Deno.test("browser crypto: both paths agree on bad keys and bad signatures", async () => {
  const signer = nobleCrypto.ed25519Signer();
  const message = Uint8Array.of(7);
  const signature = signer.sign(message);
  const offCurve = new Uint8Array(32);
  offCurve[0] = 2; // y = 2 has no x
  for (const provider of [browserCrypto(), browserCrypto({ forceFallback: true })]) {
    assert.equal(await provider.ed25519Verify(offCurve, message, signature), false);
    assert.equal(
      await provider.ed25519Verify(signer.publicKey.subarray(1), message, signature),
      false,
    );
    assert.equal(
      await provider.ed25519Verify(signer.publicKey, message, signature.subarray(1)),
      false,
    );
    assert.equal(
      await provider.ed25519Verify(signer.publicKey, Uint8Array.of(8), signature),
      false,
    );
    assert.equal(await provider.ed25519Verify(signer.publicKey, message, signature), true);
  }
});

Deno.test("browser crypto: the fallback lets other tasks run while it verifies a long catch-up", async () => {
  const signer = nobleCrypto.ed25519Signer();
  const messages = Array.from({ length: 64 }, (_, i) => Uint8Array.of(i));
  const signatures = messages.map((m) => signer.sign(m));
  // A clock that says each verify took 3 ms: a yield every third verify at the 8 ms slice.
  let clock = 0;
  const provider = browserCrypto({ forceFallback: true, now: () => (clock += 1.5) });
  let ticks = 0;
  let running = true;
  const tick = () => {
    ticks++;
    if (running) setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  for (let i = 0; i < messages.length; i++) {
    assert.equal(
      await provider.ed25519Verify(signer.publicKey, messages[i]!, signatures[i]!),
      true,
    );
  }
  running = false;
  // Without the yields only microtasks would run between verifies: the timer would not tick at all.
  assert.ok(ticks >= 5, `the page got ${ticks} turns while 64 signatures were verified`);
  await new Promise((resolve) => setTimeout(resolve, 0)); // let the ticker stop
});

Deno.test("browser crypto: random bytes come from getRandomValues, in 64 KiB steps", () => {
  const real = crypto.getRandomValues;
  const sizes: number[] = [];
  crypto.getRandomValues = <T extends ArrayBufferView | null>(array: T): T => {
    sizes.push((array as unknown as Uint8Array).length);
    return real.call(crypto, array as unknown as Uint8Array) as unknown as T;
  };
  try {
    const provider = browserCrypto();
    assert.equal(provider.randomBytes(70_000).length, 70_000);
    assert.deepEqual(sizes, [65_536, 4_464]);
    provider.x25519KeyPair();
    provider.ed25519Signer();
    // Fresh keys take their 32 bytes from it too (@noble asks it for blinding bytes as well).
    assert.equal(sizes.slice(2).filter((size) => size === 32).length, 2);
  } finally {
    crypto.getRandomValues = real;
  }
});
