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
 * code point, and no target holds a source, so one pass maps a string fully.
 *
 * Changed as the ergo IRC server changes it: the table maps "m" to "rn", so
 * that "Sam" and "Sarn" would be one name; "m" is left as it is, and the
 * characters the table maps to "rn" because they look like an "m" (U+217F
 * SMALL ROMAN NUMERAL ONE THOUSAND, the mathematical m's) map to "m" instead.
 */
const PROTOTYPES: ReadonlyMap<number, string> = (() => {
  const table = new Map<number, string>();
  for (const [source, target] of Object.entries(prototypesJson as Record<string, string>)) {
    if (source === "m") continue;
    table.set(source.codePointAt(0)!, target === "rn" ? "m" : target);
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
  const keys = [
    canonicalKey(name),
    skeleton(name).toLowerCase(),
    skeleton(name.toLowerCase()),
  ];
  return [...new Set(keys)];
}

/** Whether `a` and `b` look the same: their {@linkcode confusableKeys} share a key. */
export function areConfusable(a: string, b: string): boolean {
  const keys = new Set(confusableKeys(a));
  return confusableKeys(b).some((key) => keys.has(key));
}
