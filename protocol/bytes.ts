import { ProtocolError } from "./errors.ts";

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** The parts, one after the other, in a new array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((size, part) => size + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of `bytes`, two digits a byte (map keys, logs, JSON fields). */
export function bytesToHex(bytes: Uint8Array): string {
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += HEX[bytes[i]!];
  return hex;
}

/**
 * Whether two byte arrays are equal; for equal lengths it takes the same
 * time wherever they differ (for tokens, keys and fingerprints).
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/** Encodes a string as UTF-8. */
export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Decodes strict UTF-8; invalid sequences are a {@linkcode ProtocolError}. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new ProtocolError(`${what} is not valid UTF-8`);
  }
}

/**
 * Reads big-endian fields from a byte array, throwing a
 * {@linkcode ProtocolError} instead of reading past the end.
 */
export class ByteReader {
  #bytes: Uint8Array;
  #view: DataView;
  #offset = 0;
  #what: string;

  /** `what` names the frame in error messages ("HELLO datagram"). */
  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#what = what;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  #need(n: number, field: string): void {
    if (this.remaining < n) {
      throw new ProtocolError(`${this.#what} is truncated: ${field} is missing`);
    }
  }

  /** Reads one unsigned byte. */
  u8(field: string): number {
    this.#need(1, field);
    return this.#view.getUint8(this.#offset++);
  }

  /** Reads an unsigned 16-bit integer. */
  u16(field: string): number {
    this.#need(2, field);
    const value = this.#view.getUint16(this.#offset);
    this.#offset += 2;
    return value;
  }

  /** Reads an unsigned 32-bit integer. */
  u32(field: string): number {
    this.#need(4, field);
    const value = this.#view.getUint32(this.#offset);
    this.#offset += 4;
    return value;
  }

  /** Reads an unsigned 64-bit integer that must fit a safe JavaScript number. */
  u64(field: string): number {
    this.#need(8, field);
    const value = this.#view.getBigUint64(this.#offset);
    this.#offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ProtocolError(`${this.#what}: ${field} is out of range`);
    }
    return Number(value);
  }

  /** Reads `n` bytes as a view (no copy). */
  bytes(n: number, field: string): Uint8Array {
    this.#need(n, field);
    const slice = this.#bytes.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return slice;
  }

  /** Reads everything left as a view (no copy). */
  rest(): Uint8Array {
    return this.bytes(this.remaining, "rest");
  }

  /** Throws when bytes are left over after the last field. */
  end(): void {
    if (this.remaining !== 0) {
      throw new ProtocolError(`${this.#what} has ${this.remaining} unexpected trailing bytes`);
    }
  }
}

/** Writes big-endian fields into a buffer sized up front. */
export class ByteWriter {
  #bytes: Uint8Array;
  #view: DataView;
  #offset = 0;

  /** Allocates exactly `size` bytes. */
  constructor(size: number) {
    this.#bytes = new Uint8Array(size);
    this.#view = new DataView(this.#bytes.buffer);
  }

  /** Writes one byte. */
  u8(value: number): this {
    this.#view.setUint8(this.#offset++, value);
    return this;
  }

  /** Writes an unsigned 16-bit integer. */
  u16(value: number): this {
    this.#view.setUint16(this.#offset, value);
    this.#offset += 2;
    return this;
  }

  /** Writes an unsigned 32-bit integer. */
  u32(value: number): this {
    this.#view.setUint32(this.#offset, value);
    this.#offset += 4;
    return this;
  }

  /** Writes an unsigned 64-bit integer. */
  u64(value: number): this {
    this.#view.setBigUint64(this.#offset, BigInt(value));
    this.#offset += 8;
    return this;
  }

  /** Copies bytes in. */
  bytes(value: Uint8Array): this {
    this.#bytes.set(value, this.#offset);
    this.#offset += value.length;
    return this;
  }

  /** The finished buffer; throws if it was not filled exactly. */
  finish(): Uint8Array {
    if (this.#offset !== this.#bytes.length) {
      throw new RangeError(`ByteWriter filled ${this.#offset} of ${this.#bytes.length} bytes`);
    }
    return this.#bytes;
  }
}
