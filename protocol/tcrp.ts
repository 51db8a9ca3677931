/**
 * TCRP, the TCP Chat Room Protocol: a 32-byte header and a body, both ways.
 *
 * Header: byte 0 RoomNameSize, byte 1 Operation, byte 2 State, bytes 3..31
 * OperationPayloadSize (a 29-byte big-endian integer). Body: RoomName, then
 * OperationPayload. See docs/protocol.md.
 */
import type { ResumeTicket } from "./resume.ts";
import { ProtocolError } from "./errors.ts";
import { decodeUtf8, encodeUtf8 } from "./bytes.ts";
import { validateRoomNameForm } from "./names.ts";

/** Size of every TCRP header. */
export const TCRP_HEADER_BYTES = 32;
/** Size of a member token. */
export const TOKEN_BYTES = 32;

/**
 * TCRP operations: the plain ones (1-3), and their sealed counterparts
 * (0x11-0x13, docs/protocol.md section 6.1), whose request and answer travel
 * inside a Noise handshake. Distinct codes, so the two modes cannot be confused.
 */
export const Operation = {
  CREATE_ROOM: 1,
  JOIN_ROOM: 2,
  LIST_ROOMS: 3,
  SEALED_CREATE_ROOM: 0x11,
  SEALED_JOIN_ROOM: 0x12,
  SEALED_LIST_ROOMS: 0x13,
} as const;
/** A TCRP operation code. */
export type Operation = typeof Operation[keyof typeof Operation];
/** A plain operation code (1-3). */
export type PlainOperation =
  | typeof Operation.CREATE_ROOM
  | typeof Operation.JOIN_ROOM
  | typeof Operation.LIST_ROOMS;
/** A sealed operation code (0x11-0x13). */
export type SealedOperation =
  | typeof Operation.SEALED_CREATE_ROOM
  | typeof Operation.SEALED_JOIN_ROOM
  | typeof Operation.SEALED_LIST_ROOMS;

/** The distance from a plain operation code to its sealed one. */
const SEALED_OFFSET = 0x10;

/** Whether `code` is one of the plain operations (1-3). */
export function isPlainOperation(code: number): code is PlainOperation {
  return code >= Operation.CREATE_ROOM && code <= Operation.LIST_ROOMS;
}

/** Whether `code` is one of the sealed operations (0x11-0x13). */
export function isSealedOperation(code: number): code is SealedOperation {
  return code >= Operation.SEALED_CREATE_ROOM && code <= Operation.SEALED_LIST_ROOMS;
}

/** The plain operation a sealed one carries (0x12 -> 2). */
export function plainOperationOf(operation: SealedOperation): PlainOperation {
  return (operation - SEALED_OFFSET) as PlainOperation;
}

/** The sealed operation that carries a plain one (2 -> 0x12). */
export function sealedOperationOf(operation: PlainOperation): SealedOperation {
  return (operation + SEALED_OFFSET) as SealedOperation;
}

/** TCRP states of the plain operations: who speaks and at which step. */
export const State = {
  REQUEST: 0,
  RESPONSE: 1,
  COMPLETE: 2,
} as const;
/** A plain TCRP state code. */
export type State = typeof State[keyof typeof State];

/** TCRP states of the sealed operations (docs/protocol.md section 6.1). */
export const SealedState = {
  /** Client: Noise message 1 (`-> e`), 32 bytes. */
  HELLO: 0,
  /** Server: Noise message 2 (`<- e, ee, s, es`), 96 bytes. */
  SERVER_HELLO: 1,
  /** Server: a plain JSON refusal sent before any key work (400, 413, 429, 503). */
  REFUSED: 2,
  /** Client: the request, sealed. */
  REQUEST: 3,
  /** Server: the answer, sealed; then the server closes. */
  ANSWER: 4,
} as const;
/** A sealed TCRP state code. */
export type SealedState = typeof SealedState[keyof typeof SealedState];

/** The largest state a frame of `operation` may carry. */
function lastStateOf(operation: number): number {
  return isSealedOperation(operation) ? SealedState.ANSWER : State.COMPLETE;
}

/** A decoded 32-byte header. */
export interface TcrpHeader {
  roomNameSize: number;
  operation: Operation;
  /** 0-2 for a plain operation, 0-4 for a sealed one. */
  state: State | SealedState;
  payloadSize: number;
}

/** One whole TCRP message. */
export interface TcrpFrame {
  operation: Operation;
  /** 0-2 for a plain operation, 0-4 for a sealed one. */
  state: State | SealedState;
  roomName: Uint8Array;
  payload: Uint8Array;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Encodes a header and body into one buffer, ready to write. */
export function encodeTcrpFrame(frame: TcrpFrame): Uint8Array {
  if (frame.roomName.length > 255) {
    throw new RangeError(`room name is ${frame.roomName.length} bytes, at most 255 fit`);
  }
  const out = new Uint8Array(TCRP_HEADER_BYTES + frame.roomName.length + frame.payload.length);
  const view = new DataView(out.buffer);
  out[0] = frame.roomName.length;
  out[1] = frame.operation;
  out[2] = frame.state;
  // Bytes 3..23 of the 29-byte size stay zero: no payload reaches 2^64 bytes.
  view.setBigUint64(24, BigInt(frame.payload.length));
  out.set(frame.roomName, TCRP_HEADER_BYTES);
  out.set(frame.payload, TCRP_HEADER_BYTES + frame.roomName.length);
  return out;
}

/**
 * Decodes the 32-byte header. Unknown operations or states are a 400
 * {@linkcode ProtocolError}; a payload size beyond 2^53 is a 413.
 */
export function decodeTcrpHeader(bytes: Uint8Array): TcrpHeader {
  if (bytes.length < TCRP_HEADER_BYTES) {
    throw new ProtocolError(`TCRP header needs ${TCRP_HEADER_BYTES} bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, TCRP_HEADER_BYTES);
  const operation = bytes[1]!;
  const state = bytes[2]!;
  if (!isPlainOperation(operation) && !isSealedOperation(operation)) {
    throw new ProtocolError(`unknown TCRP operation ${operation}`);
  }
  if (state > lastStateOf(operation)) {
    throw new ProtocolError(`unknown TCRP state ${state}`);
  }
  for (let i = 3; i < 24; i++) {
    if (bytes[i] !== 0) throw new ProtocolError("TCRP payload size is too large", 413);
  }
  const size = view.getBigUint64(24);
  if (size > MAX_SAFE) throw new ProtocolError("TCRP payload size is too large", 413);
  return {
    roomNameSize: bytes[0]!,
    operation,
    state: state as State | SealedState,
    payloadSize: Number(size),
  };
}

/** Options for {@linkcode TcrpFrameParser}. */
export interface TcrpFrameParserOptions {
  /** Largest OperationPayload accepted; a header announcing more is a 413. */
  maxPayloadBytes: number;
}

/**
 * Reassembles TCRP frames from a byte stream split or joined anywhere.
 * It does no I/O: feed it chunks, take whole frames out. A header that
 * announces a payload over the limit throws at once, before its body.
 */
export class TcrpFrameParser {
  #max: number;
  #buffer = new Uint8Array(0);
  #header: TcrpHeader | null = null;

  /** Creates a parser with a payload limit. */
  constructor(options: TcrpFrameParserOptions) {
    this.#max = options.maxPayloadBytes;
  }

  /** Bytes held that do not yet make a whole frame. */
  get pendingBytes(): number {
    return this.#buffer.length;
  }

  /**
   * Adds a chunk; returns every frame it completes (often none). A bad header
   * throws, unless this chunk completed frames before it: then those frames
   * are returned and the next call throws, so what comes out does not depend
   * on how the stream was split.
   */
  push(chunk: Uint8Array): TcrpFrame[] {
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    this.#buffer = joined;
    const frames: TcrpFrame[] = [];
    while (true) {
      if (this.#header === null) {
        if (this.#buffer.length < TCRP_HEADER_BYTES) break;
        try {
          this.#header = this.#readHeader();
        } catch (error) {
          if (frames.length > 0) break;
          throw error;
        }
      }
      const header = this.#header;
      const total = TCRP_HEADER_BYTES + header.roomNameSize + header.payloadSize;
      if (this.#buffer.length < total) break;
      const nameEnd = TCRP_HEADER_BYTES + header.roomNameSize;
      frames.push({
        operation: header.operation,
        state: header.state,
        roomName: this.#buffer.slice(TCRP_HEADER_BYTES, nameEnd),
        payload: this.#buffer.slice(nameEnd, total),
      });
      this.#buffer = this.#buffer.slice(total);
      this.#header = null;
    }
    return frames;
  }

  #readHeader(): TcrpHeader {
    const header = decodeTcrpHeader(this.#buffer);
    if (header.payloadSize > this.#max) {
      throw new ProtocolError(
        `payload of ${header.payloadSize} bytes is over the limit of ${this.#max}`,
        413,
      );
    }
    return header;
  }
}

/** What a client asks for in a CREATE_ROOM or JOIN_ROOM request. */
export interface RoomRequest {
  operation: typeof Operation.CREATE_ROOM | typeof Operation.JOIN_ROOM;
  roomName: string;
  username: string;
  password: string | null;
  capacity: number | null;
  /**
   * The protocol revision the client speaks for this membership: 1 (also
   * when absent or null) or 2 and up (per-sender order and REFUSED). The
   * decoder always fills it in.
   */
  protocol?: number;
  /**
   * A sealed JOIN_ROOM only (docs/protocol.md 7.4): the session this request
   * takes over. The plain decoder never sets it: plain sessions have no keys.
   */
  resume?: ResumeTicket;
}

/**
 * A LIST_ROOMS request: a page of the room list. `cursor` is what the
 * previous page's `next` said (null or absent: the first page), `limit` how
 * many rooms at most (null or absent: {@linkcode LIST_LIMIT_DEFAULT}).
 */
export interface ListRequest {
  operation: typeof Operation.LIST_ROOMS;
  cursor?: string | null;
  limit?: number | null;
}

/** The protocol revision this code speaks; every state-1 answer the server sends carries it. */
export const PROTOCOL_REVISION = 2;

/** A decoded client request. */
export type TcrpRequest = RoomRequest | ListRequest;

/** Rooms in a LIST_ROOMS page when the request names no limit. */
export const LIST_LIMIT_DEFAULT = 100;
/** The largest `limit` a LIST_ROOMS request may ask for. */
export const LIST_LIMIT_MAX = 200;

/** Largest capacity a room may ask for. */
export const MAX_CAPACITY = 65_535;
/** Longest password accepted, in characters. */
export const MAX_PASSWORD_CHARS = 1024;

/**
 * Interprets a state-0 frame as a request. Shape only: name rules are
 * checked by `protocol/names.ts`, room state by the registry.
 */
export function decodeTcrpRequest(frame: TcrpFrame): TcrpRequest {
  if (!isPlainOperation(frame.operation)) {
    throw new ProtocolError(`operation ${frame.operation} is not a plain request`);
  }
  if (frame.state !== State.REQUEST) {
    throw new ProtocolError(`a client must send state 0, got ${frame.state}`);
  }
  if (frame.operation === Operation.LIST_ROOMS) return decodeListRequest(frame);
  const roomName = decodeUtf8(frame.roomName, "room name");
  const body = decodeJsonObject(frame.payload);
  const { username, password, capacity, protocol } = body;
  if (typeof username !== "string") {
    throw new ProtocolError('payload needs "username" as a string');
  }
  if (password !== undefined && password !== null && typeof password !== "string") {
    throw new ProtocolError('"password" must be a string');
  }
  if (typeof password === "string" && [...password].length > MAX_PASSWORD_CHARS) {
    throw new ProtocolError(`"password" is longer than ${MAX_PASSWORD_CHARS} characters`);
  }
  if (capacity !== undefined && capacity !== null) {
    if (frame.operation !== Operation.CREATE_ROOM) {
      throw new ProtocolError('"capacity" is only for CREATE_ROOM');
    }
    if (
      !Number.isInteger(capacity) || (capacity as number) < 1 || (capacity as number) > MAX_CAPACITY
    ) {
      throw new ProtocolError(`"capacity" must be a whole number from 1 to ${MAX_CAPACITY}`);
    }
  }
  if (
    protocol !== undefined && protocol !== null &&
    !(Number.isSafeInteger(protocol) && (protocol as number) >= 1)
  ) {
    throw new ProtocolError('"protocol" must be a whole number from 1 up');
  }
  return {
    operation: frame.operation,
    roomName,
    username,
    // An empty password means none, so a form field left blank does not lock a room.
    password: typeof password === "string" && password !== "" ? password : null,
    capacity: typeof capacity === "number" ? capacity : null,
    protocol: typeof protocol === "number" ? protocol : 1,
  };
}

/**
 * LIST_ROOMS: an empty room name, and an empty payload (the first page at
 * the default limit) or a JSON object with optional `cursor` (a string) and
 * `limit` (a whole number 1-200); anything else is a 400.
 */
function decodeListRequest(frame: TcrpFrame): ListRequest {
  if (frame.roomName.length !== 0) {
    throw new ProtocolError("LIST_ROOMS takes an empty room name");
  }
  if (frame.payload.length === 0) return { operation: Operation.LIST_ROOMS };
  const { cursor, limit } = decodeJsonObject(frame.payload);
  if (cursor !== undefined && cursor !== null && typeof cursor !== "string") {
    throw new ProtocolError('"cursor" must be a string');
  }
  if (
    limit !== undefined && limit !== null &&
    !(Number.isInteger(limit) && (limit as number) >= 1 && (limit as number) <= LIST_LIMIT_MAX)
  ) {
    throw new ProtocolError(`"limit" must be a whole number from 1 to ${LIST_LIMIT_MAX}`);
  }
  // Only what was given, so a request decodes to what was encoded.
  return {
    operation: Operation.LIST_ROOMS,
    ...(typeof cursor === "string" ? { cursor } : {}),
    ...(typeof limit === "number" ? { limit } : {}),
  };
}

/** Encodes a client request as a state-0 frame. */
export function encodeTcrpRequest(request: TcrpRequest): Uint8Array {
  if (request.operation === Operation.LIST_ROOMS) {
    // The first page at the default limit is an empty payload, as revision 1 sent it.
    const body: Record<string, unknown> = {};
    if (request.cursor !== undefined && request.cursor !== null) body.cursor = request.cursor;
    if (request.limit !== undefined && request.limit !== null) body.limit = request.limit;
    return encodeTcrpFrame({
      operation: Operation.LIST_ROOMS,
      state: State.REQUEST,
      roomName: new Uint8Array(0),
      payload: Object.keys(body).length === 0
        ? new Uint8Array(0)
        : encodeUtf8(JSON.stringify(body)),
    });
  }
  const body: Record<string, unknown> = { username: request.username };
  if (request.password !== null) body.password = request.password;
  if (request.capacity !== null) body.capacity = request.capacity;
  if (request.protocol !== undefined) body.protocol = request.protocol;
  return encodeTcrpFrame({
    operation: request.operation,
    state: State.REQUEST,
    roomName: encodeUtf8(request.roomName),
    payload: encodeUtf8(JSON.stringify(body)),
  });
}

/** What the server tells a member on success (state 1). */
export interface JoinAccepted {
  status: 200;
  udpPort: number;
  maxDatagramBytes: number;
  heartbeatSeconds: number;
  idleTimeoutSeconds: number;
  /** The server's revision; absent from a revision-1 server, which means 1. */
  protocol?: number;
  /** MESSAGEs a second a member may send on average (0: no limit); revision 2. */
  messageRate?: number;
  /** ...and at once. */
  messageBurst?: number;
  /** Most msgIds a revision-2 member may have beyond the next one the server expects. */
  messageWindow?: number;
  /** Most bytes of text the server holds for one member waiting for an earlier msgId. */
  messageWindowBytes?: number;
  /** How long the server waits for a missing msgId before it skips it (REFUSED 410). */
  gapTimeoutSeconds?: number;
}

/** The revision-2 fields of a success answer, each a whole number from its minimum. */
const REVISION_2_FIELDS = [
  ["protocol", 1],
  ["messageRate", 0],
  ["messageBurst", 0],
  ["messageWindow", 1],
  ["messageWindowBytes", 1],
  ["gapTimeoutSeconds", 0],
] as const;

/** One row of LIST_ROOMS. */
export interface RoomSummary {
  name: string;
  members: number;
  capacity: number | null;
  passwordProtected: boolean;
  /**
   * The room's mode, fixed at creation: true when it takes sealed sessions
   * only, false when plain ones only. Every answer of this server carries it;
   * absent from an older server's list.
   */
  sealed?: boolean;
}

/**
 * The LIST_ROOMS answer: one page. `next` is the cursor of the page after
 * it, or null when this is the last (a revision-1 server sends none: its one
 * answer is the whole list).
 */
export interface RoomList {
  status: 200;
  rooms: RoomSummary[];
  next?: string | null;
}

/** A refusal: the connection closes after it. */
export interface Refusal {
  status: 400 | 401 | 403 | 404 | 409 | 413 | 429 | 503;
  error: string;
}

/** Any state-1 payload. */
export type TcrpResponse = JoinAccepted | RoomList | Refusal;

/**
 * Encodes a state-1 response. Every one (success, refusal, room list) says
 * `"protocol": 2` after its status, so a client can tell the server's
 * revision from any answer.
 */
export function encodeTcrpResponse(
  operation: Operation,
  roomName: Uint8Array,
  response: TcrpResponse,
): Uint8Array {
  return encodeTcrpFrame({
    operation,
    state: State.RESPONSE,
    roomName,
    payload: encodeUtf8(JSON.stringify(withRevision(response))),
  });
}

/** The response with `"protocol"` right after `"status"` (object keys keep insertion order). */
function withRevision(response: TcrpResponse): Record<string, unknown> {
  const { status, ...rest } = response;
  return { status, protocol: PROTOCOL_REVISION, ...rest };
}

/** Encodes the state-2 completion that carries the token. */
export function encodeTcrpToken(
  operation: Operation,
  roomName: Uint8Array,
  token: Uint8Array,
): Uint8Array {
  return encodeTcrpFrame({ operation, state: State.COMPLETE, roomName, payload: token });
}

const REFUSAL_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 404, 409, 413, 429, 503]);

/**
 * Decodes a state-1 payload on the client side. Every field must have its
 * documented type and range (a room list entry's name must follow the name
 * rules), else it is a 400; unknown fields are left out of the result.
 */
export function decodeTcrpResponse(frame: TcrpFrame): TcrpResponse {
  if (frame.state !== State.RESPONSE) {
    throw new ProtocolError(`expected state 1 from the server, got ${frame.state}`);
  }
  const body = decodeJsonObject(frame.payload);
  if (typeof body.status !== "number") throw new ProtocolError('response has no numeric "status"');
  if (body.status !== 200) {
    if (!REFUSAL_STATUSES.has(body.status)) {
      throw new ProtocolError(`unknown response status ${body.status}`);
    }
    if (typeof body.error !== "string") throw new ProtocolError('refusal has no "error" text');
    return { status: body.status as Refusal["status"], error: body.error };
  }
  if (frame.operation === Operation.LIST_ROOMS) {
    if (!Array.isArray(body.rooms)) throw new ProtocolError('room list has no "rooms" array');
    if (body.next !== undefined && body.next !== null && typeof body.next !== "string") {
      throw new ProtocolError('room list "next" must be a string or null');
    }
    const rooms = body.rooms.map(decodeRoomSummary);
    // Absent means null: the last page (or a revision-1 server's whole list).
    return typeof body.next === "string"
      ? { status: 200, rooms, next: body.next }
      : { status: 200, rooms };
  }
  const accepted: JoinAccepted = {
    status: 200,
    udpPort: numberField(body, "udpPort", 1, 65_535, true),
    maxDatagramBytes: numberField(body, "maxDatagramBytes", 1, Number.MAX_SAFE_INTEGER, true),
    heartbeatSeconds: numberField(body, "heartbeatSeconds", Number.MIN_VALUE, Number.MAX_VALUE),
    idleTimeoutSeconds: numberField(body, "idleTimeoutSeconds", 0, Number.MAX_VALUE),
  };
  // A revision-1 server sends none of these: each is kept only when present.
  for (const [key, min] of REVISION_2_FIELDS) {
    if (body[key] !== undefined && body[key] !== null) {
      accepted[key] = numberField(body, key, min, Number.MAX_SAFE_INTEGER, true);
    }
  }
  return accepted;
}

function decodeRoomSummary(entry: unknown): RoomSummary {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw new ProtocolError("room list entry is not an object");
  }
  const room = entry as Record<string, unknown>;
  if (typeof room.name !== "string") throw new ProtocolError('room list entry has no "name"');
  if (typeof room.passwordProtected !== "boolean") {
    throw new ProtocolError('room list entry has no boolean "passwordProtected"');
  }
  if (room.sealed !== undefined && typeof room.sealed !== "boolean") {
    throw new ProtocolError('room list entry "sealed" must be a boolean');
  }
  return {
    // A client joins by this name, so it must have the form of one; not the
    // character rules too, so that a list from a revision-1 server still reads.
    name: validateRoomNameForm(room.name),
    members: numberField(room, "members", 0, Number.MAX_SAFE_INTEGER, true),
    capacity: room.capacity === null || room.capacity === undefined
      ? null
      : numberField(room, "capacity", 1, MAX_CAPACITY, true),
    passwordProtected: room.passwordProtected,
    // Kept only when given, so an older server's row decodes to what it sent.
    ...(typeof room.sealed === "boolean" ? { sealed: room.sealed } : {}),
  };
}

/** A number field in `min..max` (a whole one if `whole`); anything else is a 400. */
function numberField(
  body: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  whole = false,
): number {
  const value = body[key];
  if (
    typeof value !== "number" || !(value >= min && value <= max) ||
    (whole && !Number.isInteger(value))
  ) {
    throw new ProtocolError(`response has no valid "${key}"`);
  }
  return value === 0 ? 0 : value; // JSON's -0 is plain 0
}

/** Decodes a JSON object payload; anything else is a 400. */
export function decodeJsonObject(payload: Uint8Array): Record<string, unknown> {
  const text = decodeUtf8(payload, "payload");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError("payload is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("payload must be a JSON object");
  }
  return value as Record<string, unknown>;
}
