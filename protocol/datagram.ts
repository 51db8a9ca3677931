/**
 * Chat datagrams (UDP). Client to server: RoomNameSize, TokenSize, RoomName,
 * Token, Kind, body. Server to client: Kind, body. See docs/protocol.md.
 */
import { ProtocolError } from "./errors.ts";
import { ByteReader, ByteWriter, decodeUtf8, encodeUtf8 } from "./bytes.ts";

/** Largest datagram either side sends or accepts. */
export const MAX_DATAGRAM_BYTES = 4096;

/** Events the server replays after HELLO with lastSeq 0. */
export const REPLAY_ON_WELCOME = 50;

/** Client-to-server kinds. */
export const ClientKind = {
  HELLO: 0x01,
  MESSAGE: 0x02,
  HEARTBEAT: 0x03,
  LEAVE: 0x04,
  RESEND: 0x05,
} as const;

/** Server-to-client kinds. */
export const ServerKind = {
  EVENT: 0x81,
  ACK: 0x82,
  WELCOME: 0x83,
  CLOSED: 0x84,
  ERROR: 0x85,
  REFUSED: 0x86,
  HEARTBEAT_ACK: 0x88,
} as const;

/** EVENT types. */
export const EventType = {
  MESSAGE: 1,
  JOINED: 2,
  LEFT: 3,
  TIMED_OUT: 4,
} as const;
/** An EVENT type code. */
export type EventType = typeof EventType[keyof typeof EventType];

/** CLOSED reasons. */
export const CloseReason = {
  HOST_LEFT: 1,
  IDLE: 2,
  LOST: 3,
  SHUTDOWN: 4,
  LEFT: 5,
} as const;
/** A CLOSED reason code. */
export type CloseReason = typeof CloseReason[keyof typeof CloseReason];

/** ERROR codes a datagram can earn. */
export type DatagramErrorCode = 400 | 401 | 413 | 429;

/**
 * REFUSED codes (revision 2): 410 the msgId never arrived within the gap
 * timeout and was skipped, 413 its EVENT would be too big (both final: never
 * send that msgId again), 429 outside the window or the buffer is full (send
 * it again later).
 */
export type RefusedCode = 410 | 413 | 429;

/** REFUSED codes after which the msgId is gone for good. */
export function isFinalRefusal(code: RefusedCode): boolean {
  return code !== 429;
}

/** What a client datagram asks for. */
export type ClientBody =
  | { kind: "hello"; lastSeq: number }
  | { kind: "message"; msgId: number; text: string }
  | { kind: "heartbeat"; lastSeq: number }
  | { kind: "leave" }
  | { kind: "resend"; fromSeq: number; toSeq: number };

/** A whole client datagram. */
export interface ClientDatagram {
  roomName: string;
  token: Uint8Array;
  body: ClientBody;
}

/** One entry of a room's event log. */
export interface ChatEvent {
  seq: number;
  timeMs: number;
  type: EventType;
  name: string;
  text: string;
}

/**
 * What the server says in a datagram.
 *
 * `heartbeatAck` (0x88 | headSeq u32) exists only inside sealed member
 * datagrams: the server answers every HEARTBEAT of a member of a sealed room
 * with it, so the client hears an authenticated datagram every period (three
 * periods of silence mean a rejoin) and learns the room's head seq from its
 * own channel. A plain server never sends it.
 */
export type ServerBody =
  | ({ kind: "event" } & ChatEvent)
  | { kind: "ack"; msgId: number; seq: number }
  | { kind: "welcome"; headSeq: number; room: string; host: string; members: string[] }
  | { kind: "closed"; reason: CloseReason; text: string }
  | { kind: "error"; code: DatagramErrorCode; text: string }
  | { kind: "refused"; msgId: number; code: RefusedCode; text: string }
  | { kind: "heartbeatAck"; headSeq: number };

const KNOWN_ERROR_CODES = new Set([400, 401, 413, 429]);
const KNOWN_REFUSED_CODES = new Set([410, 413, 429]);

/** Bytes of a client body (Kind and what follows); `text` is the MESSAGE text's UTF-8. */
export function clientBodySize(body: ClientBody, text: Uint8Array | null): number {
  switch (body.kind) {
    case "hello":
    case "heartbeat":
      return 5;
    case "message":
      return 5 + text!.length;
    case "leave":
      return 1;
    case "resend":
      return 9;
  }
}

/** Encodes a client datagram. Throws RangeError when it would not fit. */
export function encodeClientDatagram(datagram: ClientDatagram): Uint8Array {
  const room = encodeUtf8(datagram.roomName);
  const { token, body } = datagram;
  if (room.length < 1 || room.length > 255) throw new RangeError("room name must be 1-255 bytes");
  if (token.length < 1 || token.length > 255) throw new RangeError("token must be 1-255 bytes");
  const text = body.kind === "message" ? encodeUtf8(body.text) : null;
  const size = 2 + room.length + token.length + clientBodySize(body, text);
  if (size > MAX_DATAGRAM_BYTES) {
    throw new RangeError(`datagram of ${size} bytes is over the limit of ${MAX_DATAGRAM_BYTES}`);
  }
  const w = new ByteWriter(size).u8(room.length).u8(token.length).bytes(room).bytes(token);
  writeClientBody(w, body, text);
  return w.finish();
}

/**
 * Writes a client body (its Kind byte and what follows), as a plain datagram
 * ends and as a sealed one carries it inside (protocol/sealed_inner.ts).
 * `text` is the MESSAGE text's UTF-8 (null for other kinds); room for
 * {@linkcode clientBodySize} bytes must be left in `w`.
 */
export function writeClientBody(w: ByteWriter, body: ClientBody, text: Uint8Array | null): void {
  switch (body.kind) {
    case "hello":
      w.u8(ClientKind.HELLO).u32(body.lastSeq);
      break;
    case "message":
      if (text!.length === 0) throw new RangeError("message text must not be empty");
      w.u8(ClientKind.MESSAGE).u32(body.msgId).bytes(text!);
      break;
    case "heartbeat":
      w.u8(ClientKind.HEARTBEAT).u32(body.lastSeq);
      break;
    case "leave":
      w.u8(ClientKind.LEAVE);
      break;
    case "resend":
      w.u8(ClientKind.RESEND).u32(body.fromSeq).u32(body.toSeq);
      break;
  }
}

/**
 * Decodes a client datagram. Malformed input is a 400
 * {@linkcode ProtocolError}, an oversized one a 413.
 */
export function decodeClientDatagram(bytes: Uint8Array): ClientDatagram {
  if (bytes.length > MAX_DATAGRAM_BYTES) {
    throw new ProtocolError(`datagram of ${bytes.length} bytes is over ${MAX_DATAGRAM_BYTES}`, 413);
  }
  const r = new ByteReader(bytes, "datagram");
  const roomSize = r.u8("RoomNameSize");
  const tokenSize = r.u8("TokenSize");
  if (roomSize === 0) throw new ProtocolError("datagram has an empty room name");
  if (tokenSize === 0) throw new ProtocolError("datagram has an empty token");
  const roomName = decodeUtf8(r.bytes(roomSize, "RoomName"), "room name");
  const token = r.bytes(tokenSize, "Token");
  const kind = r.u8("Kind");
  const body = readClientBody(r, kind);
  if (body === null) {
    throw new ProtocolError(`unknown datagram kind 0x${kind.toString(16).padStart(2, "0")}`);
  }
  r.end();
  return { roomName, token, body };
}

/**
 * Reads the body of a client datagram of kind `kind` (its Kind byte already
 * read), as a plain datagram ends and as a sealed one carries it inside;
 * null for a kind that is not one of the five. Malformed bodies are a 400
 * {@linkcode ProtocolError}; the caller checks that nothing follows.
 */
export function readClientBody(r: ByteReader, kind: number): ClientBody | null {
  switch (kind) {
    case ClientKind.HELLO:
      return { kind: "hello", lastSeq: r.u32("lastSeq") };
    case ClientKind.MESSAGE: {
      const msgId = r.u32("msgId");
      const raw = r.rest();
      if (raw.length === 0) throw new ProtocolError("MESSAGE text is empty");
      return { kind: "message", msgId, text: decodeUtf8(raw, "MESSAGE text") };
    }
    case ClientKind.HEARTBEAT:
      return { kind: "heartbeat", lastSeq: r.u32("lastSeq") };
    case ClientKind.LEAVE:
      return { kind: "leave" };
    case ClientKind.RESEND:
      return { kind: "resend", fromSeq: r.u32("fromSeq"), toSeq: r.u32("toSeq") };
    default:
      return null;
  }
}

/** Bytes of an EVENT datagram besides its name and text (kind, seq, time, type, name size). */
export const EVENT_HEADER_BYTES = 15;

/** Encodes a server datagram. Throws RangeError when it would not fit. */
export function encodeServerDatagram(body: ServerBody): Uint8Array {
  let out: Uint8Array;
  switch (body.kind) {
    case "event": {
      const name = encodeUtf8(body.name);
      const text = encodeUtf8(body.text);
      if (name.length > 255) throw new RangeError("event name is over 255 bytes");
      out = new ByteWriter(EVENT_HEADER_BYTES + name.length + text.length)
        .u8(ServerKind.EVENT).u32(body.seq).u64(body.timeMs).u8(body.type).u8(name.length)
        .bytes(name).bytes(text).finish();
      break;
    }
    case "ack":
      out = new ByteWriter(9).u8(ServerKind.ACK).u32(body.msgId).u32(body.seq).finish();
      break;
    case "welcome": {
      const json = encodeUtf8(
        JSON.stringify({ room: body.room, host: body.host, members: body.members }),
      );
      out = new ByteWriter(5 + json.length).u8(ServerKind.WELCOME).u32(body.headSeq).bytes(json)
        .finish();
      break;
    }
    case "closed": {
      const text = encodeUtf8(body.text);
      out = new ByteWriter(2 + text.length).u8(ServerKind.CLOSED).u8(body.reason).bytes(text)
        .finish();
      break;
    }
    case "error": {
      const text = encodeUtf8(body.text);
      out = new ByteWriter(3 + text.length).u8(ServerKind.ERROR).u16(body.code).bytes(text)
        .finish();
      break;
    }
    case "refused": {
      const text = encodeUtf8(body.text);
      out = new ByteWriter(7 + text.length).u8(ServerKind.REFUSED).u32(body.msgId).u16(body.code)
        .bytes(text).finish();
      break;
    }
    case "heartbeatAck":
      out = new ByteWriter(5).u8(ServerKind.HEARTBEAT_ACK).u32(body.headSeq).finish();
      break;
  }
  if (out.length > MAX_DATAGRAM_BYTES) {
    throw new RangeError(`datagram of ${out.length} bytes is over ${MAX_DATAGRAM_BYTES}`);
  }
  return out;
}

/** Decodes a server datagram on the client side. */
export function decodeServerDatagram(bytes: Uint8Array): ServerBody {
  if (bytes.length > MAX_DATAGRAM_BYTES) {
    throw new ProtocolError(`datagram of ${bytes.length} bytes is over ${MAX_DATAGRAM_BYTES}`, 413);
  }
  const r = new ByteReader(bytes, "server datagram");
  const kind = r.u8("Kind");
  switch (kind) {
    case ServerKind.EVENT: {
      const seq = r.u32("seq");
      const timeMs = r.u64("timeMs");
      const type = r.u8("type");
      if (type < EventType.MESSAGE || type > EventType.TIMED_OUT) {
        throw new ProtocolError(`unknown event type ${type}`);
      }
      const name = decodeUtf8(r.bytes(r.u8("nameSize"), "name"), "event name");
      const text = decodeUtf8(r.rest(), "event text");
      return { kind: "event", seq, timeMs, type: type as EventType, name, text };
    }
    case ServerKind.ACK: {
      const msgId = r.u32("msgId");
      const seq = r.u32("seq");
      r.end();
      return { kind: "ack", msgId, seq };
    }
    case ServerKind.WELCOME: {
      const headSeq = r.u32("headSeq");
      let info: unknown;
      try {
        info = JSON.parse(decodeUtf8(r.rest(), "WELCOME JSON"));
      } catch (error) {
        if (error instanceof ProtocolError) throw error;
        throw new ProtocolError("WELCOME JSON is not valid JSON");
      }
      const { room, host, members } = (info ?? {}) as Record<string, unknown>;
      if (
        typeof room !== "string" || typeof host !== "string" || !Array.isArray(members) ||
        !members.every((m) => typeof m === "string")
      ) {
        throw new ProtocolError("WELCOME JSON lacks room, host or members");
      }
      return { kind: "welcome", headSeq, room, host, members };
    }
    case ServerKind.CLOSED: {
      const reason = r.u8("reason");
      if (reason < CloseReason.HOST_LEFT || reason > CloseReason.LEFT) {
        throw new ProtocolError(`unknown CLOSED reason ${reason}`);
      }
      return { kind: "closed", reason: reason as CloseReason, text: decodeUtf8(r.rest(), "text") };
    }
    case ServerKind.ERROR: {
      const code = r.u16("code");
      if (!KNOWN_ERROR_CODES.has(code)) throw new ProtocolError(`unknown ERROR code ${code}`);
      return { kind: "error", code: code as DatagramErrorCode, text: decodeUtf8(r.rest(), "text") };
    }
    case ServerKind.REFUSED: {
      const msgId = r.u32("msgId");
      const code = r.u16("code");
      if (!KNOWN_REFUSED_CODES.has(code)) throw new ProtocolError(`unknown REFUSED code ${code}`);
      const text = decodeUtf8(r.rest(), "text");
      return { kind: "refused", msgId, code: code as RefusedCode, text };
    }
    case ServerKind.HEARTBEAT_ACK: {
      const headSeq = r.u32("headSeq");
      r.end();
      return { kind: "heartbeatAck", headSeq };
    }
    default:
      throw new ProtocolError(`unknown datagram kind 0x${kind.toString(16).padStart(2, "0")}`);
  }
}
