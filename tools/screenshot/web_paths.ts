/** Where the browser test saves the web page's screenshot, and where the README shows it. */

/**
 * Saved by tests/browser_test.ts on every run: dist/ is ignored by git, so a
 * test run leaves the tree clean. Relative to the repository root.
 */
export const WEB_SCREENSHOT_SAVED = "dist/web-screenshot.png";

/** Published by `deno task screenshot:web`; the README and docs/web.md show it. */
export const WEB_SCREENSHOT_SHOWN = "docs/web.png";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Whether `bytes` start with the PNG signature and an IHDR chunk. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 24 && PNG_SIGNATURE.every((b, i) => bytes[i] === b) &&
    new TextDecoder().decode(bytes.subarray(12, 16)) === "IHDR";
}

/** The width and height in an IHDR chunk (pixels); throws on a file that is not a PNG. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  if (!isPng(bytes)) throw new Error("not a PNG file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
