/**
 * The mixed-script rule of the name rules: UTS #39 Moderately Restrictive,
 * for the three scripts whose letters are most often mistaken for each other.
 * A name may not mix Latin with Cyrillic, Latin with Greek, or Cyrillic with
 * Greek ("аlice" with a Cyrillic а). Other mixtures stay allowed: Japanese
 * with Latin, Arabic with digits, and so on.
 *
 * @module
 */

const SCRIPTS = [
  { name: "Latin", pattern: /\p{scx=Latn}/u },
  { name: "Cyrillic", pattern: /\p{scx=Cyrl}/u },
  { name: "Greek", pattern: /\p{scx=Grek}/u },
] as const;

const ALL = 0b111;

/**
 * Which of Latin, Cyrillic and Greek a character may belong to, as bits:
 * from its Script_Extensions, so that a character used by several of them
 * (U+0301 COMBINING ACUTE ACCENT, U+0485) counts as each. A character of
 * none (Common, Inherited, or another script: digits, Kana) constrains
 * nothing, so it gets all three.
 */
function scriptBits(character: string): number {
  let bits = 0;
  SCRIPTS.forEach(({ pattern }, i) => {
    if (pattern.test(character)) bits |= 1 << i;
  });
  return bits === 0 ? ALL : bits;
}

function scriptNames(bits: number): string {
  return SCRIPTS.filter((_, i) => (bits & (1 << i)) !== 0).map((s) => s.name).join("/");
}

/** Two characters of `name` that cannot share one script, with their scripts. */
export interface ScriptConflict {
  /** The earlier character, and the scripts it may belong to ("Latin", "Cyrillic/Latin"). */
  first: { cp: number; scripts: string };
  /** The character that cannot share a script with it. */
  second: { cp: number; scripts: string };
}

/**
 * The first pair of characters that puts `name` in two of Latin, Cyrillic and
 * Greek at once (UTS #39: the resolved script set, narrowed to those three, is
 * empty), or null when it stays in one of them or none.
 */
export function mixedScripts(name: string): ScriptConflict | null {
  let resolved = ALL;
  const seen: { cp: number; bits: number }[] = [];
  for (const character of name) {
    const bits = scriptBits(character);
    if (bits === ALL) continue;
    const cp = character.codePointAt(0)!;
    if ((resolved & bits) === 0) {
      // Name the earliest character that cannot go with this one; with three
      // scripts there may be none alone (Latin/Cyrillic, then Cyrillic/Greek,
      // then Latin/Greek), and then the one that narrowed the set last.
      const other = seen.find((s) => (s.bits & bits) === 0) ?? seen.at(-1)!;
      return {
        first: { cp: other.cp, scripts: scriptNames(other.bits) },
        second: { cp, scripts: scriptNames(bits) },
      };
    }
    resolved &= bits;
    seen.push({ cp, bits });
  }
  return null;
}
