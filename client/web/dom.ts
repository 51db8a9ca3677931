/// <reference lib="dom" />
/**
 * Building the page's DOM without HTML: every element through
 * createElement, every text through textContent, so no name or message can
 * become markup (the page runs under Trusted Types 'none', where any
 * innerHTML would throw anyway).
 *
 * @module
 */

/** What {@linkcode el} sets on a new element. */
export interface ElementSpec {
  /** Class names. */
  class?: string;
  /** Attributes (`data-*`, `aria-*`, `role`, `datetime`, ...). */
  attrs?: Record<string, string>;
  /** The text content. */
  text?: string;
}

/** A new element with `spec`, then `children` appended. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  spec: ElementSpec = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (spec.class !== undefined) element.className = spec.class;
  for (const [name, value] of Object.entries(spec.attrs ?? {})) element.setAttribute(name, value);
  if (spec.text !== undefined) element.textContent = spec.text;
  element.append(...children);
  return element;
}

/** The element with id `id`, of the given class; throws when the template lacks it. */
export function byId<T extends HTMLElement>(id: string, type: { new (): T }): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`the page has no #${id} of the right kind`);
  return element;
}

/** `text` isolated for bidi (`<bdi>`), so a right-to-left override inside it stays inside. */
export function isolated(text: string, className?: string): HTMLElement {
  return el("bdi", className === undefined ? { text } : { class: className, text });
}
