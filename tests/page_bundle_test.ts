/**
 * The page the server embeds (server/http/page_bundle.ts) is what its
 * sources make and nothing else: the committed bundle equals a fresh
 * `deno bundle` of client/web/main.ts (run `deno task bundle` after changing
 * the page or anything it imports), it uses no Deno or Node API, it loads
 * nothing from another host, and the page never writes HTML or draws
 * randomness from Math.random.
 */
import assert from "node:assert/strict";
import { PAGE } from "../server/http/page_bundle.ts";

const ROOT = new URL("../", import.meta.url);
const BUNDLE = "client/web/dist/page.js";
const REBUILD = "run `deno task bundle` and commit client/web/dist/page.js";

/** Bundles the page's sources into a temporary directory, as `deno task bundle` does. */
async function freshBundle(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "page_bundle_" });
  try {
    const output = `${dir}/page.js`;
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--minify",
        "--output",
        output,
        "client/web/main.ts",
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, `deno bundle failed: ${new TextDecoder().decode(stderr)}`);
    return await Deno.readTextFile(output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The absolute http(s) URLs in `text`, comments of a script excepted when `script` is true. */
export function externalUrls(text: string, script: boolean): string[] {
  const urls: string[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    // A comment line in the bundle (a library's reference to its paper) loads nothing.
    if (
      script && (trimmed.startsWith("//") || trimmed.startsWith("*") || trimmed.startsWith("/*"))
    ) {
      continue;
    }
    urls.push(...(line.match(/\bhttps?:\/\/[^\s"'`)<>]+/gi) ?? []));
    urls.push(...(line.match(/(?:src|href)\s*=\s*["']?\/\/[^\s"'>]+/gi) ?? []));
    urls.push(...(line.match(/(?:url\(|@import)\s*["']?\/\/[^\s"')]+/gi) ?? []));
  }
  return urls;
}

/** What the page must never do, found in a script's text. */
export function forbiddenCalls(script: string): string[] {
  const found = script.match(
    /\.innerHTML\b|\.outerHTML\b|\binsertAdjacentHTML\b|\bdocument\.write\b|\bMath\.random\b|\beval\(|new Function\(/g,
  );
  return found ?? [];
}

Deno.test("page bundle: the committed bundle is a fresh bundle of the sources", async () => {
  const committed = await Deno.readTextFile(new URL(BUNDLE, ROOT));
  const fresh = await freshBundle();
  assert.ok(committed === fresh, `${BUNDLE} is stale: ${REBUILD}`);
  assert.equal(PAGE.script, committed, `server/http/page_bundle.ts does not embed ${BUNDLE}`);
});

Deno.test("page bundle: no Deno or Node API in the page", () => {
  for (const what of ["Deno.", "node:"]) {
    assert.ok(
      !PAGE.script.includes(what),
      `the page's bundle contains "${what}": ${REBUILD} after removing it`,
    );
  }
});

Deno.test("page bundle: the page loads nothing from another host", () => {
  assert.deepEqual(externalUrls(PAGE.html, false), [], "index.html");
  assert.deepEqual(externalUrls(PAGE.style, false), [], "page.css");
  assert.deepEqual(externalUrls(PAGE.script, true), [], "page.js");
});

Deno.test("page bundle: the URL check finds what would load from elsewhere", () => {
  assert.deepEqual(externalUrls('<script src="https://cdn.example/x.js">', false), [
    "https://cdn.example/x.js",
  ]);
  assert.deepEqual(externalUrls("a { background: url(//evil.example/a.png) }", false), [
    "url(//evil.example/a.png",
  ]);
  assert.deepEqual(externalUrls('fetch("http://10.0.0.1/x")', true), ["http://10.0.0.1/x"]);
  assert.deepEqual(externalUrls(" * see https://eprint.iacr.org/2020/1244", true), []);
});

Deno.test("page bundle: the template has no inline script or style, and holds the server's placeholders", () => {
  const { html } = PAGE;
  for (const placeholder of ["{{SCRIPT}}", "{{STYLE}}", "{{SERVER_KEY}}", "{{BUILD}}"]) {
    assert.ok(html.includes(placeholder), placeholder);
  }
  assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/i, "a script without src");
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, "inline style or handler");
  assert.match(html, /<meta name="viewport"/);
});

Deno.test("page bundle: the page never writes HTML and never uses Math.random", () => {
  assert.deepEqual(forbiddenCalls(PAGE.script), []);
  assert.deepEqual(forbiddenCalls("el.innerHTML = x; Math.random()"), [
    ".innerHTML",
    "Math.random",
  ]);
});
