/**
 * A stateless {@linkcode SealedSessionIssuer}: fresh random keys and session
 * id per admitted member, and the reset token the design derives from the
 * static key (docs/protocol.md section 6). It keeps nothing, so the TCRP
 * side works on its own; the sealed datagram front end brings the issuer
 * that also opens the member's UDP session (server.ts takes it in its hooks).
 *
 * @module
 */
import type {
  CryptoProvider,
  IssuedSession,
  SealedSessionIssuer,
} from "../protocol/sealed_types.ts";

const RESET_LABEL = new TextEncoder().encode("chat stateless reset v1");

/** Issues fresh random session keys; the reset token is HMAC-derived from the static key. */
export class RandomSessionIssuer implements SealedSessionIssuer {
  #crypto: CryptoProvider;
  #resetKey: Uint8Array;

  /** An issuer for the server whose static X25519 private key is `staticPrivateKey`. */
  constructor(crypto: CryptoProvider, staticPrivateKey: Uint8Array) {
    this.#crypto = crypto;
    this.#resetKey = crypto.hmacSha256(staticPrivateKey, RESET_LABEL);
  }

  /** A new session: 8 random id bytes, two fresh 32-byte keys, its reset token. */
  issue(_memberToken: Uint8Array, _roomName: string): IssuedSession {
    const crypto = this.#crypto;
    const sessionId = crypto.randomBytes(8);
    return {
      sessionId,
      clientKey: crypto.randomBytes(32),
      serverKey: crypto.randomBytes(32),
      resetToken: crypto.hmacSha256(this.#resetKey, sessionId).slice(0, 16),
    };
  }
}
