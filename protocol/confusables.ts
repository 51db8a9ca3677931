/**
 * Names that look the same without being the same name (UTS #39 section 4,
 * confusable detection): "paypal" and "paypaI", "alice" and an all-Cyrillic
 * "аlісе". Two names are confusable when their {@linkcode confusableKeys}
 * share a key; a server refuses the second of two confusable usernames in a
 * room, and a room name confusable with an open room's.
 *
 * @module
 */
import prototypesJson from "unhomoglyph/data.json" with { type: "json" };
import { canonicalKey } from "./names.ts";

const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * Unicode's confusables.txt (13.0) as the unhomoglyph package ships it: one
 * code point to the string it may be mistaken for. Every source is a single
 * code point. Two changes:
 *
 * - As the ergo IRC server does: the table maps "m" to "rn", so that "Sam"
 *   and "Sarn" would be one name; "m" is left as it is, and the characters
 *   the table maps to "rn" because they look like an "m" (U+217F SMALL ROMAN
 *   NUMERAL ONE THOUSAND, the mathematical m's) map to "m" instead.
 * - 23 targets hold a precomposed letter whose decomposition has a source of
 *   its own (U+01C4 "Ǆ" maps to "D" + U+017D "Ž", whose U+030C maps to
 *   U+0306), so a skeleton of a skeleton could differ from the skeleton, and
 *   "Ǆ" would not meet "DŽ". Each target is mapped again, decomposed, until
 *   it no longer changes, so that one pass gives the final skeleton.
 */
const PROTOTYPES: ReadonlyMap<number, string> = (() => {
  const table = new Map<number, string>();
  for (const [source, target] of Object.entries(prototypesJson as Record<string, string>)) {
    if (source === "m") continue;
    table.set(source.codePointAt(0)!, target === "rn" ? "m" : target);
  }
  const once = (text: string) => {
    let out = "";
    for (const c of text) out += table.get(c.codePointAt(0)!) ?? c;
    return out.normalize("NFD");
  };
  const needsClosing = (target: string) => {
    for (const c of target.normalize("NFD")) if (table.has(c.codePointAt(0)!)) return true;
    return false;
  };
  for (const [source, target] of table) {
    if (!needsClosing(target)) continue;
    let closed = target.normalize("NFD");
    // Two passes close every entry of the 13.0 data; the bound only guards a cycle.
    for (let pass = 0; pass < 8; pass++) {
      const next = once(closed);
      if (next === closed) break;
      closed = next;
    }
    table.set(source, closed);
  }
  return table;
})();

/**
 * The UTS #39 skeleton of `name`: decomposed (NFD), without default-ignorable
 * characters, each character replaced by its prototype (see PROTOTYPES), and
 * decomposed again. Case is kept: "I" and "l" share a skeleton, "I" and "i" do not.
 */
export function skeleton(name: string): string {
  let mapped = "";
  for (const character of name.normalize("NFD").replace(DEFAULT_IGNORABLE, "")) {
    mapped += PROTOTYPES.get(character.codePointAt(0)!) ?? character;
  }
  return mapped.normalize("NFD");
}

/**
 * The keys under which `name` may not be taken twice: its canonical key
 * (case and normalization ignored), the lower-cased skeleton, and the
 * skeleton of the lower-cased name. Both skeleton orders count: lowering
 * first catches "PAYPAL" against "paypaI"'s "paypal", skeleton first catches
 * "paypaI" (I looks like l) against "paypal". Distinct keys only.
 */
export function confusableKeys(name: string): string[] {
  const keys = new Set<string>();
  for (
    const key of [canonicalKey(name), skeleton(name).toLowerCase(), skeleton(name.toLowerCase())]
  ) {
    // A server keeps these keys for as long as the name is taken: one equal to
    // the name (most are) is the name's own string, not a second copy of it.
    keys.add(key === name ? name : key);
  }
  return [...keys];
}

/** Whether `a` and `b` look the same: their {@linkcode confusableKeys} share a key. */
export function areConfusable(a: string, b: string): boolean {
  const keys = new Set(confusableKeys(a));
  return confusableKeys(b).some((key) => keys.has(key));
}
