/**
 * Room passwords, kept only as a salted scrypt hash. Both functions run the
 * key derivation off the event loop (node:crypto's async scrypt).
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { encodeUtf8 } from "../protocol/bytes.ts";

/** A salted hash; the password itself is never stored. */
export interface PasswordRecord {
  readonly salt: Uint8Array;
  readonly hash: Uint8Array;
}

// N=2^14, r=8: about 70 ms and 16 MiB per derivation on the reference machine.
const SCRYPT = { N: 16_384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_BYTES = 32;

function derive(password: string, salt: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    scrypt(encodeUtf8(password.normalize("NFC")), salt, KEY_BYTES, SCRYPT, (error, key) => {
      if (error) reject(error);
      else resolve(new Uint8Array(key));
    });
  });
}

/** Hashes a new room password with a fresh 16-byte salt. */
export async function hashPassword(password: string): Promise<PasswordRecord> {
  const salt = new Uint8Array(randomBytes(16));
  return { salt, hash: await derive(password, salt) };
}

/** Checks a password against a record in constant time. */
export async function verifyPassword(password: string, record: PasswordRecord): Promise<boolean> {
  const candidate = await derive(password, record.salt);
  return timingSafeEqual(candidate, record.hash);
}
