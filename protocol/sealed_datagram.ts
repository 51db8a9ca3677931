/**
 * Sealed datagrams (docs/protocol.md section 6): the member channel (one
 * member's keys, both directions), the room channel (EVENT bodies, sealed
 * once under the room's epoch key and signed once by the server) and the
 * stateless reset. Every sealed datagram starts with the marker 0x00, which
 * no plain client datagram does (its first byte is a room name size >= 1).
 *
 * The primitives come from an injected {@linkcode CryptoProvider}; this file
 * only lays out bytes. The ChaCha20-Poly1305 nonce is 4 zero bytes and the
 * explicit counter as u64 big-endian, and the clear header is the AEAD's
 * associated data, so no header byte can be changed without the open failing.
 *
 * @module
 */
import { ByteReader, ByteWriter, concatBytes, encodeUtf8, sameBytes } from "./bytes.ts";
import { MAX_DATAGRAM_BYTES } from "./datagram.ts";
import { ProtocolError } from "./errors.ts";
import type { CryptoProvider, Ed25519Signer } from "./sealed_types.ts";

export * from "./sealed_inner.ts";

/** First byte of every sealed datagram. */
export const SEALED_MARKER = 0x00;
/** Second byte: which kind of sealed datagram. */
export const SealedType = { MEMBER: 0x01, ROOM: 0x02, RESET: 0x03 } as const;

/** Names a member's session in the clear; public, authenticates nothing. */
export const SESSION_ID_BYTES = 8;
/** The Poly1305 tag after each ciphertext. */
export const TAG_BYTES = 16;
/** The Ed25519 signature that ends a room datagram. */
export const SIGNATURE_BYTES = 64;
/** A stateless reset token. */
export const RESET_TOKEN_BYTES = 16;
/** Marker, type, session id, counter. */
export const MEMBER_HEADER_BYTES = 18;
/** Marker, type, epoch, counter. */
export const ROOM_HEADER_BYTES = 14;
/** Marker, type, session id, token. */
export const RESET_DATAGRAM_BYTES = 26;
/** What sealing adds to a member inner body. */
export const MEMBER_OVERHEAD_BYTES = MEMBER_HEADER_BYTES + TAG_BYTES;
/** What sealing and signing add to a room inner body. */
export const ROOM_OVERHEAD_BYTES = ROOM_HEADER_BYTES + TAG_BYTES + SIGNATURE_BYTES;
/** The last counter a sender may use: then it closes (member channel) or rekeys (room). */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

const KEY_BYTES = 32;
const RESET_LABEL = encodeUtf8("chat stateless reset v1");

/** The clear header of a sealed datagram, read without any key. */
export type SealedHeader =
  | { type: "member"; sessionId: Uint8Array; counter: number }
  | { type: "room"; epoch: number; counter: number }
  | { type: "reset"; sessionId: Uint8Array; token: Uint8Array };

/** Whether a datagram is sealed (starts with the marker) rather than plain. */
export function isSealedDatagram(bytes: Uint8Array): boolean {
  return bytes[0] === SEALED_MARKER;
}

/**
 * Reads the clear header, without any crypto, so a receiver can find the
 * session or epoch and check the replay window before spending an open.
 * The byte arrays it returns are copies. A datagram too short for its type
 * (header, tag and signature counted), of an unknown type, with a counter
 * above {@linkcode MAX_COUNTER} or a reset of the wrong length is a 400
 * {@linkcode ProtocolError}; one over 4096 bytes is a 413.
 */
export function peekSealedHeader(bytes: Uint8Array): SealedHeader {
  if (bytes.length > MAX_DATAGRAM_BYTES) {
    throw new ProtocolError(`datagram of ${bytes.length} bytes is over ${MAX_DATAGRAM_BYTES}`, 413);
  }
  const r = new ByteReader(bytes, "sealed datagram");
  if (r.u8("marker") !== SEALED_MARKER) throw new ProtocolError("not a sealed datagram");
  const type = r.u8("type");
  switch (type) {
    case SealedType.MEMBER: {
      atLeast(bytes, MEMBER_OVERHEAD_BYTES, "member");
      const sessionId = r.bytes(SESSION_ID_BYTES, "sessionId").slice();
      return { type: "member", sessionId, counter: r.u64("counter") };
    }
    case SealedType.ROOM: {
      atLeast(bytes, ROOM_OVERHEAD_BYTES, "room");
      const epoch = r.u32("epoch");
      return { type: "room", epoch, counter: r.u64("counter") };
    }
    case SealedType.RESET: {
      if (bytes.length !== RESET_DATAGRAM_BYTES) {
        throw new ProtocolError(`a reset datagram is ${RESET_DATAGRAM_BYTES} bytes`);
      }
      const sessionId = r.bytes(SESSION_ID_BYTES, "sessionId").slice();
      return { type: "reset", sessionId, token: r.bytes(RESET_TOKEN_BYTES, "token").slice() };
    }
    default:
      throw new ProtocolError(`unknown sealed datagram type 0x${type.toString(16)}`);
  }
}

function atLeast(bytes: Uint8Array, size: number, what: string): void {
  if (bytes.length < size) {
    throw new ProtocolError(`a sealed ${what} datagram of ${bytes.length} bytes is under ${size}`);
  }
}

/** The ChaCha20-Poly1305 nonce of a datagram: 4 zero bytes || counter as u64 big-endian. */
export function datagramNonce(counter: number): Uint8Array {
  checkCounter(counter);
  return new ByteWriter(12).u32(0).u64(counter).finish();
}

function checkCounter(counter: number): void {
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new RangeError(`counter ${counter} is not an integer from 0 to ${MAX_COUNTER}`);
  }
}

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) {
    throw new RangeError(`${what} must be ${length} bytes, not ${bytes.length}`);
  }
}

function checkSize(size: number): void {
  if (size > MAX_DATAGRAM_BYTES) {
    throw new RangeError(`sealed datagram of ${size} bytes is over ${MAX_DATAGRAM_BYTES}`);
  }
}

/**
 * Seals one member-channel datagram with that direction's key. The counter
 * must not have been used with this key before: the caller's counter only
 * grows. Throws RangeError when it would be over 4096 bytes.
 */
export function sealMemberDatagram(
  crypto: CryptoProvider,
  o: { key: Uint8Array; sessionId: Uint8Array; counter: number; inner: Uint8Array },
): Uint8Array {
  checkLength(o.key, KEY_BYTES, "member key");
  checkLength(o.sessionId, SESSION_ID_BYTES, "session id");
  checkSize(MEMBER_OVERHEAD_BYTES + o.inner.length);
  const header = new ByteWriter(MEMBER_HEADER_BYTES).u8(SEALED_MARKER).u8(SealedType.MEMBER)
    .bytes(o.sessionId).u64(o.counter).finish();
  const sealed = crypto.aeadSeal(o.key, datagramNonce(o.counter), o.inner, header);
  return concatBytes(header, sealed);
}

/**
 * The inner body of a member datagram, or null when it is not a well-formed
 * member datagram or does not open under `key` (forged, changed, or for
 * another key). The replay window is the caller's.
 */
export function openMemberDatagram(
  crypto: CryptoProvider,
  key: Uint8Array,
  bytes: Uint8Array,
): Uint8Array | null {
  const header = peekOrNull(bytes);
  if (header?.type !== "member") return null;
  return crypto.aeadOpen(
    key,
    datagramNonce(header.counter),
    bytes.subarray(MEMBER_HEADER_BYTES),
    bytes.subarray(0, MEMBER_HEADER_BYTES),
  );
}

/**
 * Seals a room datagram under the epoch key and signs header and ciphertext
 * with the server's Ed25519 key, so members, who all hold the epoch key,
 * cannot forge events for each other. The counter is the room's, which never
 * repeats across epochs. Throws RangeError when it would be over 4096 bytes.
 */
export function sealRoomDatagram(
  crypto: CryptoProvider,
  o: { key: Uint8Array; epoch: number; counter: number; inner: Uint8Array; signer: Ed25519Signer },
): Uint8Array {
  checkLength(o.key, KEY_BYTES, "epoch key");
  if (!Number.isInteger(o.epoch) || o.epoch < 0 || o.epoch > 0xffff_ffff) {
    throw new RangeError(`epoch ${o.epoch} is not a u32`);
  }
  checkSize(ROOM_OVERHEAD_BYTES + o.inner.length);
  const header = new ByteWriter(ROOM_HEADER_BYTES).u8(SEALED_MARKER).u8(SealedType.ROOM)
    .u32(o.epoch).u64(o.counter).finish();
  const signed = concatBytes(
    header,
    crypto.aeadSeal(o.key, datagramNonce(o.counter), o.inner, header),
  );
  return concatBytes(signed, o.signer.sign(signed));
}

/**
 * Whether a room datagram carries the server's signature over everything
 * before it. Check it before opening. False for anything that is not a
 * well-formed room datagram. A promise when the provider verifies
 * asynchronously (WebCrypto).
 */
export function verifyRoomDatagram(
  crypto: CryptoProvider,
  signingKey: Uint8Array,
  bytes: Uint8Array,
): boolean | Promise<boolean> {
  if (peekOrNull(bytes)?.type !== "room") return false;
  const end = bytes.length - SIGNATURE_BYTES;
  return crypto.ed25519Verify(signingKey, bytes.subarray(0, end), bytes.subarray(end));
}

/**
 * The inner body (a plain EVENT datagram) of a room datagram, or null when
 * it is not well-formed or does not open under `key`. It does not check the
 * signature: {@linkcode verifyRoomDatagram} does.
 */
export function openRoomDatagram(
  crypto: CryptoProvider,
  key: Uint8Array,
  bytes: Uint8Array,
): Uint8Array | null {
  const header = peekOrNull(bytes);
  if (header?.type !== "room") return null;
  return crypto.aeadOpen(
    key,
    datagramNonce(header.counter),
    bytes.subarray(ROOM_HEADER_BYTES, bytes.length - SIGNATURE_BYTES),
    bytes.subarray(0, ROOM_HEADER_BYTES),
  );
}

function peekOrNull(bytes: Uint8Array): SealedHeader | null {
  try {
    return peekSealedHeader(bytes);
  } catch (error) {
    if (error instanceof ProtocolError) return null;
    throw error;
  }
}

/** A stateless reset: tells a client the server no longer knows its session. */
export function encodeResetDatagram(sessionId: Uint8Array, token: Uint8Array): Uint8Array {
  checkLength(sessionId, SESSION_ID_BYTES, "session id");
  checkLength(token, RESET_TOKEN_BYTES, "reset token");
  return new ByteWriter(RESET_DATAGRAM_BYTES).u8(SEALED_MARKER).u8(SealedType.RESET)
    .bytes(sessionId).bytes(token).finish();
}

/**
 * The reset token of a session (RFC 9000 section 10.3): the first 16 bytes
 * of HMAC-SHA256(resetKey, sessionId), resetKey = HMAC-SHA256(static private
 * key, "chat stateless reset v1"). Only the holder of the static key can
 * compute it, and a restarted server with the same key computes the same one.
 */
export function resetTokenOf(
  crypto: CryptoProvider,
  staticPrivateKey: Uint8Array,
  sessionId: Uint8Array,
): Uint8Array {
  const resetKey = crypto.hmacSha256(staticPrivateKey, RESET_LABEL);
  return crypto.hmacSha256(resetKey, sessionId).slice(0, RESET_TOKEN_BYTES);
}

// Reset tokens are compared with it; callers of the sealed codecs find it here.
export { sameBytes };
