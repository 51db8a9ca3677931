import assert from "node:assert/strict";
import { checkBuild, decodeServerKey, webSocketUrl } from "./page_meta.ts";

Deno.test("meta: the server key is 32 bytes of base64", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
  const base64 = btoa(String.fromCharCode(...key));
  assert.deepEqual(decodeServerKey(base64), key);
  assert.throws(() => decodeServerKey("{{SERVER_KEY}}"), RangeError);
  assert.throws(() => decodeServerKey(btoa("short")), /5 bytes, not 32/);
});

Deno.test("meta: the build is 12 hex digits", () => {
  assert.equal(checkBuild("0123456789ab"), "0123456789ab");
  assert.throws(() => checkBuild("{{BUILD}}"), RangeError);
});

Deno.test("meta: the WebSocket is on the page's own host, wss under https", () => {
  assert.equal(webSocketUrl({ protocol: "http:", host: "10.0.0.2:8080" }), "ws://10.0.0.2:8080/ws");
  assert.equal(webSocketUrl({ protocol: "https:", host: "chat.example" }), "wss://chat.example/ws");
});
