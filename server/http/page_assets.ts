/**
 * The page as the HTTP front serves it: the HTML with the server key and
 * the build filled in, and the bundle and style at content-hashed paths.
 * Everything is computed once at startup (no file is read: the caller
 * passes the texts, which `deno compile` embeds).
 *
 * The build id is the first 12 hex digits of SHA-256 over the bundle, the
 * style and the HTML template (UTF-8, in that order): it names the asset
 * URLs (`/app.<build>.js`, `/app.<build>.css`, cached for a year as
 * immutable, since a new build has new URLs) and the WebSocket subprotocol
 * the page offers (`chat.ws.1.build.<build>`), so a page left open across
 * an upgrade is told to reload (close 4426) instead of talking to a server
 * it was not built for. The HTML itself is `no-cache` with a strong ETag, so
 * a reload revalidates it and finds the new build.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { encodeResponse, textResponse } from "./http_response.ts";

/** The page's source texts; `html` holds {{SCRIPT}}, {{STYLE}}, {{SERVER_KEY}} and {{BUILD}}. */
export interface PageFiles {
  html: string;
  script: string;
  style: string;
}

/** One response body the front serves for a path. */
export interface PageAsset {
  body: Uint8Array;
  contentType: string;
  cacheControl: string;
  /** A strong entity tag, quotes included. */
  etag: string;
}

/** A template without one of the placeholders it must have. */
export class PageTemplateError extends Error {
  /** Names the missing placeholders. */
  constructor(message: string) {
    super(message);
    this.name = "PageTemplateError";
  }
}

const PLACEHOLDERS = ["{{SCRIPT}}", "{{STYLE}}", "{{SERVER_KEY}}", "{{BUILD}}"] as const;
const IMMUTABLE = "public, max-age=31536000, immutable";
const encoder = new TextEncoder();

function sha256Hex(...parts: Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}

/** The build id of `files`: the first 12 hex of SHA-256(script + style + html). */
export function pageBuild(files: PageFiles): string {
  return sha256Hex(
    encoder.encode(files.script),
    encoder.encode(files.style),
    encoder.encode(files.html),
  ).slice(0, 12);
}

/** Standard base64 of `bytes` (what the page's meta tag holds). */
export function base64Of(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function asset(body: Uint8Array, contentType: string, cacheControl: string): PageAsset {
  return { body, contentType, cacheControl, etag: `"${sha256Hex(body).slice(0, 32)}"` };
}

/** The page, ready to serve: its build, its asset paths, and each path's body. */
export class PageAssets {
  /** The build id (see the module doc). */
  readonly build: string;
  /** `/app.<build>.js` */
  readonly scriptPath: string;
  /** `/app.<build>.css` */
  readonly stylePath: string;
  #byPath: Map<string, PageAsset>;

  /**
   * Fills in the template. `serverKey` is the server's 32-byte X25519 public
   * key, put in `<meta name="chat-server-key" content="...">` as base64.
   * Throws a {@linkcode PageTemplateError} when a placeholder is missing.
   */
  constructor(files: PageFiles, serverKey: Uint8Array) {
    const missing = PLACEHOLDERS.filter((placeholder) => !files.html.includes(placeholder));
    if (missing.length > 0) {
      throw new PageTemplateError(`the page's HTML lacks ${missing.join(", ")}`);
    }
    this.build = pageBuild(files);
    this.scriptPath = `/app.${this.build}.js`;
    this.stylePath = `/app.${this.build}.css`;
    // split/join, not replace: a replacement string's "$" patterns must not apply.
    const html = [
      ["{{SCRIPT}}", this.scriptPath],
      ["{{STYLE}}", this.stylePath],
      ["{{SERVER_KEY}}", base64Of(serverKey)],
      ["{{BUILD}}", this.build],
    ].reduce((text, [from, to]) => text.split(from!).join(to!), files.html);
    this.#byPath = new Map([
      ["/", asset(encoder.encode(html), "text/html; charset=utf-8", "no-cache")],
      [
        this.scriptPath,
        asset(encoder.encode(files.script), "text/javascript; charset=utf-8", IMMUTABLE),
      ],
      [this.stylePath, asset(encoder.encode(files.style), "text/css; charset=utf-8", IMMUTABLE)],
    ]);
  }

  /** What `path` (no query) serves, or undefined (404). */
  lookup(path: string): PageAsset | undefined {
    return this.#byPath.get(path);
  }
}

/**
 * Whether an If-None-Match header value names `etag` (weak comparison, as
 * RFC 9110 asks for this header: a `W/` prefix is ignored; `*` matches).
 */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(",").some((tag) => {
    const trimmed = tag.trim();
    return trimmed === "*" || trimmed.replace(/^W\//, "") === etag;
  });
}

/**
 * The answer to a GET or HEAD of `path`: the asset with its type, cache
 * rule and ETag (304 when `ifNoneMatch` names it), or 404 (also for every
 * path when there is no page).
 */
export function pageAnswer(
  page: PageAssets | null,
  path: string,
  ifNoneMatch: string | undefined,
  options: { headOnly: boolean; close: boolean },
): Uint8Array {
  const asset = page?.lookup(path);
  if (asset === undefined) return textResponse(404, "not found", options);
  const headers: [string, string][] = [
    ["Content-Type", asset.contentType],
    ["Cache-Control", asset.cacheControl],
    ["ETag", asset.etag],
  ];
  return etagMatches(ifNoneMatch, asset.etag)
    ? encodeResponse({ status: 304, headers, close: options.close })
    : encodeResponse({ status: 200, headers, body: asset.body, ...options });
}
