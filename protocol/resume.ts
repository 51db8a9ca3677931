/**
 * The resume ticket of a takeover (docs/protocol.md 7.4): a sealed JOIN_ROOM
 * may name the session a reloaded page had and prove it held that session's
 * client key, so that the new request continues the same membership (same
 * name, host role kept, nobody told) instead of meeting its own old name
 * (409). The page keeps the ticket, never the key.
 *
 * Pure: the MAC comes from the {@linkcode CryptoProvider} it is given, and
 * the JSON form is checked strictly.
 *
 * @module
 */
import { bytesToHex, concatBytes, encodeUtf8 } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
import { SESSION_ID_BYTES } from "./sealed_datagram.ts";
import type { CryptoProvider } from "./sealed_types.ts";

/** What the proof's MAC covers before the session id. */
export const RESUME_PROOF_LABEL = "chat resume v1";
/** A proof is an HMAC-SHA256: 32 bytes. */
export const RESUME_PROOF_BYTES = 32;

const LABEL_BYTES = encodeUtf8(RESUME_PROOF_LABEL);

/** The session a takeover continues, and the proof that the requester held its client key. */
export interface ResumeTicket {
  /** The old session's id (8 bytes). */
  sessionId: Uint8Array;
  /** {@linkcode resumeProof} of the old session (32 bytes). */
  proof: Uint8Array;
}

/**
 * HMAC-SHA256(key = the member's clientKey, data = UTF-8 "chat resume v1" ||
 * sessionId). Bound to the session id, so one session's proof resumes no
 * other; made with the client key, which only that session's client and the
 * server know.
 */
export function resumeProof(
  crypto: CryptoProvider,
  clientKey: Uint8Array,
  sessionId: Uint8Array,
): Uint8Array {
  if (clientKey.length !== 32) {
    throw new RangeError(`a client key is 32 bytes, got ${clientKey.length}`);
  }
  if (sessionId.length !== SESSION_ID_BYTES) {
    throw new RangeError(`a session id is ${SESSION_ID_BYTES} bytes, got ${sessionId.length}`);
  }
  return crypto.hmacSha256(clientKey, concatBytes(LABEL_BYTES, sessionId));
}

/** The ticket as the sealed request carries it: `{"session": "<16 hex>", "proof": "<64 hex>"}`. */
export function encodeResumeTicket(ticket: ResumeTicket): { session: string; proof: string } {
  if (ticket.sessionId.length !== SESSION_ID_BYTES || ticket.proof.length !== RESUME_PROOF_BYTES) {
    throw new RangeError(
      `a resume ticket is a ${SESSION_ID_BYTES}-byte session id and a ` +
        `${RESUME_PROOF_BYTES}-byte proof`,
    );
  }
  return { session: bytesToHex(ticket.sessionId), proof: bytesToHex(ticket.proof) };
}

/**
 * The request's `"resume"` value, strictly: an object with exactly
 * `"session"` (16 lowercase hex digits) and `"proof"` (64 lowercase hex
 * digits). Anything else is a 400 {@linkcode ProtocolError}.
 */
export function decodeResumeTicket(value: unknown): ResumeTicket {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError('"resume" must be an object with "session" and "proof"');
  }
  const fields = value as Record<string, unknown>;
  const extra = Object.keys(fields).find((key) => key !== "session" && key !== "proof");
  if (extra !== undefined) {
    throw new ProtocolError(`"resume" has an unknown field ${JSON.stringify(extra.slice(0, 40))}`);
  }
  return {
    sessionId: hexOf(fields.session, "session", SESSION_ID_BYTES),
    proof: hexOf(fields.proof, "proof", RESUME_PROOF_BYTES),
  };
}

function hexOf(value: unknown, field: string, size: number): Uint8Array {
  if (typeof value !== "string" || value.length !== size * 2 || !/^[0-9a-f]*$/.test(value)) {
    throw new ProtocolError(`"resume"."${field}" must be ${size * 2} lowercase hex digits`);
  }
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = parseInt(value.slice(i * 2, i * 2 + 2), 16);
  return out;
}
