/// <reference lib="dom" />
/**
 * On a phone, the on-screen keyboard covers the bottom of the layout
 * viewport: the page's height follows the visual viewport instead
 * (`--viewport-height`, set through the CSSOM, which the style-src policy
 * allows), so the composer stays above the keyboard.
 *
 * @module
 */

/** Keeps `--viewport-height` at the visual viewport's height. */
export function followVisualViewport(): void {
  const viewport = globalThis.visualViewport;
  if (viewport === null || viewport === undefined) return;
  const apply = () => {
    document.documentElement.style.setProperty("--viewport-height", `${viewport.height}px`);
  };
  viewport.addEventListener("resize", apply);
  apply();
}
