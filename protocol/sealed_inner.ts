/**
 * What a sealed datagram carries once opened (docs/protocol.md section 6).
 * Re-exported by sealed_datagram.ts, which is where callers import it from.
 *
 * Member channel, client to server: a plain client body (section 4.2: the
 * kind byte and what follows it, without room name or token), or
 * PATH_RESPONSE. Server to client: the plain ACK, CLOSED, ERROR, REFUSED and
 * HEARTBEAT_ACK datagrams as encodeServerDatagram writes them, or WELCOME
 * with the epoch key, KEY, PATH_CHALLENGE. Room channel: the plain EVENT
 * datagram, decoded with decodeServerDatagram.
 *
 * @module
 */
import { ByteReader, ByteWriter, encodeUtf8 } from "./bytes.ts";
import {
  type ClientBody,
  clientBodySize,
  decodeServerDatagram,
  MAX_DATAGRAM_BYTES,
  readClientBody,
  type ServerBody,
  ServerKind,
  writeClientBody,
} from "./datagram.ts";
import { ProtocolError } from "./errors.ts";

/** Inner kinds that exist only in sealed datagrams. */
export const SealedKind = {
  PATH_RESPONSE: 0x06,
  WELCOME: 0x80,
  KEY: 0x87,
  PATH_CHALLENGE: 0x89,
} as const;

/** A path challenge and its response. */
export const CHALLENGE_BYTES = 16;
/** A room epoch key. */
export const EPOCH_KEY_BYTES = 32;

// Largest inner body of a member datagram: 4096 minus header and tag.
const MAX_MEMBER_INNER_BYTES = MAX_DATAGRAM_BYTES - 34;

/** What a client seals on its member channel. */
export type SealedClientBody = ClientBody | { kind: "pathResponse"; challenge: Uint8Array };

/** Encodes a client inner body. Throws RangeError when it would not fit a sealed datagram. */
export function encodeSealedClientBody(body: SealedClientBody): Uint8Array {
  let out: Uint8Array;
  if (body.kind === "pathResponse") {
    checkLength(body.challenge, CHALLENGE_BYTES, "path challenge");
    out = new ByteWriter(1 + CHALLENGE_BYTES).u8(SealedKind.PATH_RESPONSE)
      .bytes(body.challenge).finish();
  } else {
    const text = body.kind === "message" ? encodeUtf8(body.text) : null;
    const w = new ByteWriter(clientBodySize(body, text));
    writeClientBody(w, body, text);
    out = w.finish();
  }
  if (out.length > MAX_MEMBER_INNER_BYTES) {
    throw new RangeError(`inner body of ${out.length} bytes is over ${MAX_MEMBER_INNER_BYTES}`);
  }
  return out;
}

/** Decodes a client inner body; malformed input is a 400 {@linkcode ProtocolError}. */
export function decodeSealedClientBody(bytes: Uint8Array): SealedClientBody {
  const r = new ByteReader(bytes, "sealed client datagram");
  const kind = r.u8("Kind");
  const body: SealedClientBody | null = kind === SealedKind.PATH_RESPONSE
    ? { kind: "pathResponse", challenge: r.bytes(CHALLENGE_BYTES, "challenge").slice() }
    : readClientBody(r, kind);
  if (body === null) throw new ProtocolError(`unknown sealed client kind 0x${hex(kind)}`);
  r.end();
  return body;
}

/** What the server says on a member channel. */
export type SealedServerControl =
  | {
    kind: "welcome";
    epoch: number;
    epochKey: Uint8Array;
    welcome: ServerBody & { kind: "welcome" };
  }
  | { kind: "key"; epoch: number; epochKey: Uint8Array }
  | { kind: "pathChallenge"; challenge: Uint8Array }
  | { kind: "body"; body: ServerBody }; // ACK, CLOSED, ERROR, REFUSED, heartbeatAck

// Plain server kinds that may travel on a member channel as they are; EVENT
// travels only on the room channel, and WELCOME only with its epoch key.
const PLAIN_ON_MEMBER_CHANNEL: ReadonlySet<number> = new Set([
  ServerKind.ACK,
  ServerKind.CLOSED,
  ServerKind.ERROR,
  ServerKind.REFUSED,
  ServerKind.HEARTBEAT_ACK,
]);

/**
 * Decodes a server inner body of the member channel; malformed input, and a
 * kind that does not belong on that channel (EVENT, plain WELCOME), is a 400
 * {@linkcode ProtocolError}. Keys and challenges are copies.
 */
export function decodeSealedServerInner(bytes: Uint8Array): SealedServerControl {
  const r = new ByteReader(bytes, "sealed server datagram");
  const kind = r.u8("Kind");
  switch (kind) {
    case SealedKind.WELCOME: {
      const epoch = r.u32("epoch");
      const epochKey = r.bytes(EPOCH_KEY_BYTES, "epochKey").slice();
      const plain = new Uint8Array(1 + r.remaining);
      plain[0] = ServerKind.WELCOME;
      plain.set(r.rest(), 1);
      const welcome = decodeServerDatagram(plain) as ServerBody & { kind: "welcome" };
      return { kind: "welcome", epoch, epochKey, welcome };
    }
    case SealedKind.KEY: {
      const epoch = r.u32("epoch");
      const epochKey = r.bytes(EPOCH_KEY_BYTES, "epochKey").slice();
      r.end();
      return { kind: "key", epoch, epochKey };
    }
    case SealedKind.PATH_CHALLENGE: {
      const challenge = r.bytes(CHALLENGE_BYTES, "challenge").slice();
      r.end();
      return { kind: "pathChallenge", challenge };
    }
    default:
      if (!PLAIN_ON_MEMBER_CHANNEL.has(kind)) {
        throw new ProtocolError(`server kind 0x${hex(kind)} does not travel on a member channel`);
      }
      return { kind: "body", body: decodeServerDatagram(bytes) };
  }
}

/**
 * The sealed WELCOME inner body: the plain WELCOME datagram `plainWelcome`
 * (as encodeServerDatagram writes it) with kind 0x80 and the epoch and its
 * key inserted after the kind byte.
 */
export function sealedWelcomeInner(
  plainWelcome: Uint8Array,
  epoch: number,
  epochKey: Uint8Array,
): Uint8Array {
  if (plainWelcome[0] !== ServerKind.WELCOME) throw new RangeError("not a plain WELCOME datagram");
  checkEpoch(epoch, epochKey);
  return new ByteWriter(5 + EPOCH_KEY_BYTES + plainWelcome.length - 1).u8(SealedKind.WELCOME)
    .u32(epoch).bytes(epochKey).bytes(plainWelcome.subarray(1)).finish();
}

/** The KEY inner body of a rekey: `0x87 | epoch u32 | epochKey 32`. */
export function encodeKeyInner(epoch: number, epochKey: Uint8Array): Uint8Array {
  checkEpoch(epoch, epochKey);
  return new ByteWriter(5 + EPOCH_KEY_BYTES).u8(SealedKind.KEY).u32(epoch).bytes(epochKey)
    .finish();
}

/** The PATH_CHALLENGE inner body: `0x89 | challenge 16`. */
export function encodePathChallengeInner(challenge: Uint8Array): Uint8Array {
  checkLength(challenge, CHALLENGE_BYTES, "path challenge");
  return new ByteWriter(1 + CHALLENGE_BYTES).u8(SealedKind.PATH_CHALLENGE).bytes(challenge)
    .finish();
}

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) {
    throw new RangeError(`${what} must be ${length} bytes, not ${bytes.length}`);
  }
}

function checkEpoch(epoch: number, epochKey: Uint8Array): void {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffff_ffff) {
    throw new RangeError(`epoch ${epoch} is not a u32`);
  }
  checkLength(epochKey, EPOCH_KEY_BYTES, "epoch key");
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
