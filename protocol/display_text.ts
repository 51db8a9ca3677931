/**
 * Text a server sent, made safe to show on a terminal. A server (or anyone
 * who reaches a client as one) chooses refusal texts, room names, member
 * names and hosts; written raw, an escape sequence in one would move the
 * cursor, retitle the window or rewrite the screen, and a bidi override would
 * reorder what follows it. Pure: no I/O, usable by every front end.
 *
 * What is replaced, each by U+FFFD (visible, one cell, never a control):
 * - control characters: C0 (U+0000–001F, tab included), DEL (U+007F), C1 (U+0080–009F);
 * - bidi controls: U+202A–202E (embeddings, overrides), U+2066–2069 (isolates),
 *   U+200E, U+200F, U+061C (the marks);
 * - zero-width and invisible characters: U+200B–200F, U+2060–2064, U+FEFF;
 * - line and paragraph separators U+2028, U+2029 (some terminals break the line).
 *
 * The one exception is a joiner where it joins: U+200C and U+200D are kept
 * inside an RGI emoji sequence (a family: man ZWJ woman ZWJ girl) and where
 * RFC 5892's CONTEXTJ rules allow them (after a virama; ZWNJ between joining
 * letters, as Persian writes), the places the name rules allow them in
 * names (protocol/name_characters.ts). Anywhere else a joiner is only a
 * hidden character, and is replaced.
 *
 * @module
 */
import { joinerAllowed } from "./contextj.ts";

/** Every character {@linkcode displayText} may replace. */
const UNSAFE =
  /[\p{Cc}\u061C\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/gu;
const ANY_UNSAFE = new RegExp(UNSAFE.source, "u");
const JOINER = /[\u200C\u200D]/;
const RGI_EMOJI = /\p{RGI_Emoji}/gv;

/** What an unsafe character becomes. */
export const REPLACEMENT = "\uFFFD";

/**
 * `text` with every control, bidi, zero-width and separator character (see
 * the module) replaced by U+FFFD, but joiners where they join: for
 * anything a server sent that is shown as it is (names, room names, hosts,
 * refusal and error texts, messages).
 *
 * @example
 * ```ts
 * displayText("ann\u202Egnp.exe"); // "ann\uFFFDgnp.exe"
 * ```
 */
export function displayText(text: string): string {
  if (!ANY_UNSAFE.test(text)) return text;
  if (!JOINER.test(text)) return text.replace(UNSAFE, REPLACEMENT);
  const kept = joinersThatJoin(text);
  return text.replace(UNSAFE, (c: string, at: number) => kept.has(at) ? c : REPLACEMENT);
}

/** The UTF-16 offsets of the joiners in `text` that are part of an emoji or allowed by CONTEXTJ. */
function joinersThatJoin(text: string): Set<number> {
  const kept = new Set<number>();
  for (const match of text.matchAll(RGI_EMOJI)) {
    for (let i = 0; i < match[0].length; i++) {
      if (JOINER.test(match[0][i]!)) kept.add(match.index + i);
    }
  }
  const points: number[] = [];
  const offsets: number[] = [];
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i)!;
    points.push(cp);
    offsets.push(i);
    i += cp > 0xffff ? 2 : 1;
  }
  points.forEach((cp, at) => {
    if ((cp === 0x200c || cp === 0x200d) && joinerAllowed(points, at)) kept.add(offsets[at]!);
  });
  return kept;
}

/** True when {@linkcode displayText} would leave `text` as it is. */
export function isDisplaySafe(text: string): boolean {
  return displayText(text) === text;
}

/**
 * A JSON text with every character {@linkcode displayText} may replace
 * (joiners too) that is still raw in it (JSON.stringify escapes only C0)
 * written as a `\uXXXX` escape instead: the same JSON value, with nothing a
 * terminal obeys. Valid only on JSON text, where such characters can appear
 * only inside strings.
 */
export function escapeJsonForDisplay(json: string): string {
  return json.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
