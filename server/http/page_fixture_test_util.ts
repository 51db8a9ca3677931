/**
 * Test-only: a small page template with every placeholder, as the real
 * index.html has them (the page branch writes that one), and a server key.
 */
import type { PageFiles } from "./page_assets.ts";

/** A template with {{SERVER_KEY}}, {{BUILD}}, {{STYLE}}, {{SCRIPT}}, and text with "$" patterns. */
export const FIXTURE_PAGE: PageFiles = {
  html: '<!doctype html><meta name="chat-server-key" content="{{SERVER_KEY}}">' +
    '<meta name="chat-build" content="{{BUILD}}"><link rel="stylesheet" href="{{STYLE}}">' +
    '<script type="module" src="{{SCRIPT}}"></script><p>$& $1 café</p>',
  script: 'console.log("page");',
  style: "body { color: black; }",
};

/** A recognisable 32-byte "public key". */
export const FIXTURE_KEY: Uint8Array = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
