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
 * {@linkcode displayText} replaces all of them. {@linkcode displayMessageText}
 * keeps U+200C and U+200D (zero-width non-joiner and joiner), which message
 * text needs: Persian and Indic scripts, and emoji sequences such as a family
 * (man ZWJ woman ZWJ girl); they neither move the cursor nor reorder a row.
 *
 * @module
 */

/** Every character {@linkcode displayText} replaces. */
const UNSAFE =
  /[\p{Cc}\u061C\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/gu;

/** The same, less the joiners U+200C and U+200D. */
const UNSAFE_IN_MESSAGES =
  /[\p{Cc}\u061C\u200B\u200E\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/gu;

/** What an unsafe character becomes. */
export const REPLACEMENT = "\uFFFD";

/**
 * `text` with every control, bidi, zero-width and separator character (see
 * the module) replaced by U+FFFD: for names, room names, hosts, refusal and
 * error texts, anything a server said that is shown as it is.
 *
 * @example
 * ```ts
 * displayText("ann\u202Egnp.exe"); // "ann\uFFFDgnp.exe"
 * ```
 */
export function displayText(text: string): string {
  return text.replace(UNSAFE, REPLACEMENT);
}

/**
 * Like {@linkcode displayText}, but keeps the joiners U+200C and U+200D, for
 * message texts (scripts and emoji sequences need them).
 */
export function displayMessageText(text: string): string {
  return text.replace(UNSAFE_IN_MESSAGES, REPLACEMENT);
}

/** True when {@linkcode displayText} would leave `text` as it is. */
export function isDisplaySafe(text: string): boolean {
  UNSAFE.lastIndex = 0;
  return !UNSAFE.test(text);
}

/**
 * A JSON text with every character {@linkcode displayText} replaces that is
 * still raw in it (JSON.stringify escapes only C0) written as a `\uXXXX`
 * escape instead: the same JSON value, with nothing a terminal obeys. Valid
 * only on JSON text, where such characters can appear only inside strings.
 */
export function escapeJsonForDisplay(json: string): string {
  return json.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
