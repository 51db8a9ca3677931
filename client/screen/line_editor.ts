/**
 * The input line's text and cursor, with the Emacs keys people expect
 * (Ctrl+A/E/U/K/W), moves by grapheme cluster, an in-memory history for
 * Up/Down, and Tab completion of member names. Pure: no I/O.
 */
import { graphemes } from "./text_width.ts";

/** At most this many sent lines are kept for Up/Down (never written to disk). */
const HISTORY_LIMIT = 500;

/** A line being typed. */
export class LineEditor {
  #text = "";
  /** In UTF-16 units, always on a grapheme boundary. */
  #cursor = 0;
  #history: string[] = [];
  /** Index into history while browsing with Up/Down; history.length: the line being typed. */
  #browse = 0;
  #draft = "";
  #completion: { prefix: string; start: number; matches: string[]; index: number } | null = null;

  /** The text typed so far. */
  get text(): string {
    return this.#text;
  }

  /** The cursor, as an index into {@linkcode text}. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Replaces the text; the cursor goes to its end. */
  set(text: string): void {
    this.#text = text;
    this.#cursor = text.length;
    this.#completion = null;
  }

  /** Inserts text at the cursor. */
  insert(text: string): void {
    this.#edit(
      this.#text.slice(0, this.#cursor) + text + this.#text.slice(this.#cursor),
      this.#cursor + text.length,
    );
  }

  /** Removes the grapheme before the cursor. */
  backspace(): void {
    const before = this.#previousBoundary();
    this.#edit(this.#text.slice(0, before) + this.#text.slice(this.#cursor), before);
  }

  /** Removes the grapheme under the cursor. */
  deleteForward(): void {
    const after = this.#nextBoundary();
    this.#edit(this.#text.slice(0, this.#cursor) + this.#text.slice(after), this.#cursor);
  }

  /** Moves one grapheme left. */
  left(): void {
    this.#move(this.#previousBoundary());
  }

  /** Moves one grapheme right. */
  right(): void {
    this.#move(this.#nextBoundary());
  }

  /** Ctrl+A. */
  home(): void {
    this.#move(0);
  }

  /** Ctrl+E. */
  end(): void {
    this.#move(this.#text.length);
  }

  /** Moves to the start of the word before the cursor (Alt+B). */
  wordLeft(): void {
    this.#move(this.#wordStart());
  }

  /** Moves past the end of the word after the cursor (Alt+F). */
  wordRight(): void {
    const rest = this.#text.slice(this.#cursor);
    const match = rest.match(/^\s*\S*/)!;
    this.#move(this.#cursor + match[0].length);
  }

  /** Ctrl+U: removes everything before the cursor. */
  killToStart(): void {
    this.#edit(this.#text.slice(this.#cursor), 0);
  }

  /** Ctrl+K: removes everything from the cursor on. */
  killToEnd(): void {
    this.#edit(this.#text.slice(0, this.#cursor), this.#cursor);
  }

  /** Ctrl+W: removes the word before the cursor (and the spaces after it). */
  killWord(): void {
    const start = this.#wordStart();
    this.#edit(this.#text.slice(0, start) + this.#text.slice(this.#cursor), start);
  }

  /** Up: the previous line sent (what was being typed is kept for Down). */
  historyUp(): void {
    if (this.#browse === 0) return;
    if (this.#browse === this.#history.length) this.#draft = this.#text;
    this.#browse--;
    this.set(this.#history[this.#browse]!);
  }

  /** Down: the next line sent, and past the newest, what was being typed. */
  historyDown(): void {
    if (this.#browse >= this.#history.length) return;
    this.#browse++;
    this.set(this.#browse === this.#history.length ? this.#draft : this.#history[this.#browse]!);
  }

  /** Enter: returns the text, clears the line and remembers it in the history. */
  take(): string {
    const text = this.#text;
    if (text.trim() !== "" && this.#history[this.#history.length - 1] !== text) {
      this.#history.push(text);
      if (this.#history.length > HISTORY_LIMIT) this.#history.shift();
    }
    this.#browse = this.#history.length;
    this.#draft = "";
    this.set("");
    return text;
  }

  /**
   * Tab: completes the word before the cursor to a name from `names`
   * (case-insensitive). At the start of the line the name gets ": " after
   * it. Tab again cycles through the other matches.
   */
  complete(names: readonly string[]): void {
    let state = this.#completion;
    if (state === null) {
      const start = this.#cursor - this.#text.slice(0, this.#cursor).match(/\S*$/)![0].length;
      const prefix = this.#text.slice(start, this.#cursor);
      const matches = names.filter((n) => n.toLowerCase().startsWith(prefix.toLowerCase()));
      if (matches.length === 0) return;
      state = { prefix, start, matches, index: -1 };
    }
    state.index = (state.index + 1) % state.matches.length;
    const name = state.matches[state.index]!;
    const suffix = state.start === 0 ? ": " : " ";
    const rest = this.#text.slice(this.#cursor);
    const head = this.#text.slice(0, state.start) + name + suffix;
    this.#text = head + rest;
    this.#cursor = head.length;
    this.#completion = state;
  }

  #edit(text: string, cursor: number): void {
    this.#text = text;
    this.#cursor = cursor;
    this.#completion = null;
    this.#browse = this.#history.length;
  }

  #move(cursor: number): void {
    this.#cursor = cursor;
    this.#completion = null;
  }

  #previousBoundary(): number {
    const before = graphemes(this.#text.slice(0, this.#cursor));
    return this.#cursor - (before[before.length - 1]?.length ?? 0);
  }

  #nextBoundary(): number {
    const after = graphemes(this.#text.slice(this.#cursor));
    return this.#cursor + (after[0]?.length ?? 0);
  }

  #wordStart(): number {
    const before = this.#text.slice(0, this.#cursor);
    return before.match(/\S*\s*$/)!.index!;
  }
}
