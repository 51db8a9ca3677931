/// <reference lib="dom" />
/**
 * The question before sending many lines at once (the terminal's "Send 60
 * pasted lines? (y/n)"), as a bar with two buttons; Escape answers no.
 *
 * @module
 */

/** The confirmation bar. */
export class ConfirmBar {
  #bar: HTMLElement;
  #question: HTMLElement;
  #answer: ((yes: boolean) => void) | null = null;

  constructor(
    bar: HTMLElement,
    question: HTMLElement,
    yes: HTMLButtonElement,
    no: HTMLButtonElement,
  ) {
    this.#bar = bar;
    this.#question = question;
    yes.addEventListener("click", () => this.#settle(true));
    no.addEventListener("click", () => this.#settle(false));
    bar.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.#settle(false);
    });
  }

  /** Asks `question`; `yes` or `no` runs once the person answers. */
  ask(question: string, yes: () => void, no: () => void, focusAfter: HTMLElement): void {
    this.#settle(false);
    this.#question.textContent = question;
    this.#bar.hidden = false;
    this.#answer = (answer) => {
      if (answer) yes();
      else no();
      focusAfter.focus();
    };
    this.#bar.querySelector("button")?.focus();
  }

  #settle(answer: boolean): void {
    const answered = this.#answer;
    this.#answer = null;
    this.#bar.hidden = true;
    answered?.(answer);
  }
}
