/**
 * A server's fingerprint: the whole SHA-256 of its 32-byte static X25519
 * public key, written as ssh writes one, "SHA256:" and the 32 bytes in
 * standard base64 without padding (43 characters). Never truncated; two
 * fingerprints are the same when their 32 bytes are (docs/protocol.md 6.4).
 * Pure: the hash comes from the caller's CryptoProvider.
 *
 * @module
 */
import { sameBytes } from "./bytes.ts";
import type { CryptoProvider } from "./sealed_types.ts";

/** What every written fingerprint starts with. */
export const FINGERPRINT_PREFIX = "SHA256:";
/** Bytes of a fingerprint (a whole SHA-256). */
export const FINGERPRINT_BYTES = 32;
/** Bytes of the public key a fingerprint is taken of. */
export const SERVER_KEY_BYTES = 32;

/** The length of a written fingerprint: the prefix and 43 base64 characters. */
const WRITTEN_LENGTH = FINGERPRINT_PREFIX.length + 43;
const BASE64 = /^[A-Za-z0-9+/]{43}$/;

/** A fingerprint that is not one: wrong prefix, length, alphabet or bits. */
export class FingerprintError extends Error {
  /** `message` says what was expected. */
  constructor(message: string) {
    super(message);
    this.name = "FingerprintError";
  }
}

/** The 32 fingerprint bytes of a 32-byte public key. */
export function fingerprintOf(
  crypto: Pick<CryptoProvider, "sha256">,
  publicKey: Uint8Array,
): Uint8Array {
  if (publicKey.length !== SERVER_KEY_BYTES) {
    throw new FingerprintError(
      `a server key is ${SERVER_KEY_BYTES} bytes, not ${publicKey.length}`,
    );
  }
  return crypto.sha256(publicKey);
}

/** "SHA256:" and the 32 bytes in unpadded standard base64. */
export function formatFingerprint(fingerprint: Uint8Array): string {
  if (fingerprint.length !== FINGERPRINT_BYTES) {
    throw new FingerprintError(
      `a fingerprint is ${FINGERPRINT_BYTES} bytes, not ${fingerprint.length}`,
    );
  }
  return FINGERPRINT_PREFIX + btoa(String.fromCharCode(...fingerprint)).replace(/=+$/, "");
}

/** The written fingerprint of a public key. */
export function fingerprintText(
  crypto: Pick<CryptoProvider, "sha256">,
  publicKey: Uint8Array,
): string {
  return formatFingerprint(fingerprintOf(crypto, publicKey));
}

/**
 * The 32 bytes of a written fingerprint. Strict, so one fingerprint has one
 * spelling: exactly "SHA256:" (that case), then 43 characters of standard
 * base64 (no padding, no "-" or "_", no spaces), whose last character leaves
 * the 2 unused bits zero. Throws {@linkcode FingerprintError} otherwise.
 */
export function parseFingerprint(text: string): Uint8Array {
  const expected = `expected ${FINGERPRINT_PREFIX} and 43 base64 characters ` +
    `(as chat prints it: ${FINGERPRINT_PREFIX}47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU)`;
  if (!text.startsWith(FINGERPRINT_PREFIX) || text.length !== WRITTEN_LENGTH) {
    throw new FingerprintError(`not a server fingerprint; ${expected}`);
  }
  const digits = text.slice(FINGERPRINT_PREFIX.length);
  if (!BASE64.test(digits)) {
    throw new FingerprintError(`a fingerprint has a character outside base64; ${expected}`);
  }
  const binary = atob(`${digits}=`);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  // atob ignores the unused low bits of the last character: a second spelling.
  if (formatFingerprint(bytes) !== text) {
    throw new FingerprintError(
      `not a canonical fingerprint (its last character is wrong); ${expected}`,
    );
  }
  return bytes;
}

/** True when both are the same 32 bytes (compared in full, in constant time for equal lengths). */
export function sameFingerprint(a: Uint8Array, b: Uint8Array): boolean {
  return sameBytes(a, b);
}
