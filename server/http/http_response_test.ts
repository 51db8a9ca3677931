import assert from "node:assert/strict";
import { CONTENT_SECURITY_POLICY, encodeResponse, textResponse } from "./http_response.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("the page's Content-Security-Policy is the issue's, word for word", () => {
  assert.equal(
    CONTENT_SECURITY_POLICY,
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'",
  );
});

Deno.test("every response has the security headers and a length; HEAD drops only the body; 304 has no length", () => {
  const body = new TextEncoder().encode("hello");
  const full = text(
    encodeResponse({ status: 200, headers: [["Content-Type", "text/plain"]], body }),
  );
  assert.match(full, /^HTTP\/1\.1 200 OK\r\n/);
  for (
    const header of [
      "X-Content-Type-Options: nosniff",
      "Referrer-Policy: no-referrer",
      "Cross-Origin-Opener-Policy: same-origin",
      "Content-Length: 5",
      "Content-Type: text/plain",
    ]
  ) {
    assert.ok(full.includes(`\r\n${header}\r\n`), header);
  }
  assert.ok(full.endsWith("\r\n\r\nhello"));
  const head = text(encodeResponse({ status: 200, body, headOnly: true }));
  assert.ok(head.includes("Content-Length: 5\r\n") && head.endsWith("\r\n\r\n"));
  const notModified = text(encodeResponse({ status: 304, headers: [["ETag", '"x"']] }));
  assert.doesNotMatch(notModified, /Content-Length/);
  assert.match(text(encodeResponse({ status: 503, close: true })), /\r\nConnection: close\r\n/);
});

Deno.test("a text answer is one line, text/plain with a charset, never stored", () => {
  const answer = text(textResponse(404, "not\r\nfound"));
  assert.match(answer, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert.ok(answer.includes("\r\nContent-Type: text/plain; charset=utf-8\r\n"));
  assert.ok(answer.includes("\r\nCache-Control: no-store\r\n"));
  assert.ok(answer.endsWith("\r\n\r\nnot found\n"));
});
