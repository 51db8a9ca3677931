import assert from "node:assert/strict";
import { isValidWebSocketKey, webSocketAccept } from "./ws_accept.ts";

const encodeBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

Deno.test("webSocketAccept: RFC 6455's example (section 1.3)", () => {
  assert.equal(webSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("webSocketAccept: what a browser computes for any key", async () => {
  for (let i = 0; i < 20; i++) {
    const key = encodeBase64(crypto.getRandomValues(new Uint8Array(16)));
    const digest = await crypto.subtle.digest(
      "SHA-1",
      new TextEncoder().encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
    );
    assert.equal(webSocketAccept(key), encodeBase64(new Uint8Array(digest)));
  }
});

Deno.test("isValidWebSocketKey: base64 of exactly 16 bytes", () => {
  assert.equal(isValidWebSocketKey("dGhlIHNhbXBsZSBub25jZQ=="), true);
  for (let i = 0; i < 50; i++) {
    const key = encodeBase64(crypto.getRandomValues(new Uint8Array(16)));
    assert.equal(isValidWebSocketKey(key), true, key);
  }
  const refused = [
    "",
    "abc",
    "dGhlIHNhbXBsZSBub25jZQ", // no padding
    "dGhlIHNhbXBsZSBub25jZQ=", // short padding
    "dGhlIHNhbXBsZSBub25jZR==", // stray bits in the last character
    "dGhlIHNhbXBsZSBub25jZQ== ", // trailing space
    " dGhlIHNhbXBsZSBub25jZQ==",
    "dGhlIHNhbXBsZSBub25j-Q==", // base64url
    encodeBase64(new Uint8Array(15)),
    encodeBase64(new Uint8Array(17)),
    encodeBase64(new Uint8Array(32)),
    "dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ==", // two joined headers
  ];
  for (const key of refused) assert.equal(isValidWebSocketKey(key), false, JSON.stringify(key));
});
