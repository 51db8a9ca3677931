import assert from "node:assert/strict";
import { readmeCapture, withCapture } from "./readme_capture.ts";

Deno.test("the README's screen capture is docs/screen.txt, as the screenshot task wrote it", () => {
  const readme = Deno.readTextFileSync(new URL("../../README.md", import.meta.url));
  const capture = Deno.readTextFileSync(new URL("../../docs/screen.txt", import.meta.url));
  assert.equal(readmeCapture(readme), capture);
});

Deno.test("withCapture replaces only what is between the markers", () => {
  const readme =
    "a\n<!-- screen capture: written by deno task screenshot -->\n\n```\nold\n```\n\n" +
    "<!-- end of screen capture -->\nb\n";
  const updated = withCapture(readme, "new\nrows\n");
  assert.equal(readmeCapture(updated), "new\nrows\n");
  assert.ok(updated.startsWith("a\n") && updated.endsWith("<!-- end of screen capture -->\nb\n"));
  assert.equal(withCapture(updated, "old\n"), readme);
});
