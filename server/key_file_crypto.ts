/**
 * The three primitives a key file needs (a random private key, its X25519
 * public half, SHA-256 for the fingerprint), from node:crypto: what
 * `chat serve` loads its key with. The full CryptoProvider of
 * crypto/node_crypto.ts gives the same answers and may replace it.
 *
 * @module
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import type { KeyFileCrypto } from "./key_file.ts";

/** PKCS #8 DER up to the 32 key bytes, for an X25519 private key (RFC 8410). */
const PKCS8_X25519_PREFIX = Uint8Array.from([
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20,
]);

/** node:crypto's X25519, randomness and SHA-256, as a {@linkcode KeyFileCrypto}. */
export const nodeKeyFileCrypto: KeyFileCrypto = {
  randomBytes(size: number): Uint8Array {
    return new Uint8Array(randomBytes(size));
  },
  x25519KeyPair(privateKey?: Uint8Array) {
    const secret = privateKey ?? new Uint8Array(randomBytes(32));
    if (secret.length !== 32) throw new RangeError("an X25519 private key is 32 bytes");
    const der = new Uint8Array(PKCS8_X25519_PREFIX.length + 32);
    der.set(PKCS8_X25519_PREFIX);
    der.set(secret, PKCS8_X25519_PREFIX.length);
    const key = createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
    // SubjectPublicKeyInfo DER ends with the 32 raw public key bytes.
    const spki = createPublicKey(key).export({ format: "der", type: "spki" });
    return {
      privateKey: secret.slice(),
      publicKey: new Uint8Array(spki.subarray(spki.length - 32)),
    };
  },
  sha256(data: Uint8Array): Uint8Array {
    return new Uint8Array(createHash("sha256").update(data).digest());
  },
};
