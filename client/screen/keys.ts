/**
 * The key parser of the chat screen: decoded terminal input (raw mode) in,
 * keys out. Control keys arrive as bytes in raw mode (Ctrl+C is 0x03, not a
 * signal); escape sequences that a read cut in two stay buffered until the
 * rest arrives; a lone Esc counts only once {@linkcode KeyParser.flush} is
 * called (the caller does so after about 50 ms of quiet); a bracketed paste
 * (`ESC [200~` … `ESC [201~`) comes out as one key, however many reads it
 * took. Pure: no I/O, no timers.
 */

/** Named keys; "ctrl+x" for control letters. */
export type KeyName =
  | "enter"
  | "tab"
  | "backspace"
  | "delete"
  | "escape"
  | "up"
  | "down"
  | "left"
  | "right"
  | "home"
  | "end"
  | "pageUp"
  | "pageDown"
  | "wordLeft"
  | "wordRight"
  | `ctrl+${string}`;

/** One thing typed: text (one or more printable characters), a paste, or a named key. */
export type Key =
  | { kind: "text"; text: string }
  | { kind: "paste"; text: string }
  | { kind: "key"; name: KeyName };

const PASTE_END = "\x1b[201~";

/** CSI and SS3 finals, and `ESC [ n ~` numbers, to key names. */
const FINALS: Record<string, KeyName> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
};
const TILDES: Record<string, KeyName> = {
  "1": "home",
  "7": "home",
  "4": "end",
  "8": "end",
  "3": "delete",
  "5": "pageUp",
  "6": "pageDown",
};

/** Turns terminal input into keys; see the module comment. */
export class KeyParser {
  #pending = "";
  #paste: string | null = null;

  /** True while input waits for more (a cut escape sequence, an open paste). */
  get hasPending(): boolean {
    return this.#pending.length > 0 || this.#paste !== null;
  }

  /** Parses `input` (appended to whatever was left over); returns the complete keys. */
  feed(input: string): Key[] {
    const keys: Key[] = [];
    let s = this.#pending + input;
    this.#pending = "";
    while (s.length > 0) {
      if (this.#paste !== null) {
        const end = s.indexOf(PASTE_END);
        if (end < 0) {
          // Keep a tail that could be the start of the end marker.
          const keep = partialSuffix(s, PASTE_END);
          this.#paste += s.slice(0, s.length - keep);
          this.#pending = s.slice(s.length - keep);
          return keys;
        }
        keys.push({ kind: "paste", text: this.#paste + s.slice(0, end) });
        this.#paste = null;
        s = s.slice(end + PASTE_END.length);
        continue;
      }
      const c = s[0]!;
      if (c === "\x1b") {
        const parsed = parseEscape(s);
        if (parsed === "incomplete") {
          this.#pending = s;
          return keys;
        }
        s = s.slice(parsed.length);
        if (parsed.paste) this.#paste = "";
        else if (parsed.key !== null) keys.push({ kind: "key", name: parsed.key });
        continue;
      }
      const code = c.charCodeAt(0);
      if (code < 0x20 || code === 0x7f) {
        s = s.slice(1);
        if (c === "\r" || c === "\n") keys.push({ kind: "key", name: "enter" });
        else if (c === "\t") keys.push({ kind: "key", name: "tab" });
        else if (c === "\x7f" || c === "\b") keys.push({ kind: "key", name: "backspace" });
        else if (code >= 1 && code <= 26) {
          keys.push({ kind: "key", name: `ctrl+${String.fromCharCode(code + 96)}` });
        } else if (code === 0x1c) keys.push({ kind: "key", name: "ctrl+\\" });
        continue;
      }
      // A run of printable text (typed fast, or pasted by a terminal without bracketed paste).
      // deno-lint-ignore no-control-regex
      const run = s.match(/^[^\x00-\x1f\x7f]+/)![0];
      const last = keys[keys.length - 1];
      if (last?.kind === "text") last.text += run;
      else keys.push({ kind: "text", text: run });
      s = s.slice(run.length);
    }
    return keys;
  }

  /**
   * Called after a quiet moment: a buffered lone Esc (or a cut sequence
   * that never completed) counts as Esc. An open paste stays open.
   */
  flush(): Key[] {
    if (this.#paste !== null || this.#pending === "") return [];
    this.#pending = "";
    return [{ kind: "key", name: "escape" }];
  }
}

/** Length of the longest suffix of `s` that is a proper prefix of `marker`. */
function partialSuffix(s: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, s.length); n > 0; n--) {
    if (marker.startsWith(s.slice(s.length - n))) return n;
  }
  return 0;
}

type Escape = { length: number; key: KeyName | null; paste: boolean };

function parseEscape(s: string): Escape | "incomplete" {
  if (s.length === 1) return "incomplete";
  const second = s[1]!;
  if (second === "[" || second === "O") {
    // CSI: parameters 0x30–0x3F, intermediates 0x20–0x2F, final 0x40–0x7E.
    const match = s.slice(2).match(/^([0-?]*)([ -/]*)([@-~])?/)!;
    if (match[3] === undefined) {
      return 2 + match[0].length < s.length ? { length: 2, key: null, paste: false } : "incomplete";
    }
    const length = 2 + match[0].length;
    const params = match[1]!;
    const final = match[3];
    if (second === "[" && final === "~") {
      if (params === "200") return { length, key: null, paste: true };
      return { length, key: TILDES[params.split(";")[0]!] ?? null, paste: false };
    }
    if (final === "Z") return { length, key: null, paste: false }; // Shift+Tab
    const modifier = params.split(";")[1];
    const base = FINALS[final] ?? null;
    if ((base === "left" || base === "right") && (modifier === "5" || modifier === "3")) {
      return { length, key: base === "left" ? "wordLeft" : "wordRight", paste: false };
    }
    return { length, key: base, paste: false };
  }
  // Alt+b / Alt+f (Emacs word moves), Alt+Backspace; other Alt keys are dropped.
  if (second === "b") return { length: 2, key: "wordLeft", paste: false };
  if (second === "f") return { length: 2, key: "wordRight", paste: false };
  if (second === "\x7f") return { length: 2, key: "ctrl+w", paste: false };
  if (second === "\x1b") return { length: 1, key: "escape", paste: false };
  return { length: second.length === 1 && second >= " " ? 2 : 1, key: null, paste: false };
}
