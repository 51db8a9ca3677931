/**
 * Room passwords already verified, so a class does not pay one scrypt
 * derivation per student: 31 students typing the same password at once cost
 * 31 derivations of 16 MiB and 50-100 ms each, one after another on a
 * two-core machine, and the last ones waited past the hash queue's 2 s.
 *
 * Once a password has been verified for a room's record, an HMAC-SHA-256 of
 * it (under a key drawn at startup, never stored) is kept beside that record
 * (a WeakMap entry, gone with the room). A later JOIN with the same password
 * matches the HMAC without a derivation, even one that queued before the
 * first check finished. Only a correct password is ever kept, one per room.
 *
 * The cost: someone who can read the server's memory can test guesses at
 * HMAC speed instead of scrypt speed, for rooms open now. Such a reader
 * already sees every password as it arrives, so little is lost.
 *
 * @module
 */
import { createHmac, randomBytes } from "node:crypto";
import { encodeUtf8 } from "../protocol/bytes.ts";
import type { PasswordRecord } from "./password.ts";

/** The correct password of each room record checked so far, as a keyed hash. */
export class VerifiedPasswords {
  #key = randomBytes(32);
  #known = new WeakMap<PasswordRecord, string>();

  /** Remembers that `password` is `record`'s password (call only after a successful verify). */
  remember(record: PasswordRecord, password: string): void {
    this.#known.set(record, this.#digest(password));
  }

  /** Whether `password` was verified for `record` before. False means "unknown", not "wrong". */
  matches(record: PasswordRecord, password: string): boolean {
    const known = this.#known.get(record);
    return known !== undefined && known === this.#digest(password);
  }

  #digest(password: string): string {
    // NFC, like the derivation (password.ts): the same password typed on another keyboard matches.
    return createHmac("sha256", this.#key).update(encodeUtf8(password.normalize("NFC")))
      .digest("base64");
  }
}
