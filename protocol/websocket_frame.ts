/**
 * The WebSocket framing of RFC 6455 (section 5) that the chat server speaks:
 * no extensions, every frame it sends final (never fragmented), client
 * frames masked. Pure: bytes in, messages or a {@linkcode WebSocketFrameError}
 * (with the close code to answer) out; no I/O, no Deno API, so the page's
 * bundle may import it too.
 *
 * The parser checks a frame's declared length against the current limit as
 * soon as its length field is in, before any of its payload is held: a
 * client cannot make the server buffer more than one message of the limit.
 *
 * @module
 */

/** The opcodes of RFC 6455 section 5.2; every other value is refused (1002). */
export const WsOpcode = {
  CONTINUATION: 0,
  TEXT: 1,
  BINARY: 2,
  CLOSE: 8,
  PING: 9,
  PONG: 10,
} as const;

/** The close codes a WebSocket frame error maps to (RFC 6455 section 7.4.1). */
export type WebSocketFrameCloseCode = 1002 | 1003 | 1007 | 1009;

/**
 * The one error of this module: the peer's bytes broke the framing rules.
 * `closeCode` is what the connection closes with: 1002 protocol error, 1003
 * unacceptable data, 1007 invalid UTF-8 in a close reason, 1009 too big.
 */
export class WebSocketFrameError extends Error {
  /** The close code the peer should get. */
  readonly closeCode: WebSocketFrameCloseCode;

  /** Creates an error with a person-readable message and a close code. */
  constructor(message: string, closeCode: WebSocketFrameCloseCode) {
    super(message);
    this.name = "WebSocketFrameError";
    this.closeCode = closeCode;
  }
}

/**
 * One whole message: a data message (TEXT or BINARY, its fragments joined)
 * or a control frame (CLOSE, PING, PONG), in the order they arrived.
 */
export interface WsMessage {
  opcode: number;
  payload: Uint8Array;
}

/** Options for {@linkcode WebSocketMessageParser}. */
export interface WebSocketMessageParserOptions {
  /** The largest data message accepted (all its fragments together); over it: 1009. */
  maxMessageBytes: number;
  /**
   * Whether frames must be masked: true (the default) reads a client's frames,
   * as a server does; false reads a server's frames, which must not be (a
   * test or bench client).
   */
  masked?: boolean;
}

/** The largest payload of a control frame (RFC 6455 section 5.5). */
export const MAX_CONTROL_PAYLOAD = 125;
/** The longest frame header: 2 bytes, a 64-bit length, a 4-byte mask. */
const MAX_HEADER_BYTES = 14;

/**
 * Reassembles WebSocket messages from a byte stream split or joined
 * anywhere. It holds at most one frame header (14 bytes) plus the payload of
 * the message under way, copied once from each chunk into a buffer of the
 * declared size; it never copies what it holds on a later push.
 *
 * @example
 * ```ts
 * const parser = new WebSocketMessageParser({ maxMessageBytes: 4096 });
 * const mask = new Uint8Array([1, 2, 3, 4]);
 * const frame = encodeWebSocketFrame(WsOpcode.BINARY, new Uint8Array([7, 8]), mask);
 * parser.push(frame.subarray(0, 3)); // [] (not whole yet)
 * parser.push(frame.subarray(3)); // [{ opcode: 2, payload: Uint8Array [7, 8] }]
 * parser.maxMessageBytes = 16; // a phase change: later headers are checked against 16
 * ```
 */
export class WebSocketMessageParser {
  /** The limit a data frame's header is checked against; may change between pushes. */
  maxMessageBytes: number;
  #masked: boolean;
  /** The frame header being read (its first `#headLength` bytes). */
  #head = new Uint8Array(MAX_HEADER_BYTES);
  #headLength = 0;
  /** The frame whose payload is being read, or null while reading a header. */
  #frame: { opcode: number; fin: boolean; payload: Uint8Array } | null = null;
  /** The frame's masking key (zeros for unmasked frames: XOR with 0 changes nothing). */
  #mask = new Uint8Array(4);
  #payloadRead = 0;
  /** The data message under way: its opcode and the payloads of its earlier fragments. */
  #message: { opcode: number; parts: Uint8Array[]; bytes: number } | null = null;
  /** An error held back because the same push completed messages before it. */
  #failure: WebSocketFrameError | null = null;

  /** Creates a parser with a message limit. */
  constructor(options: WebSocketMessageParserOptions) {
    this.maxMessageBytes = options.maxMessageBytes;
    this.#masked = options.masked ?? true;
  }

  /** Bytes held that do not yet make a whole message (headers and payloads so far). */
  get pendingBytes(): number {
    return this.#headLength + this.#payloadRead + (this.#message?.bytes ?? 0);
  }

  /**
   * Adds a chunk; returns every message it completes (often none). A framing
   * error throws, unless this chunk completed messages before it: then those
   * are returned and the next call throws, so that what comes out does not
   * depend on how the stream was split. After an error every call throws it.
   */
  push(chunk: Uint8Array): WsMessage[] {
    if (this.#failure !== null) throw this.#failure;
    const messages: WsMessage[] = [];
    let at = 0;
    try {
      while (at < chunk.length || this.#frameDoneWithoutBytes()) {
        if (this.#frame === null) {
          at = this.#readHead(chunk, at);
          if (this.#frame === null) break; // the header needs more bytes
        }
        at = this.#readPayload(chunk, at);
        const frame = this.#frame;
        if (this.#payloadRead < frame.payload.length) break;
        this.#frame = null;
        this.#payloadRead = 0;
        const message = this.#finishFrame(frame);
        if (message !== null) messages.push(message);
      }
    } catch (error) {
      if (!(error instanceof WebSocketFrameError)) throw error;
      this.#failure = error;
      if (messages.length > 0) return messages;
      throw error;
    }
    return messages;
  }

  /** A frame with an empty payload is whole once its header is. */
  #frameDoneWithoutBytes(): boolean {
    return this.#frame !== null && this.#frame.payload.length === 0;
  }

  /** Copies header bytes from `chunk` at `at`; sets `#frame` once the header is whole. */
  #readHead(chunk: Uint8Array, at: number): number {
    const head = this.#head;
    while (at < chunk.length) {
      head[this.#headLength++] = chunk[at++]!;
      if (this.#headLength === 2) this.#checkFirstBytes();
      if (this.#headLength >= 2 && this.#headLength === this.#headBytesNeeded()) {
        this.#startFrame();
        return at;
      }
    }
    return at;
  }

  /** How long the header is, from its first two bytes. */
  #headBytesNeeded(): number {
    const length7 = this.#head[1]! & 0x7f;
    const extended = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    return 2 + extended + (this.#masked ? 4 : 0);
  }

  /** Everything the first two bytes can refuse, before the rest of the header comes. */
  #checkFirstBytes(): void {
    const b0 = this.#head[0]!;
    const b1 = this.#head[1]!;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if ((b0 & 0x70) !== 0) throw new WebSocketFrameError("a reserved bit is set", 1002);
    if ((b1 & 0x80) === 0 && this.#masked) {
      throw new WebSocketFrameError("a client frame is not masked", 1002);
    }
    if ((b1 & 0x80) !== 0 && !this.#masked) {
      throw new WebSocketFrameError("a server frame is masked", 1002);
    }
    if (opcode >= 8) {
      if (opcode > WsOpcode.PONG) throw new WebSocketFrameError(`unknown opcode ${opcode}`, 1002);
      if (!fin) throw new WebSocketFrameError("a control frame is fragmented", 1002);
      if ((b1 & 0x7f) > MAX_CONTROL_PAYLOAD) {
        throw new WebSocketFrameError("a control frame is longer than 125 bytes", 1002);
      }
      return;
    }
    if (opcode === WsOpcode.CONTINUATION) {
      if (this.#message === null) {
        throw new WebSocketFrameError("a continuation frame without a message to continue", 1002);
      }
    } else if (opcode === WsOpcode.TEXT || opcode === WsOpcode.BINARY) {
      if (this.#message !== null) {
        throw new WebSocketFrameError("a new message inside a fragmented one", 1002);
      }
    } else {
      throw new WebSocketFrameError(`unknown opcode ${opcode}`, 1002);
    }
  }

  /** The header is whole: its length is checked against the limit, then its payload is read. */
  #startFrame(): void {
    const head = this.#head;
    const length7 = head[1]! & 0x7f;
    let length: number;
    let maskAt: number;
    if (length7 === 126) {
      length = head[2]! << 8 | head[3]!;
      maskAt = 4;
    } else if (length7 === 127) {
      // Any value is read (the top bit, a short length in 8 bytes): it is checked below.
      length = 0;
      for (let i = 2; i < 10; i++) length = length * 256 + head[i]!;
      maskAt = 10;
    } else {
      length = length7;
      maskAt = 2;
    }
    const opcode = head[0]! & 0x0f;
    if (opcode < 8) {
      const before = this.#message?.bytes ?? 0;
      if (before + length > this.maxMessageBytes) {
        throw new WebSocketFrameError(
          `a message of ${before + length} bytes is over the limit of ${this.maxMessageBytes}`,
          1009,
        );
      }
    }
    this.#headLength = 0; // from here on the payload is what is held
    if (this.#masked) this.#mask.set(head.subarray(maskAt, maskAt + 4));
    this.#frame = { opcode, fin: (head[0]! & 0x80) !== 0, payload: new Uint8Array(length) };
  }

  /** Copies (and unmasks) payload bytes from `chunk` at `at`. */
  #readPayload(chunk: Uint8Array, at: number): number {
    const frame = this.#frame!;
    const take = Math.min(frame.payload.length - this.#payloadRead, chunk.length - at);
    if (take <= 0) return at;
    const start = this.#payloadRead;
    const payload = frame.payload;
    const mask = this.#mask;
    // Copied and unmasked in one pass (no view of the chunk to allocate).
    for (let i = 0; i < take; i++) payload[start + i] = chunk[at + i]! ^ mask[(start + i) & 3]!;
    this.#payloadRead += take;
    return at + take;
  }

  /** A whole frame: a control frame is a message; a data frame ends one or adds to it. */
  #finishFrame(frame: { opcode: number; fin: boolean; payload: Uint8Array }): WsMessage | null {
    if (frame.opcode >= 8) {
      if (frame.opcode === WsOpcode.CLOSE) decodeClosePayload(frame.payload); // throws if bad
      return { opcode: frame.opcode, payload: frame.payload };
    }
    if (frame.opcode !== WsOpcode.CONTINUATION) {
      if (frame.fin) return { opcode: frame.opcode, payload: frame.payload };
      this.#message = { opcode: frame.opcode, parts: [frame.payload], bytes: frame.payload.length };
      return null;
    }
    const message = this.#message!;
    message.parts.push(frame.payload);
    message.bytes += frame.payload.length;
    if (!frame.fin) return null;
    this.#message = null;
    return { opcode: message.opcode, payload: joinParts(message.parts, message.bytes) };
  }
}

function joinParts(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Encodes one final frame (servers never need to fragment). With a 4-byte
 * `mask` (a client: tests and the bench) the payload is masked with it.
 *
 * @example
 * ```ts
 * const ping = encodeWebSocketFrame(WsOpcode.PING, new Uint8Array(0)); // [0x89, 0x00]
 * const mask = crypto.getRandomValues(new Uint8Array(4));
 * const fromClient = encodeWebSocketFrame(WsOpcode.BINARY, new Uint8Array([1, 2]), mask);
 * ```
 */
export function encodeWebSocketFrame(
  opcode: number,
  payload: Uint8Array,
  mask?: Uint8Array,
): Uint8Array {
  if (mask !== undefined && mask.length !== 4) throw new RangeError("a mask is 4 bytes");
  if (opcode >= 8 && payload.length > MAX_CONTROL_PAYLOAD) {
    throw new RangeError(`a control frame carries at most ${MAX_CONTROL_PAYLOAD} bytes`);
  }
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const maskAt = 2 + lengthBytes;
  const payloadAt = maskAt + (mask === undefined ? 0 : 4);
  const out = new Uint8Array(payloadAt + length);
  const view = new DataView(out.buffer);
  out[0] = 0x80 | opcode;
  out[1] = (mask === undefined ? 0 : 0x80) |
    (lengthBytes === 0 ? length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) view.setUint16(2, length);
  if (lengthBytes === 8) {
    view.setUint32(2, Math.floor(length / 2 ** 32));
    view.setUint32(6, length >>> 0);
  }
  out.set(payload, payloadAt);
  if (mask !== undefined) {
    out.set(mask, maskAt);
    for (let i = 0; i < length; i++) out[payloadAt + i]! ^= mask[i & 3]!;
  }
  return out;
}

/**
 * Whether a close code may be sent or received (RFC 6455 section 7.4: the
 * defined codes 1000-1003 and 1007-1011, and 3000-4999 for libraries and
 * applications). 1005 and 1006 only describe a close; they never travel.
 */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
    (code >= 3000 && code <= 4999);
}

/** The most a close reason may take: 125 bytes of payload less the 2-byte code. */
export const MAX_CLOSE_REASON_BYTES = 123;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The payload of a close frame: the code, then the reason in UTF-8, cut at a
 * character boundary to 123 bytes so that the frame stays a control frame.
 * An invalid code is a RangeError (a bug in the caller, not the peer's doing).
 *
 * @example
 * ```ts
 * encodeClosePayload(1000, "bye"); // Uint8Array [0x03, 0xe8, 0x62, 0x79, 0x65]
 * ```
 */
export function encodeClosePayload(code: number, reason: string): Uint8Array {
  if (!isValidCloseCode(code)) throw new RangeError(`${code} is not a close code that may be sent`);
  let text = utf8.encode(reason);
  if (text.length > MAX_CLOSE_REASON_BYTES) {
    let end = MAX_CLOSE_REASON_BYTES;
    while ((text[end]! & 0xc0) === 0x80) end--; // not inside a character
    text = text.subarray(0, end);
  }
  const out = new Uint8Array(2 + text.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}

/**
 * Reads a close frame's payload. Empty means no code: 1005 (RFC 6455
 * section 7.1.5), with an empty reason. One byte, or an invalid code, is a
 * 1002 {@linkcode WebSocketFrameError}; a reason that is not UTF-8, 1007.
 *
 * @example
 * ```ts
 * decodeClosePayload(encodeClosePayload(4426, "reload")); // { code: 4426, reason: "reload" }
 * decodeClosePayload(new Uint8Array(0)); // { code: 1005, reason: "" }
 * ```
 */
export function decodeClosePayload(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length === 0) return { code: 1005, reason: "" };
  if (payload.length === 1) throw new WebSocketFrameError("a close frame of 1 byte", 1002);
  const code = payload[0]! << 8 | payload[1]!;
  if (!isValidCloseCode(code)) throw new WebSocketFrameError(`close code ${code} is invalid`, 1002);
  try {
    return { code, reason: strictUtf8.decode(payload.subarray(2)) };
  } catch {
    throw new WebSocketFrameError("a close reason is not valid UTF-8", 1007);
  }
}
