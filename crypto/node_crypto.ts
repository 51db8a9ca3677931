/**
 * The {@linkcode CryptoProvider} the server and the Deno clients use:
 * every primitive comes from node:crypto (OpenSSL under Deno), none is
 * written here. Raw 32-byte X25519 and Ed25519 keys become KeyObjects through
 * the fixed PKCS#8 and SPKI DER prefixes of RFC 8410.
 *
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
  randomFillSync,
  sign,
  verify,
} from "node:crypto";
import { Buffer } from "node:buffer";
import type { CryptoProvider, Ed25519Signer, X25519KeyPair } from "../protocol/sealed_types.ts";

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ALL_ZERO_SECRET = "X25519 shared secret is all zeros (a low-order public key)";

// RFC 8410 DER wrappers: these prefixes followed by the 32 raw key bytes.
const X25519_PKCS8 = fromHex("302e020100300506032b656e04220420");
const X25519_SPKI = fromHex("302a300506032b656e032100");
const ED25519_PKCS8 = fromHex("302e020100300506032b657004220420");
const ED25519_SPKI = fromHex("302a300506032b6570032100");

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, (byte) => parseInt(byte, 16));
}

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) {
    throw new RangeError(`${what} must be ${length} bytes, not ${bytes.length}`);
  }
}

function der(prefix: Uint8Array, raw: Uint8Array, what: string): Buffer {
  checkLength(raw, KEY_BYTES, what);
  const out = Buffer.alloc(prefix.length + KEY_BYTES);
  out.set(prefix);
  out.set(raw, prefix.length);
  return out;
}

function privateKeyOf(prefix: Uint8Array, raw: Uint8Array, what: string): KeyObject {
  return createPrivateKey({ key: der(prefix, raw, what), format: "der", type: "pkcs8" });
}

function publicKeyOf(prefix: Uint8Array, raw: Uint8Array, what: string): KeyObject {
  return createPublicKey({ key: der(prefix, raw, what), format: "der", type: "spki" });
}

/** The 32 raw bytes of a public key: the tail of its SPKI encoding. */
function rawPublicKey(key: KeyObject): Uint8Array {
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  return new Uint8Array(spki.subarray(spki.length - KEY_BYTES));
}

/**
 * A signing key's public half is parsed once per distinct array: a client
 * verifies every room datagram with the same key. Keyed by identity, and the
 * bytes are compared on a hit, so an array changed in place is not trusted.
 */
const verifyKeys = new WeakMap<Uint8Array, { bytes: Uint8Array; key: KeyObject }>();

function verifyKeyOf(publicKey: Uint8Array): KeyObject {
  const cached = verifyKeys.get(publicKey);
  if (cached && cached.bytes.every((byte, i) => byte === publicKey[i])) return cached.key;
  const key = publicKeyOf(ED25519_SPKI, publicKey, "Ed25519 public key");
  verifyKeys.set(publicKey, { bytes: publicKey.slice(), key });
  return key;
}

class NodeEd25519Signer implements Ed25519Signer {
  readonly publicKey: Uint8Array;
  #key: KeyObject; // parsed once: signing is on the server's hot path

  constructor(seed: Uint8Array) {
    this.#key = privateKeyOf(ED25519_PKCS8, seed, "Ed25519 seed");
    this.publicKey = rawPublicKey(this.#key);
  }

  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, message, this.#key));
  }
}

function randomBytes(size: number): Uint8Array {
  return randomFillSync(new Uint8Array(size));
}

/** ChaCha20-Poly1305, X25519, Ed25519, SHA-256 and HMAC from node:crypto. */
export const nodeCrypto: CryptoProvider = {
  name: "node:crypto",

  randomBytes,

  x25519KeyPair(privateKey?: Uint8Array): X25519KeyPair {
    const raw = privateKey?.slice() ?? randomBytes(KEY_BYTES);
    const key = privateKeyOf(X25519_PKCS8, raw, "X25519 private key");
    return { privateKey: raw, publicKey: rawPublicKey(key) };
  },

  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    const pair = {
      privateKey: privateKeyOf(X25519_PKCS8, privateKey, "X25519 private key"),
      publicKey: publicKeyOf(X25519_SPKI, publicKey, "X25519 public key"),
    };
    let shared: Uint8Array;
    try {
      shared = new Uint8Array(diffieHellman(pair));
    } catch (cause) {
      // OpenSSL refuses to derive an all-zero secret; say so the way every provider does.
      throw new Error(ALL_ZERO_SECRET, { cause });
    }
    if (shared.every((byte) => byte === 0)) throw new Error(ALL_ZERO_SECRET);
    return shared;
  },

  sha256(data: Uint8Array): Uint8Array {
    return new Uint8Array(createHash("sha256").update(data).digest());
  },

  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
    return new Uint8Array(createHmac("sha256", key).update(data).digest());
  },

  aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
    checkLength(key, KEY_BYTES, "ChaCha20-Poly1305 key");
    checkLength(nonce, NONCE_BYTES, "ChaCha20-Poly1305 nonce");
    const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(ad, { plaintextLength: plaintext.length });
    const out = new Uint8Array(plaintext.length + TAG_BYTES);
    out.set(cipher.update(plaintext));
    cipher.final();
    out.set(cipher.getAuthTag(), plaintext.length);
    return out;
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
    const length = sealed.length - TAG_BYTES;
    const decipher = createDecipheriv("chacha20-poly1305", key, nonce, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAuthTag(sealed.subarray(length));
    decipher.setAAD(ad, { plaintextLength: length });
    const out = new Uint8Array(length);
    out.set(decipher.update(sealed.subarray(0, length)));
    try {
      decipher.final(); // throws when the tag does not verify
    } catch {
      return null;
    }
    return out;
  },

  ed25519Signer(seed?: Uint8Array): Ed25519Signer {
    return new NodeEd25519Signer(seed ?? randomBytes(KEY_BYTES));
  },

  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (signature.length !== 64) return false;
    try {
      return verify(null, message, verifyKeyOf(publicKey), signature);
    } catch {
      return false; // a public key that is not a curve point verifies nothing
    }
  },
};
