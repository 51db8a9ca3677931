/**
 * Published test vectors every {@linkcode CryptoProvider} must pass, as
 * Deno tests registered for one provider: RFC 7748 (X25519), RFC 8439
 * section 2.8.2 (ChaCha20-Poly1305), RFC 8032 section 7.1 tests 1 and 2
 * (Ed25519), RFC 4231 (HMAC-SHA-256) and FIPS 180-2 (SHA-256), plus the
 * provider contract (null on a bad tag, a throw on an all-zero X25519 secret).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { CryptoProvider } from "../protocol/sealed_types.ts";

/** Bytes of a hex string (spaces ignored). */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  return Uint8Array.from(digits.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

/** The hex string of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

const ascii = (text: string) => new TextEncoder().encode(text);

/** Registers the vector tests of `provider`. */
export function testProviderVectors(provider: CryptoProvider): void {
  const name = provider.name;

  Deno.test(`${name}: X25519 matches RFC 7748 sections 5.2 and 6.1`, () => {
    const scalar = hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
    const u = hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
    assert.equal(
      toHex(provider.x25519(scalar, u)),
      "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    );
    const alice = provider.x25519KeyPair(
      hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
    );
    const bob = provider.x25519KeyPair(
      hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"),
    );
    assert.equal(
      toHex(alice.publicKey),
      "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
    );
    assert.equal(
      toHex(bob.publicKey),
      "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
    );
    const shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
    assert.equal(toHex(provider.x25519(alice.privateKey, bob.publicKey)), shared);
    assert.equal(toHex(provider.x25519(bob.privateKey, alice.publicKey)), shared);
  });

  Deno.test(`${name}: X25519 throws on an all-zero secret; fresh key pairs agree`, () => {
    const ours = provider.x25519KeyPair();
    const theirs = provider.x25519KeyPair();
    assert.equal(ours.privateKey.length, 32);
    assert.notDeepEqual(ours.privateKey, theirs.privateKey);
    assert.deepEqual(
      provider.x25519(ours.privateKey, theirs.publicKey),
      provider.x25519(theirs.privateKey, ours.publicKey),
    );
    // Low-order points (the neutral element and a point of order 8) give zeros.
    for (const lowOrder of [new Uint8Array(32), hex("01".padEnd(64, "0")), ORDER_8_POINT]) {
      assert.throws(() => provider.x25519(ours.privateKey, lowOrder), /all zeros/);
    }
    assert.throws(() => provider.x25519(ours.privateKey, new Uint8Array(31)), RangeError);
  });

  Deno.test(`${name}: ChaCha20-Poly1305 matches RFC 8439 section 2.8.2`, () => {
    const key = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    const nonce = hex("070000004041424344454647");
    const ad = hex("50515253c0c1c2c3c4c5c6c7");
    const plaintext = ascii(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for " +
        "the future, sunscreen would be it.",
    );
    const sealed = provider.aeadSeal(key, nonce, plaintext, ad);
    assert.equal(toHex(sealed), RFC8439_SEALED);
    assert.deepEqual(provider.aeadOpen(key, nonce, sealed, ad), plaintext);
    for (const changed of [flip(sealed, 0), flip(sealed, sealed.length - 1)]) {
      assert.equal(provider.aeadOpen(key, nonce, changed, ad), null);
    }
    assert.equal(provider.aeadOpen(key, nonce, sealed, flip(ad, 3)), null);
    assert.equal(provider.aeadOpen(key, flip(nonce, 11), sealed, ad), null);
    assert.equal(provider.aeadOpen(key, nonce, sealed.subarray(0, 15), ad), null);
    const empty = provider.aeadSeal(key, nonce, new Uint8Array(0), new Uint8Array(0));
    assert.equal(empty.length, 16);
    assert.deepEqual(provider.aeadOpen(key, nonce, empty, new Uint8Array(0)), new Uint8Array(0));
  });

  Deno.test(`${name}: Ed25519 matches RFC 8032 section 7.1 tests 1 and 2`, async () => {
    for (const v of ED25519_VECTORS) {
      const signer = provider.ed25519Signer(hex(v.secret));
      assert.equal(toHex(signer.publicKey), v.publicKey);
      const message = hex(v.message);
      const signature = signer.sign(message);
      assert.equal(toHex(signature), v.signature);
      assert.equal(await provider.ed25519Verify(hex(v.publicKey), message, signature), true);
      const other = message.length > 0 ? flip(message, 0) : Uint8Array.of(0);
      assert.equal(await provider.ed25519Verify(hex(v.publicKey), other, signature), false);
      assert.equal(
        await provider.ed25519Verify(hex(v.publicKey), message, flip(signature, 9)),
        false,
      );
      assert.equal(
        await provider.ed25519Verify(hex(v.publicKey), message, signature.subarray(1)),
        false,
      );
    }
    const fresh = provider.ed25519Signer();
    const message = ascii("fresh");
    assert.equal(await provider.ed25519Verify(fresh.publicKey, message, fresh.sign(message)), true);
  });

  Deno.test(`${name}: HMAC-SHA-256 matches RFC 4231; SHA-256 matches FIPS 180-2`, () => {
    for (const v of HMAC_VECTORS) {
      assert.equal(toHex(provider.hmacSha256(v.key, v.data)), v.mac);
    }
    assert.equal(
      toHex(provider.sha256(ascii("abc"))),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    assert.equal(
      toHex(provider.sha256(new Uint8Array(0))),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });

  Deno.test(`${name}: randomBytes gives the size asked, and different bytes each time`, () => {
    assert.equal(provider.randomBytes(0).length, 0);
    const a = provider.randomBytes(32);
    assert.equal(a.length, 32);
    assert.notDeepEqual(a, provider.randomBytes(32));
  });
}

/** `bytes` with bit `bit` of byte `index` flipped (a copy). */
export function flip(bytes: Uint8Array, index: number, bit = 0): Uint8Array {
  const out = bytes.slice();
  out[index]! ^= 1 << bit;
  return out;
}

// A point of order 8 on Curve25519 (RFC 7748 implementations' low-order list).
const ORDER_8_POINT = hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");

const RFC8439_SEALED = "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
  "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
  "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
  "3ff4def08e4b7a9de576d26586cec64b6116" + "1ae10b594f09e26a7e902ecbd0600691";

const ED25519_VECTORS = [
  {
    secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555" +
      "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da" +
      "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
];

const HMAC_VECTORS = [
  { // test case 1
    key: new Uint8Array(20).fill(0x0b),
    data: ascii("Hi There"),
    mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  },
  { // test case 2
    key: ascii("Jefe"),
    data: ascii("what do ya want for nothing?"),
    mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  },
  { // test case 3
    key: new Uint8Array(20).fill(0xaa),
    data: new Uint8Array(50).fill(0xdd),
    mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
  },
  { // test case 6: a key longer than the block
    key: new Uint8Array(131).fill(0xaa),
    data: ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
    mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
  },
];
