/** The README's copy of the screen capture, between two markers the screenshot task rewrites. */

/** The line before the capture. */
export const CAPTURE_START = "<!-- screen capture: written by deno task screenshot -->";
/** The line after it. */
export const CAPTURE_END = "<!-- end of screen capture -->";

/** The capture in `readme` (the text of its code block), or null without the markers. */
export function readmeCapture(readme: string): string | null {
  const start = readme.indexOf(CAPTURE_START);
  const end = readme.indexOf(CAPTURE_END);
  if (start < 0 || end < start) return null;
  const block = readme.slice(start + CAPTURE_START.length, end).trim();
  return block.replace(/^```\n/, "").replace(/```$/, "");
}

/** `readme` with `capture` (text ending in a newline) between the markers. */
export function withCapture(readme: string, capture: string): string {
  const start = readme.indexOf(CAPTURE_START);
  const end = readme.indexOf(CAPTURE_END);
  if (start < 0 || end < start) throw new Error("README.md has no screen capture markers");
  return readme.slice(0, start) + `${CAPTURE_START}\n\n\`\`\`\n${capture}\`\`\`\n\n` +
    readme.slice(end);
}
