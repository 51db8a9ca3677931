/// <reference lib="dom" />
/**
 * The message input: Enter sends (not while an input method is composing:
 * `isComposing`, or keyCode 229 on browsers that report it that way),
 * Shift+Enter starts a new line; a paste and a send follow the terminal's
 * rules (compose_rules.ts), asking before more than three lines; a counter
 * shows the UTF-8 bytes of the longest line against the limit, and a text
 * over it is not sent.
 *
 * @module
 */
import { countBytes, messagesOf, needsConfirm, pasteInto } from "./compose_rules.ts";

/** What the composer is given. */
export interface ComposerOptions {
  form: HTMLFormElement;
  input: HTMLTextAreaElement;
  counter: HTMLElement;
  /** The byte limit of one message now. */
  limit: () => number;
  /** Sends one message; false when it was not sent (the caller said why). */
  send: (text: string) => boolean;
  /** Asks `question`, then runs `yes` if the person agrees, else `no`. */
  confirm: (question: string, yes: () => void, no: () => void) => void;
}

/** Wires the composer; see the module comment. */
export class Composer {
  #o: ComposerOptions;

  constructor(options: ComposerOptions) {
    this.#o = options;
    const { form, input } = options;
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) {
        return;
      }
      event.preventDefault();
      this.submit();
    });
    input.addEventListener("paste", (event) => this.#paste(event));
    input.addEventListener("input", () => this.update());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.update();
  }

  /** Sends what is in the input, line by line (asking first for more than three). */
  submit(): void {
    const { input } = this.#o;
    const lines = messagesOf(input.value);
    if (lines.length === 0 || countBytes(input.value, this.#o.limit()).over) return;
    const send = () => {
      const unsent = lines.filter((line) => !this.#o.send(line));
      input.value = unsent.join("\n");
      this.update();
    };
    if (!needsConfirm(lines.length)) return send();
    this.#o.confirm(`Send ${lines.length} lines as ${lines.length} messages?`, send, () => {});
  }

  /** Redraws the counter and the input's height after a change. */
  update(): void {
    const { input, counter } = this.#o;
    const count = countBytes(input.value, this.#o.limit());
    counter.textContent = count.used === 0 ? "" : `${count.used} / ${count.limit} bytes`;
    counter.classList.toggle("over", count.over);
    input.setAttribute("aria-invalid", String(count.over));
    input.rows = Math.min(6, Math.max(1, input.value.split("\n").length));
  }

  /** Focuses the input. */
  focus(): void {
    this.#o.input.focus();
  }

  #paste(event: ClipboardEvent): void {
    const raw = event.clipboardData?.getData("text/plain") ?? "";
    if (!/[\r\n]/.test(raw)) return; // typed as it is, by the browser
    event.preventDefault();
    const { input } = this.#o;
    const outcome = pasteInto(input.value, input.selectionStart, input.selectionEnd, raw);
    const apply = () => {
      const unsent = outcome.toSend.filter((line) => !this.#o.send(line));
      const kept = [...unsent, outcome.keep].join("\n");
      input.value = kept;
      const caret = kept.length - (outcome.keep.length - outcome.caret);
      input.setSelectionRange(caret, caret);
      this.update();
    };
    if (!needsConfirm(outcome.toSend.length)) return apply();
    // As in the terminal: nothing is sent or typed until the person says yes.
    this.#o.confirm(`Send ${outcome.toSend.length} pasted lines?`, apply, () => {});
  }
}
