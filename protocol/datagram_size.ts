/**
 * Size rules of server datagrams that depend on what is in them: whether an
 * EVENT for a message fits in one datagram, and how much of a member list a
 * WELCOME can carry. The server applies them before it records or answers,
 * so the encoder never meets a body it cannot encode.
 *
 * @module
 */
import { encodeUtf8 } from "./bytes.ts";
import { EVENT_HEADER_BYTES, MAX_DATAGRAM_BYTES } from "./datagram.ts";

/**
 * WELCOME's member list is cut after this many bytes of names (worst-case
 * UTF-8 plus JSON quotes and comma), so that with a 255-byte room name and a
 * host name the datagram stays well under {@linkcode MAX_DATAGRAM_BYTES}.
 */
export const WELCOME_NAMES_BUDGET_BYTES = 3_000;

/**
 * The size of the EVENT datagram that would carry `name` and `text`, when it
 * is over {@linkcode MAX_DATAGRAM_BYTES}; null when it fits. `overhead` is
 * what the datagram carries besides the plain EVENT: 0 in a plain room,
 * ROOM_OVERHEAD_BYTES (94: header, tag and signature) in a sealed one, so
 * a sealed room refuses (413) what its sealed datagram could not carry.
 * UTF-8 takes at most 3 bytes a UTF-16 unit, so the texts are encoded to
 * measure them only when that bound says they might not fit (a message
 * relay calls this for every MESSAGE).
 *
 * @example
 * ```ts
 * oversizedEventBytes("ann", "hi"); // null
 * oversizedEventBytes("ann", "x".repeat(4090)); // 4108
 * oversizedEventBytes("ann", "x".repeat(4000), 94); // 4112
 * ```
 */
export function oversizedEventBytes(name: string, text: string, overhead = 0): number | null {
  const fixed = EVENT_HEADER_BYTES + overhead;
  if (fixed + 3 * (name.length + text.length) <= MAX_DATAGRAM_BYTES) return null;
  const bytes = fixed + encodeUtf8(name).length + encodeUtf8(text).length;
  return bytes > MAX_DATAGRAM_BYTES ? bytes : null;
}

/**
 * The first names of `members` that fit in a WELCOME (see
 * {@linkcode WELCOME_NAMES_BUDGET_BYTES}); the full list is the room's
 * business, not the datagram's.
 */
export function welcomeMembers(members: Iterable<string>): string[] {
  const names: string[] = [];
  let budget = WELCOME_NAMES_BUDGET_BYTES;
  for (const name of members) {
    budget -= name.length * 3 + 3;
    if (budget < 0) break;
    names.push(name);
  }
  return names;
}

/**
 * Bytes of `text` in UTF-8, as TextEncoder would write it (a lone surrogate
 * as U+FFFD, 3 bytes), counted without encoding: for sizing datagrams that
 * may never be encoded (replays waiting in a queue that may drop them).
 */
export function utf8ByteLength(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      bytes += 1;
    } else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 2; // a pair: 2 units, 4 bytes
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** The size of the EVENT datagram that carries `event`, without encoding it. */
export function eventDatagramBytes(event: { name: string; text: string }): number {
  return EVENT_HEADER_BYTES + utf8ByteLength(event.name) + utf8ByteLength(event.text);
}
