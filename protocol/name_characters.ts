/**
 * Which characters a name may hold (protocol revision 2, docs/protocol.md
 * section 2): the rules that keep two names that look the same from being two
 * different names. Invisible characters, blanks that are not white space,
 * characters with no agreed look (private use, unassigned), a mark with
 * nothing to sit on, a name of punctuation only, and Latin, Cyrillic and
 * Greek in one name are refused, each with an error that names the code point.
 *
 * @module
 */
import { joinerAllowed, ZWJ, ZWNJ } from "./contextj.ts";
import { ProtocolError } from "./errors.ts";
import { mixedScripts } from "./name_scripts.ts";

/** "U+200B": how an error names a code point. */
export function codePointLabel(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}

const RGI_EMOJI = /\p{RGI_Emoji}/gv;
const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/u;
const SEPARATOR = /[\p{Zl}\p{Zp}]/u;
const PRIVATE_USE = /\p{Co}/u;
const UNASSIGNED = /\p{Cn}/u;
const MARK = /\p{M}/u;
const LETTER_OR_NUMBER = /[\p{L}\p{N}]/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
const BRAILLE_BLANK = 0x2800;

function isTag(cp: number): boolean {
  return cp >= 0xe0000 && cp <= 0xe007f;
}

function isVariationSelector(cp: number): boolean {
  return (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef);
}

/**
 * The UTF-16 ranges of `name` that are RGI emoji (the sequences Unicode
 * recommends for general interchange: 👨‍👩‍👧, 🏴󠁧󠁢󠁳󠁣󠁴󠁿, ❤️). Inside them, ZWJ, VS16 and
 * tag characters are part of one emoji and are not refused.
 */
function emojiSpans(name: string): [number, number][] {
  return [...name.matchAll(RGI_EMOJI)].map((m) => [m.index, m.index + m[0].length]);
}

/** Why the character `cp` may not stand where it does, or null when it may. */
function refusal(points: readonly number[], at: number): string | null {
  const cp = points[at]!;
  const character = String.fromCodePoint(cp);
  if (cp === ZWNJ || cp === ZWJ) {
    if (joinerAllowed(points, at)) return null;
    return cp === ZWNJ
      ? "a zero width non-joiner, allowed only between joining letters or after a virama (RFC 5892)"
      : "a zero width joiner, allowed only after a virama or inside an emoji sequence";
  }
  if (isTag(cp)) return "an invisible tag character, allowed only inside an emoji flag sequence";
  if (isVariationSelector(cp)) {
    return "an invisible variation selector, allowed only inside an emoji sequence";
  }
  if (DEFAULT_IGNORABLE.test(character)) return "an invisible character (default ignorable)";
  if (cp === BRAILLE_BLANK) return "a blank that is not white space (BRAILLE PATTERN BLANK)";
  if (SEPARATOR.test(character)) return "a line or paragraph separator";
  if (PRIVATE_USE.test(character)) return "a private-use character, with no agreed look";
  if (UNASSIGNED.test(character)) return "not an assigned character in this Unicode version";
  return null;
}

/**
 * Refuses a name whose characters break the rules with a
 * {@linkcode ProtocolError} (400) whose message starts with `what` and names
 * the first offending code point as U+XXXX. The length, control-character
 * and white-space rules are names.ts's; this is what revision 2 adds.
 */
export function checkNameCharacters(name: string, what: string): void {
  const points: number[] = [];
  const inEmoji: boolean[] = [];
  const spans = emojiSpans(name);
  let span = 0;
  let offset = 0;
  for (const character of name) {
    while (span < spans.length && spans[span]![1] <= offset) span++;
    const s = spans[span];
    inEmoji.push(s !== undefined && s[0] <= offset && offset < s[1]);
    points.push(character.codePointAt(0)!);
    offset += character.length;
  }
  const first = points[0];
  if (first !== undefined && MARK.test(String.fromCodePoint(first))) {
    throw new ProtocolError(
      `${what} must not start with ${codePointLabel(first)}, a combining mark ` +
        "(it would sit on whatever is shown before the name)",
    );
  }
  let substance = spans.length > 0; // a letter, a digit or an emoji
  for (let at = 0; at < points.length; at++) {
    if (inEmoji[at]) continue;
    const why = refusal(points, at);
    if (why !== null) {
      throw new ProtocolError(`${what} must not contain ${codePointLabel(points[at]!)}: ${why}`);
    }
    const character = String.fromCodePoint(points[at]!);
    if (LETTER_OR_NUMBER.test(character) || PICTOGRAPHIC.test(character)) substance = true;
  }
  if (!substance) {
    throw new ProtocolError(`${what} must contain a letter, a digit or an emoji`);
  }
  const conflict = mixedScripts(name);
  if (conflict !== null) {
    const { first, second } = conflict;
    throw new ProtocolError(
      `${what} must not mix scripts: ${codePointLabel(first.cp)} is ${first.scripts} ` +
        `and ${codePointLabel(second.cp)} is ${second.scripts} ` +
        "(Latin, Cyrillic and Greek letters may not share a name)",
    );
  }
}
