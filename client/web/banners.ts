/// <reference lib="dom" />
/**
 * The status banners (`role=status`, `data-banner=<kind>`): at most one of
 * each kind, each with its words and, for some, one button.
 *
 * @module
 */
import { el } from "./dom.ts";

/** The kinds of banner, as `data-banner` says them (stable hooks, docs/web.md). */
export type BannerKind = "insecure" | "reconnecting" | "closed" | "idle" | "outdated";

/** A banner's button. */
export interface BannerAction {
  label: string;
  run: () => void;
}

/** The banners above the page. */
export class Banners {
  #root: HTMLElement;

  /** `root`: the element the banners go in. */
  constructor(root: HTMLElement) {
    this.#root = root;
  }

  /** Shows (or replaces) the banner of `kind`. */
  show(kind: BannerKind, text: string, action?: BannerAction): void {
    this.hide(kind);
    const banner = el("div", {
      class: `banner banner-${kind}`,
      attrs: { role: "status", "data-banner": kind },
    });
    banner.append(el("span", { text }));
    if (action !== undefined) {
      const button = el("button", { attrs: { type: "button" }, text: action.label });
      button.addEventListener("click", action.run);
      banner.append(button);
    }
    this.#root.append(banner);
  }

  /** Removes the banner of `kind`, if shown. */
  hide(kind: BannerKind): void {
    this.#root.querySelector(`[data-banner="${kind}"]`)?.remove();
  }

  /** True when the banner of `kind` is shown. */
  has(kind: BannerKind): boolean {
    return this.#root.querySelector(`[data-banner="${kind}"]`) !== null;
  }
}
