/**
 * The pure-JavaScript {@linkcode CryptoProvider}, for a browser (which has no
 * `crypto.subtle` on plain http) and for cross-checking node:crypto: every
 * primitive comes from the audited @noble libraries (@noble/curves for X25519
 * and Ed25519, @noble/ciphers for ChaCha20-Poly1305, @noble/hashes for
 * SHA-256 and HMAC), none is written here. Random bytes come from
 * `crypto.getRandomValues` through @noble/hashes.
 *
 * @module
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "@noble/hashes/utils.js";
import type { CryptoProvider, Ed25519Signer, X25519KeyPair } from "../protocol/sealed_types.ts";

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const SIGNATURE_BYTES = 64;
const ALL_ZERO_SECRET = "X25519 shared secret is all zeros (a low-order public key)";

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) {
    throw new RangeError(`${what} must be ${length} bytes, not ${bytes.length}`);
  }
}

class NobleEd25519Signer implements Ed25519Signer {
  readonly publicKey: Uint8Array;
  #seed: Uint8Array;

  constructor(seed: Uint8Array) {
    checkLength(seed, KEY_BYTES, "Ed25519 seed");
    this.#seed = seed.slice();
    this.publicKey = ed25519.getPublicKey(this.#seed);
  }

  sign(message: Uint8Array): Uint8Array {
    return ed25519.sign(message, this.#seed);
  }
}

/** ChaCha20-Poly1305, X25519, Ed25519, SHA-256 and HMAC from @noble. */
export const nobleCrypto: CryptoProvider = {
  name: "@noble",

  randomBytes(size: number): Uint8Array {
    return randomBytes(size);
  },

  x25519KeyPair(privateKey?: Uint8Array): X25519KeyPair {
    const raw = privateKey?.slice() ?? randomBytes(KEY_BYTES);
    checkLength(raw, KEY_BYTES, "X25519 private key");
    return { privateKey: raw, publicKey: x25519.getPublicKey(raw) };
  },

  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    checkLength(privateKey, KEY_BYTES, "X25519 private key");
    checkLength(publicKey, KEY_BYTES, "X25519 public key");
    let shared: Uint8Array;
    try {
      shared = x25519.getSharedSecret(privateKey, publicKey);
    } catch (cause) {
      // @noble refuses low-order points; say so the way every provider does.
      throw new Error(ALL_ZERO_SECRET, { cause });
    }
    if (shared.every((byte) => byte === 0)) throw new Error(ALL_ZERO_SECRET);
    return shared;
  },

  sha256(data: Uint8Array): Uint8Array {
    return sha256(data);
  },

  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
    return hmac(sha256, key, data);
  },

  aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
    checkLength(key, KEY_BYTES, "ChaCha20-Poly1305 key");
    checkLength(nonce, NONCE_BYTES, "ChaCha20-Poly1305 nonce");
    return chacha20poly1305(key, nonce, ad).encrypt(plaintext);
  },

  aeadOpen(
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    ad: Uint8Array,
  ): Uint8Array | null {
    checkLength(key, KEY_BYTES, "ChaCha20-Poly1305 key");
    checkLength(nonce, NONCE_BYTES, "ChaCha20-Poly1305 nonce");
    if (sealed.length < TAG_BYTES) return null;
    try {
      return chacha20poly1305(key, nonce, ad).decrypt(sealed);
    } catch {
      return null; // the tag does not verify
    }
  },

  ed25519Signer(seed?: Uint8Array): Ed25519Signer {
    return new NobleEd25519Signer(seed ?? randomBytes(KEY_BYTES));
  },

  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (signature.length !== SIGNATURE_BYTES || publicKey.length !== KEY_BYTES) return false;
    try {
      // Strict RFC 8032 / FIPS 186-5 rules, like OpenSSL, not ZIP-215's looser ones.
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false; // a public key that is not a curve point verifies nothing
    }
  },
};
