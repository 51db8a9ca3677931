import assert from "node:assert/strict";
import type { HttpRequestHead } from "../../protocol/http_head.ts";
import { checkUpgrade, chooseSubprotocol, hasToken } from "./upgrade_request.ts";

const BUILD = "0123456789ab";

function head(
  headers: Record<string, string>,
  method = "GET",
  version = "HTTP/1.1",
): HttpRequestHead {
  return {
    method,
    target: "/ws",
    version,
    headers: new Map(
      Object.entries({
        host: "127.0.0.1",
        upgrade: "websocket",
        connection: "keep-alive, Upgrade",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-protocol": "chat.ws.1",
        ...headers,
      }).filter(([, v]) => v !== ""),
    ),
  };
}

Deno.test("hasToken: comma lists, any case, whole tokens only", () => {
  assert.ok(hasToken("keep-alive, Upgrade", "upgrade"));
  assert.ok(hasToken("WebSocket", "websocket"));
  assert.ok(!hasToken("upgrades", "upgrade"));
  assert.ok(!hasToken(undefined, "upgrade"));
});

Deno.test("chooseSubprotocol: the current ones first, else the first other chat.ws. offer (out of date), else null", () => {
  assert.deepEqual(chooseSubprotocol("chat.ws.1", BUILD), {
    subprotocol: "chat.ws.1",
    current: true,
  });
  assert.deepEqual(chooseSubprotocol(`chat.ws.2, chat.ws.1.build.${BUILD}`, BUILD), {
    subprotocol: `chat.ws.1.build.${BUILD}`,
    current: true,
  });
  assert.deepEqual(chooseSubprotocol("chat.ws.1.build.ffffffffffff", BUILD), {
    subprotocol: "chat.ws.1.build.ffffffffffff",
    current: false,
  });
  assert.deepEqual(chooseSubprotocol(`chat.ws.1.build.${BUILD}`, null), {
    subprotocol: `chat.ws.1.build.${BUILD}`,
    current: false,
  });
  assert.equal(chooseSubprotocol("graphql-ws", BUILD), null);
  assert.equal(chooseSubprotocol("chat.ws.", BUILD), null);
  assert.equal(chooseSubprotocol("chat.ws.1 x", BUILD), null);
  assert.equal(chooseSubprotocol(undefined, BUILD), null);
});

Deno.test("checkUpgrade: accepts a proper upgrade with the accept value; refuses each missing part with its status", () => {
  const ok = checkUpgrade(head({}), BUILD);
  assert.deepEqual(ok, {
    ok: true,
    accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    subprotocol: "chat.ws.1",
    current: true,
  });
  const status = (h: HttpRequestHead) => {
    const result = checkUpgrade(h, BUILD);
    return result.ok ? 101 : result.status;
  };
  assert.equal(status(head({}, "POST")), 405);
  assert.equal(status(head({}, "GET", "HTTP/1.0")), 400);
  assert.equal(status(head({ upgrade: "" })), 426);
  assert.equal(status(head({ upgrade: "h2c" })), 426);
  assert.equal(status(head({ connection: "keep-alive" })), 426);
  assert.equal(status(head({ "sec-websocket-version": "" })), 426);
  assert.equal(status(head({ "sec-websocket-version": "8" })), 426);
  assert.equal(status(head({ "sec-websocket-key": "" })), 400);
  assert.equal(status(head({ "sec-websocket-key": "AAAAAAAAAAAAAAAAAAAAAA" })), 400);
  assert.equal(status(head({ "sec-websocket-protocol": "" })), 400);
});
