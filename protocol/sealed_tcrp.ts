/**
 * Sealed TCRP (docs/protocol.md section 6.1): the codecs around the Noise
 * handshake that carries a request and its answer. No crypto here: the
 * prologue both sides feed Noise, the request padded to 256-byte steps, the
 * sealed answer's JSON (success with the session's keys, refusal, room list),
 * and the plain refusal a server may send before any key work (state 2).
 *
 * @module
 */
import { bytesToHex, encodeUtf8 } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
import { validateUsernameForm } from "./names.ts";
import { decodeResumeTicket, encodeResumeTicket } from "./resume.ts";
import type { SealedSessionParams } from "./sealed_types.ts";
import {
  decodeJsonObject,
  decodeTcrpRequest,
  decodeTcrpResponse,
  encodeTcrpFrame,
  type JoinAccepted,
  Operation,
  plainOperationOf,
  PROTOCOL_REVISION,
  type Refusal,
  type RoomList,
  type SealedOperation,
  SealedState,
  State,
  TCRP_HEADER_BYTES,
  type TcrpFrame,
  type TcrpRequest,
} from "./tcrp.ts";

/** The label that starts every prologue: the protocol's name and version. */
export const SEALED_PROLOGUE_LABEL = "chat sealed v1";
/** Noise message 1 (`-> e`, empty payload): the state-0 payload. */
export const SEALED_HELLO_BYTES = 32;
/** Noise message 2 (`<- e, ee, s, es`, empty payload): e 32, s 32 + tag 16, tag 16. */
export const SEALED_SERVER_HELLO_BYTES = 96;
/** The sealed request's plaintext is a whole number of these. */
export const SEALED_REQUEST_STEP = 256;
/** The sealed datagram version a sealed answer announces (`"sealed": 1`). */
export const SEALED_DATAGRAM_VERSION = 1;
/** Statuses a plain state-2 refusal may carry: those decided before any key work. */
export const EARLY_REFUSAL_STATUSES: ReadonlySet<number> = new Set([400, 413, 429, 503]);

const LABEL_BYTES = encodeUtf8(SEALED_PROLOGUE_LABEL);

/**
 * The 32 header bytes of the state-0 frame of `operation` for `roomName`
 * (its payload is always {@linkcode SEALED_HELLO_BYTES}): what the prologue
 * binds, computed the same way on both sides.
 */
export function sealedHelloHeader(operation: SealedOperation, roomName: Uint8Array): Uint8Array {
  const frame = encodeTcrpFrame({
    operation,
    state: SealedState.HELLO,
    roomName,
    payload: new Uint8Array(SEALED_HELLO_BYTES),
  });
  return frame.slice(0, TCRP_HEADER_BYTES);
}

/**
 * The Noise prologue: "chat sealed v1" || 0x00 || the state-0 header ||
 * RoomName. Changing the operation, the room or the version on the way makes
 * message 2 fail to decrypt at the client.
 */
export function sealedPrologue(header: Uint8Array, roomName: Uint8Array): Uint8Array {
  if (header.length !== TCRP_HEADER_BYTES) {
    throw new RangeError(`a TCRP header is ${TCRP_HEADER_BYTES} bytes, got ${header.length}`);
  }
  const out = new Uint8Array(LABEL_BYTES.length + 1 + header.length + roomName.length);
  out.set(LABEL_BYTES);
  // out[LABEL_BYTES.length] stays 0x00: it ends the label.
  out.set(header, LABEL_BYTES.length + 1);
  out.set(roomName, LABEL_BYTES.length + 1 + header.length);
  return out;
}

/**
 * The request's JSON, padded with ASCII spaces to the next multiple of 256
 * bytes (at least 256), so the sealed size does not give away the length of
 * the password or the name. JSON allows trailing whitespace.
 */
export function padSealedRequest(json: Uint8Array): Uint8Array {
  const size = Math.max(
    SEALED_REQUEST_STEP,
    Math.ceil(json.length / SEALED_REQUEST_STEP) * SEALED_REQUEST_STEP,
  );
  const out = new Uint8Array(size).fill(0x20);
  out.set(json);
  return out;
}

/**
 * The plaintext of a sealed request: the same JSON object as the plain
 * request's payload (a LIST always sends an object, `{}` for the first
 * page), padded.
 */
export function encodeSealedRequest(request: TcrpRequest): Uint8Array {
  const body: Record<string, unknown> = {};
  if (request.operation === Operation.LIST_ROOMS) {
    if (request.cursor !== undefined && request.cursor !== null) body.cursor = request.cursor;
    if (request.limit !== undefined && request.limit !== null) body.limit = request.limit;
  } else {
    body.username = request.username;
    if (request.password !== null) body.password = request.password;
    if (request.capacity !== null) body.capacity = request.capacity;
    if (request.protocol !== undefined) body.protocol = request.protocol;
    if (request.resume !== undefined) {
      if (request.operation !== Operation.JOIN_ROOM) {
        throw new RangeError("only a JOIN_ROOM carries a resume ticket");
      }
      body.resume = encodeResumeTicket(request.resume);
    }
  }
  return padSealedRequest(encodeUtf8(JSON.stringify(body)));
}

/**
 * Decodes a sealed request's plaintext as the plain decoder would decode the
 * same payload in a plain state-0 frame of `operation`'s plain code. Its
 * size must be a whole, nonzero number of 256-byte steps (400 otherwise).
 * A JOIN may also carry `"resume"` (a takeover, docs/protocol.md 7.4),
 * checked strictly; on CREATE or LIST it is a 400.
 */
export function decodeSealedRequest(
  operation: SealedOperation,
  roomName: Uint8Array,
  plaintext: Uint8Array,
): TcrpRequest {
  if (plaintext.length === 0 || plaintext.length % SEALED_REQUEST_STEP !== 0) {
    throw new ProtocolError(
      `a sealed request is padded to ${SEALED_REQUEST_STEP}-byte steps, got ${plaintext.length} bytes`,
    );
  }
  const request = decodeTcrpRequest({
    operation: plainOperationOf(operation),
    state: State.REQUEST,
    roomName,
    payload: plaintext,
  });
  // The plain decoder ignores fields it does not know; only here is "resume" one. The
  // plaintext is a JSON object: a padded payload is never empty, and it decoded.
  const resume = decodeJsonObject(plaintext).resume;
  if (resume === undefined) return request;
  if (request.operation !== Operation.JOIN_ROOM) {
    throw new ProtocolError('"resume" is only for JOIN_ROOM');
  }
  return { ...request, resume: decodeResumeTicket(resume) };
}

/** What a sealed CREATE or JOIN success carries besides the plain settings. */
export type SealedAdmission = Omit<SealedSessionParams, "serverStaticKey">;

/** Every answer a sealed request can get (state 4). */
export type SealedAnswer =
  | { kind: "admitted"; accepted: JoinAccepted; session: SealedAdmission }
  | { kind: "rooms"; list: RoomList }
  | { kind: "refused"; refusal: Refusal };

/** Hex field name -> its size in bytes. */
const KEY_FIELDS = [
  ["sessionId", 8],
  ["clientKey", 32],
  ["serverKey", 32],
  ["signingKey", 32],
  ["resetToken", 16],
] as const;

/**
 * The plaintext of a sealed answer: JSON with `"status"` then `"protocol"`
 * first, as every plain answer. A success adds `"sealed": 1` and the
 * session's keys (lowercase hex), `"passwordProtected"` and `"host"`; no
 * token, which stays inside the server.
 */
export function encodeSealedAnswer(answer: SealedAnswer): Uint8Array {
  let body: Record<string, unknown>;
  if (answer.kind === "refused") {
    const { status, error } = answer.refusal;
    body = { status, protocol: PROTOCOL_REVISION, error };
  } else if (answer.kind === "rooms") {
    const { status, ...rest } = answer.list;
    body = { status, protocol: PROTOCOL_REVISION, ...rest };
  } else {
    const { status, ...rest } = answer.accepted;
    const { session } = answer;
    body = { status, protocol: PROTOCOL_REVISION, ...rest, sealed: SEALED_DATAGRAM_VERSION };
    for (const [key, size] of KEY_FIELDS) {
      if (session[key].length !== size) {
        throw new RangeError(`${key} is ${session[key].length} bytes, not ${size}`);
      }
      body[key] = bytesToHex(session[key]);
    }
    body.passwordProtected = session.passwordProtected;
    body.host = session.host;
  }
  return encodeUtf8(JSON.stringify(body));
}

/**
 * Decodes a sealed answer to a request of `operation`, strictly: the plain
 * fields as the plain decoder checks them; for a success, `"sealed"` must be
 * 1, every key the right number of lowercase hex digits,
 * `"passwordProtected"` a boolean and `"host"` a name of username form; in a
 * room list every room says `"sealed"`. Anything else is a 400
 * {@linkcode ProtocolError}.
 */
export function decodeSealedAnswer(
  operation: SealedOperation,
  plaintext: Uint8Array,
): SealedAnswer {
  const plain = plainOperationOf(operation);
  const frame: TcrpFrame = {
    operation: plain,
    state: State.RESPONSE,
    roomName: new Uint8Array(0),
    payload: plaintext,
  };
  const response = decodeTcrpResponse(frame);
  if (response.status !== 200) return { kind: "refused", refusal: response as Refusal };
  const body = decodeJsonObject(plaintext);
  if (plain === Operation.LIST_ROOMS) {
    const list = response as RoomList;
    for (const room of list.rooms) {
      if (room.sealed === undefined) {
        throw new ProtocolError('a sealed room list entry has no boolean "sealed"');
      }
    }
    return { kind: "rooms", list };
  }
  if (body.sealed !== SEALED_DATAGRAM_VERSION) {
    throw new ProtocolError(
      `the answer's sealed datagram version is not ${SEALED_DATAGRAM_VERSION}: ${
        JSON.stringify(body.sealed)
      }`,
    );
  }
  const keys = {} as Record<typeof KEY_FIELDS[number][0], Uint8Array>;
  for (const [key, size] of KEY_FIELDS) keys[key] = hexField(body, key, size);
  if (typeof body.passwordProtected !== "boolean") {
    throw new ProtocolError('the answer has no boolean "passwordProtected"');
  }
  if (typeof body.host !== "string") throw new ProtocolError('the answer has no "host"');
  return {
    kind: "admitted",
    accepted: response as JoinAccepted,
    session: {
      ...keys,
      passwordProtected: body.passwordProtected,
      host: validateUsernameForm(body.host),
    },
  };
}

/**
 * The payload of a plain state-2 refusal: `{"status":429,"protocol":2,"error":...}`.
 * Only statuses decided before any key work are allowed.
 */
export function encodeEarlyRefusal(refusal: Refusal): Uint8Array {
  if (!EARLY_REFUSAL_STATUSES.has(refusal.status)) {
    throw new RangeError(`status ${refusal.status} is not decided before the handshake`);
  }
  return encodeUtf8(
    JSON.stringify({ status: refusal.status, protocol: PROTOCOL_REVISION, error: refusal.error }),
  );
}

/** Decodes a state-2 payload; a status it may not carry, or no error text, is a 400. */
export function decodeEarlyRefusal(payload: Uint8Array): Refusal {
  const body = decodeJsonObject(payload);
  if (typeof body.status !== "number" || !EARLY_REFUSAL_STATUSES.has(body.status)) {
    throw new ProtocolError(`a refusal before the handshake cannot be ${body.status}`);
  }
  if (typeof body.error !== "string") throw new ProtocolError('refusal has no "error" text');
  return { status: body.status as Refusal["status"], error: body.error };
}

function hexField(body: Record<string, unknown>, key: string, size: number): Uint8Array {
  const value = body[key];
  if (typeof value !== "string" || value.length !== size * 2 || !/^[0-9a-f]*$/.test(value)) {
    throw new ProtocolError(`the answer's "${key}" is not ${size * 2} lowercase hex digits`);
  }
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = parseInt(value.slice(i * 2, i * 2 + 2), 16);
  return out;
}
