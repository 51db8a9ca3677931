/**
 * What the composer sends, by the terminal client's rules
 * (client/screen/chat_view.ts): a paste's line ends become \n, tabs four
 * spaces, other control characters are dropped; every complete line that is
 * not blank is one message, and a paste of more than
 * {@linkcode PASTE_CONFIRM_LINES} lines asks first. Enter sends the whole
 * composer the same way (Shift+Enter puts a line end in it). The byte limit
 * is the terminal's too: both our MESSAGE and the EVENT the server relays
 * must fit in one datagram. Pure: no DOM.
 *
 * @module
 */
import { EVENT_HEADER_BYTES, MAX_DATAGRAM_BYTES } from "../../protocol/datagram.ts";

/** A paste (or a send) of more lines than this asks before sending them. */
export const PASTE_CONFIRM_LINES = 3;
/** Bytes of a member's token in a MESSAGE datagram (the terminal counts it too). */
const TOKEN_BYTES = 32;

const encoder = new TextEncoder();

/** UTF-8 bytes of `text`. */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

/**
 * The most UTF-8 bytes one message may have in `room` as `username`: the
 * smaller of what a MESSAGE carries beside the room name and token and what
 * an EVENT carries beside the sender's name (as the terminal computes it).
 */
export function messageByteLimit(room: string, username: string): number {
  return Math.min(
    MAX_DATAGRAM_BYTES - 2 - utf8Length(room) - TOKEN_BYTES - 5,
    MAX_DATAGRAM_BYTES - EVENT_HEADER_BYTES - utf8Length(username),
  );
}

/** A paste as the terminal takes it: \r\n and \r as \n, tabs as four spaces, controls dropped. */
export function normalizePaste(raw: string): string {
  return raw.replace(/\r\n?/g, "\n").replace(/\t/g, "    ").replace(/(?!\n)\p{Cc}/gu, "");
}

/** What a paste into the composer does. */
export interface PasteOutcome {
  /** Complete, non-blank lines to send, in order (empty: nothing to send). */
  toSend: string[];
  /** What stays in the composer: the text after the paste's last line end. */
  keep: string;
  /** The caret in `keep` (for a paste without line end: after the pasted text). */
  caret: number;
}

/**
 * A paste of `raw` into `text` between `start` and `end` (the selection):
 * without a line end it is simply typed; with one, every complete line of
 * the result (trailing spaces trimmed, blank lines skipped) is sent and the
 * last, incomplete one stays, as in the terminal.
 */
export function pasteInto(text: string, start: number, end: number, raw: string): PasteOutcome {
  const pasted = normalizePaste(raw);
  const before = text.slice(0, start);
  const after = text.slice(end);
  if (!pasted.includes("\n")) {
    return { toSend: [], keep: before + pasted + after, caret: before.length + pasted.length };
  }
  const lines = (before + pasted + after).split("\n");
  const keep = lines.pop()!;
  return { toSend: linesToSend(lines), keep, caret: keep.length - after.length };
}

/**
 * The messages Enter sends for the composer's `text`: each non-blank line
 * (Shift+Enter makes several), trailing spaces trimmed; a line that is only
 * spaces is not a message.
 */
export function messagesOf(text: string): string[] {
  return linesToSend(normalizePaste(text).split("\n"));
}

function linesToSend(lines: string[]): string[] {
  return lines.map((line) => line.trimEnd()).filter((line) => line.trim() !== "");
}

/** True when sending `count` lines at once asks first. */
export function needsConfirm(count: number): boolean {
  return count > PASTE_CONFIRM_LINES;
}

/** The counter: bytes used, the limit, and whether each line fits. */
export interface ByteCount {
  /** UTF-8 bytes of the longest message the text makes. */
  used: number;
  limit: number;
  over: boolean;
}

/** The byte counter for the composer's `text` (the longest line counts: each is a message). */
export function countBytes(text: string, limit: number): ByteCount {
  let used = 0;
  for (const line of messagesOf(text)) used = Math.max(used, utf8Length(line));
  return { used, limit, over: used > limit };
}
