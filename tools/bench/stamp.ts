/**
 * What the bench puts in a message text and how a receiver reads it back
 * from an EVENT datagram, without a general decoder on the hot path.
 *
 * Text: `<step>:<sender>:<seq>:<sentMicros>`, ASCII decimal; `sender` is the
 * member's global index, `seq` counts the sender's messages in the step from
 * 0, `sentMicros` is {@linkcode nowMicros} at send time.
 */
import { ServerKind } from "../../protocol/datagram.ts";

/** A stamp read from an EVENT. */
export interface Stamp {
  /** The room's event seq. */
  eventSeq: number;
  step: number;
  sender: number;
  seq: number;
  sentMicros: number;
}

const encoder = new TextEncoder();

/** The text bytes of a stamp. */
export function stampText(
  step: number,
  sender: number,
  seq: number,
  sentMicros: number,
): Uint8Array {
  return encoder.encode(`${step}:${sender}:${seq}:${sentMicros}`);
}

/**
 * A stamp of at least `bytes` bytes: leading zeros in front of the step,
 * which {@linkcode readEventStamp} reads as the same number (a larger
 * message for the same stamp, e.g. to fill a stalled reader's buffers sooner).
 */
export function paddedStampText(
  bytes: number,
  step: number,
  sender: number,
  seq: number,
  sentMicros: number,
): Uint8Array {
  const text = `${step}:${sender}:${seq}:${sentMicros}`;
  return encoder.encode("0".repeat(Math.max(0, bytes - text.length)) + text);
}

const COLON = 0x3a;

/**
 * Reads an EVENT datagram (kind, seq u32, time u64, type, nameSize, name,
 * text). Returns the event's seq and, when the text is a stamp, the stamp
 * fields; null for any other datagram. Writes into `out` to avoid allocation.
 */
export function readEventStamp(bytes: Uint8Array, out: Stamp): "stamp" | "event" | null {
  if (bytes.length < 15 || bytes[0] !== ServerKind.EVENT) return null;
  out.eventSeq = ((bytes[1]! << 24) >>> 0) + (bytes[2]! << 16) + (bytes[3]! << 8) + bytes[4]!;
  let i = 15 + bytes[14]!;
  const fields = [0, 0, 0, 0];
  let field = 0;
  let digits = 0;
  for (; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === COLON) {
      if (digits === 0 || field === 3) return "event";
      field++;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      fields[field] = fields[field]! * 10 + (c - 0x30);
      digits++;
    } else {
      return "event";
    }
  }
  if (field !== 3 || digits === 0) return "event";
  out.step = fields[0]!;
  out.sender = fields[1]!;
  out.seq = fields[2]!;
  out.sentMicros = fields[3]!;
  return "stamp";
}
