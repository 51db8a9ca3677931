import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { FIXTURE_KEY, FIXTURE_PAGE } from "./page_fixture_test_util.ts";
import { base64Of, etagMatches, PageAssets, pageBuild, PageTemplateError } from "./page_assets.ts";

const KEY = FIXTURE_KEY;

Deno.test("the build is the first 12 hex of SHA-256 over script, style and template", () => {
  const expected = createHash("sha256")
    .update(FIXTURE_PAGE.script + FIXTURE_PAGE.style + FIXTURE_PAGE.html)
    .digest("hex").slice(0, 12);
  assert.equal(pageBuild(FIXTURE_PAGE), expected);
  assert.notEqual(pageBuild({ ...FIXTURE_PAGE, style: "" }), expected);
  const page = new PageAssets(FIXTURE_PAGE, KEY);
  assert.equal(page.build, expected);
  assert.equal(page.scriptPath, `/app.${expected}.js`);
  assert.equal(page.stylePath, `/app.${expected}.css`);
});

Deno.test("the HTML carries the server key (base64), the build and the asset paths; $ patterns stay as written", () => {
  const page = new PageAssets(FIXTURE_PAGE, KEY);
  const html = new TextDecoder().decode(page.lookup("/")!.body);
  assert.ok(html.includes(`<meta name="chat-server-key" content="${base64Of(KEY)}">`));
  assert.equal(atob(base64Of(KEY)).length, 32);
  assert.ok(html.includes(`<meta name="chat-build" content="${page.build}">`));
  assert.ok(html.includes(`href="${page.stylePath}"`) && html.includes(`src="${page.scriptPath}"`));
  assert.ok(html.includes("<p>$& $1 café</p>"));
  assert.doesNotMatch(html, /\{\{/);
  const root = page.lookup("/")!;
  assert.equal(root.contentType, "text/html; charset=utf-8");
  assert.equal(root.cacheControl, "no-cache");
  assert.match(root.etag, /^"[0-9a-f]{32}"$/);
  const script = page.lookup(page.scriptPath)!;
  assert.equal(script.contentType, "text/javascript; charset=utf-8");
  assert.equal(script.cacheControl, "public, max-age=31536000, immutable");
  assert.equal(page.lookup(page.stylePath)!.contentType, "text/css; charset=utf-8");
  assert.equal(page.lookup("/app.000000000000.js"), undefined);
  assert.equal(page.lookup("/index.html"), undefined);
  // A different key: a different HTML and ETag, the same build.
  const other = new PageAssets(FIXTURE_PAGE, new Uint8Array(32));
  assert.equal(other.build, page.build);
  assert.notEqual(other.lookup("/")!.etag, root.etag);
});

Deno.test("a template without a placeholder is refused, naming it", () => {
  assert.throws(
    () => new PageAssets({ ...FIXTURE_PAGE, html: "<p>{{SCRIPT}} {{STYLE}}</p>" }, KEY),
    (error) =>
      error instanceof PageTemplateError && /\{\{SERVER_KEY\}\}, \{\{BUILD\}\}/.test(error.message),
  );
});

Deno.test("If-None-Match: a list, weak prefixes and * match; others do not", () => {
  assert.ok(etagMatches('"abc"', '"abc"'));
  assert.ok(etagMatches('"x", W/"abc"', '"abc"'));
  assert.ok(etagMatches("*", '"abc"'));
  assert.ok(!etagMatches('"abd"', '"abc"'));
  assert.ok(!etagMatches(undefined, '"abc"'));
});
