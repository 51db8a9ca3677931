/**
 * RFC 5892 Appendix A.1 and A.2 (CONTEXTJ): where U+200C ZERO WIDTH
 * NON-JOINER and U+200D ZERO WIDTH JOINER change how the letters around them
 * are drawn, and so may appear in a name. Persian writes "می‌خواهم" with a
 * ZWNJ between two letters that would otherwise join; Sinhala and Malayalam
 * use a joiner after a virama.
 *
 * @module
 */
import { DUAL_JOINING, LEFT_JOINING, RIGHT_JOINING, TRANSPARENT } from "./joining_types.ts";

/** U+200C ZERO WIDTH NON-JOINER. */
export const ZWNJ = 0x200c;
/** U+200D ZERO WIDTH JOINER. */
export const ZWJ = 0x200d;

function inRanges(ranges: readonly number[], cp: number): boolean {
  // Binary search over [first, last] pairs, sorted and not overlapping.
  let low = 0;
  let high = ranges.length / 2 - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (cp < ranges[2 * middle]!) high = middle - 1;
    else if (cp > ranges[2 * middle + 1]!) low = middle + 1;
    else return true;
  }
  return false;
}

// Marks whose combining classes are known, to place another mark by. Equal
// classes are never reordered, so the probes themselves are excluded.
const CLASS_8 = "\u3099"; // COMBINING KATAKANA-HIRAGANA VOICED SOUND MARK
const CLASS_10 = "\u05b0"; // HEBREW POINT SHEVA

/**
 * Whether `cp` has Canonical_Combining_Class 9 (Virama). JavaScript has no
 * property for it, but canonical reordering reveals it: NFD puts a mark of
 * class 9 after one of class 8 and before one of class 10. This reads the
 * engine's own normalization data, so it never disagrees with normalize().
 */
export function isVirama(cp: number): boolean {
  const mark = String.fromCodePoint(cp);
  if (mark === CLASS_8 || mark === CLASS_10 || mark.normalize("NFD") !== mark) return false;
  return ("a" + mark + CLASS_8).normalize("NFD") === "a" + CLASS_8 + mark &&
    ("a" + CLASS_10 + mark).normalize("NFD") === "a" + mark + CLASS_10;
}

/** Joining_Type of `cp` as RFC 5892 uses it: "L", "D", "R", "T", or "" for any other. */
export function joiningType(cp: number): "L" | "D" | "R" | "T" | "" {
  if (inRanges(DUAL_JOINING, cp)) return "D";
  if (inRanges(RIGHT_JOINING, cp)) return "R";
  if (inRanges(TRANSPARENT, cp)) return "T";
  if (inRanges(LEFT_JOINING, cp)) return "L";
  return "";
}

/**
 * Whether the joiner at `points[at]` (ZWNJ or ZWJ) is allowed where it stands:
 * after a virama (both), or, for ZWNJ, between a left- or dual-joining letter
 * and a right- or dual-joining one, with only transparent marks between.
 */
export function joinerAllowed(points: readonly number[], at: number): boolean {
  const before = points[at - 1];
  if (before !== undefined && isVirama(before)) return true;
  if (points[at] !== ZWNJ) return false;
  let left = at - 1;
  while (left >= 0 && joiningType(points[left]!) === "T") left--;
  let right = at + 1;
  while (right < points.length && joiningType(points[right]!) === "T") right++;
  const leftType = left >= 0 ? joiningType(points[left]!) : "";
  const rightType = right < points.length ? joiningType(points[right]!) : "";
  return (leftType === "L" || leftType === "D") && (rightType === "R" || rightType === "D");
}
