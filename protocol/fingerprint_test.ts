import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import {
  FINGERPRINT_PREFIX,
  FingerprintError,
  fingerprintOf,
  fingerprintText,
  formatFingerprint,
  parseFingerprint,
  sameFingerprint,
} from "./fingerprint.ts";

const sha256 = {
  sha256: (data: Uint8Array) => new Uint8Array(createHash("sha256").update(data).digest()),
};

Deno.test("a fingerprint is the whole SHA-256 of the key, as ssh writes one", () => {
  // sha256 of 32 zero bytes: 66687aad f862bd77 6c8fc18b 8e9f8e20 08971485 6ee233b3 902a591d 0d5f2925
  const text = fingerprintText(sha256, new Uint8Array(32));
  assert.equal(text, "SHA256:Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU");
  assert.equal(text.length, 7 + 43);
  assert.equal(fingerprintOf(sha256, new Uint8Array(32)).length, 32);
});

Deno.test("a fingerprint is taken only of a 32-byte key and written only of 32 bytes", () => {
  assert.throws(() => fingerprintOf(sha256, new Uint8Array(31)), FingerprintError);
  assert.throws(() => formatFingerprint(new Uint8Array(16)), FingerprintError);
});

Deno.test("format then parse is the identity for any 32 bytes, and parse then format too", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
      const text = formatFingerprint(bytes);
      assert.ok(text.startsWith(FINGERPRINT_PREFIX));
      assert.deepEqual(parseFingerprint(text), bytes);
      assert.equal(formatFingerprint(parseFingerprint(text)), text);
    }),
    { numRuns: 500 },
  );
});

Deno.test("parsing is strict: one spelling per fingerprint, anything else is refused", () => {
  const good = "SHA256:Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU";
  assert.deepEqual([...parseFingerprint(good)].slice(0, 4), [0x66, 0x68, 0x7a, 0xad]);
  const bad = [
    "", // empty
    "Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU", // no prefix
    "sha256:Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU", // prefix case
    "MD5:Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU",
    `${good}=`, // padding
    good.slice(0, -1), // truncated: never accepted
    "SHA256:Zmh6rfhivXdsj8GLjp-OIAiXFIVu4jOzkCpZHQ1fKSU", // base64url alphabet
    "SHA256:Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSV", // unused bits set: a second spelling
    "SHA256:Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKS ",
    " SHA256:Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU",
    "SHA256:Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fK\u202ESU",
  ];
  for (const text of bad) {
    assert.throws(() => parseFingerprint(text), FingerprintError, JSON.stringify(text));
  }
});

Deno.test("fingerprints are compared as whole bytes", () => {
  const a = new Uint8Array(32).fill(7);
  const b = a.slice();
  assert.equal(sameFingerprint(a, b), true);
  for (let i = 0; i < 32; i++) {
    const c = a.slice();
    c[i]! ^= 1;
    assert.equal(sameFingerprint(a, c), false, `byte ${i}`);
  }
  assert.equal(sameFingerprint(a, a.subarray(0, 16)), false);
});
