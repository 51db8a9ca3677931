import assert from "node:assert/strict";
import { encodeWebSocketFrame, WsOpcode } from "../../protocol/websocket_frame.ts";
import { waitUntil } from "../../testing/wait.ts";
import {
  connectFrom,
  exchange,
  parseResponses,
  request,
  startTestFront,
} from "./http_test_util.ts";
import { pageBuild } from "./page_assets.ts";
import { FIXTURE_PAGE } from "./page_fixture_test_util.ts";

const BUILD = pageBuild(FIXTURE_PAGE);
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** A browser-like WebSocket (Deno's, which may set Origin), with its open and close as promises. */
function openWs(port: number, protocols: string[], headers: Record<string, string> = {}) {
  // Deno's WebSocket takes headers (an extension of the standard constructor).
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { protocols, headers } as never);
  const opened = new Promise<boolean>((resolve) => {
    ws.onopen = () => resolve(true);
    ws.onerror = () => resolve(false);
  });
  const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
  return { ws, opened, closed };
}

function upgradeRequest(headers: Record<string, string> = {}): string {
  return request("/ws", {
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": KEY,
    "Sec-WebSocket-Protocol": "chat.ws.1",
    ...headers,
  });
}

Deno.test("a WebSocket without Origin (a program) or with its own origin is handed over with the client's address and the subprotocol", async () => {
  const t = startTestFront();
  try {
    const origins: Record<string, string>[] = [{}, { origin: `http://127.0.0.1:${t.port}` }];
    for (const headers of origins) {
      const client = openWs(t.port, ["other", "chat.ws.1"], headers);
      assert.equal(await client.opened, true);
      assert.equal(client.ws.protocol, "chat.ws.1");
      await waitUntil(() => t.arrivals.length === 1, "the arrival");
      const arrival = t.arrivals.pop()!;
      assert.equal(arrival.subprotocol, "chat.ws.1");
      assert.deepEqual(arrival.peer, { address: "127.0.0.1", addressKey: "127.0.0.1" });
      const got: number[][] = [];
      arrival.ws.start({ message: (bytes) => got.push([...bytes]), closed() {} });
      client.ws.send(new Uint8Array([1, 2, 3]));
      await waitUntil(() => got.length === 1, "the message");
      assert.deepEqual(got, [[1, 2, 3]]);
      assert.equal(t.front.stats.open, 1, "the connection is held while the socket is open");
      client.ws.close(1000, "bye");
      assert.equal((await client.closed).code, 1000);
      await arrival.ws.closed;
      await waitUntil(() => t.front.stats.open === 0, "the slot freed");
    }
    assert.equal(t.front.stats.upgrades, 2);
  } finally {
    await t.close();
  }
});

Deno.test("the page's build subprotocol is current; another build or profile opens and is closed 4426 at once", async () => {
  const t = startTestFront();
  try {
    const page = openWs(t.port, [`chat.ws.1.build.${BUILD}`], {
      origin: `http://127.0.0.1:${t.port}`,
    });
    assert.equal(await page.opened, true);
    await waitUntil(() => t.arrivals.length === 1, "the arrival");
    assert.equal(t.arrivals[0]!.subprotocol, `chat.ws.1.build.${BUILD}`);
    t.arrivals[0]!.ws.start({ message() {}, closed() {} });
    page.ws.close();
    await page.closed;
    for (const offer of ["chat.ws.1.build.000000000000", "chat.ws.2"]) {
      const old = openWs(t.port, [offer]);
      assert.equal(await old.opened, true, offer);
      assert.equal(old.ws.protocol, offer);
      const closed = await old.closed;
      assert.equal(closed.code, 4426, offer);
      assert.equal(closed.reason, "this page is out of date: reload it");
    }
    assert.equal(t.front.stats.outOfDate, 2);
    assert.equal(t.arrivals.length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("a foreign Origin or Origin: null is upgraded and closed 4403 naming it, and counted", async () => {
  const t = startTestFront();
  try {
    const cases = [
      ["http://evil.example", "origin not allowed: http://evil.example"],
      ["null", "origin not allowed: null"],
      [`http://127.0.0.1:${t.port + 1}`, `origin not allowed: http://127.0.0.1:${t.port + 1}`],
      ["http://" + "x".repeat(300), "origin not allowed: http://" + "x".repeat(83)],
    ];
    for (const [origin, reason] of cases) {
      const client = openWs(t.port, ["chat.ws.1"], { origin: origin! });
      const closed = await client.closed;
      assert.equal(closed.code, 4403, origin);
      assert.equal(closed.reason, reason);
    }
    assert.equal(t.front.stats.originRefused, cases.length);
    assert.equal(t.arrivals.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("with --public-origin only that origin opens a WebSocket", async () => {
  const t = startTestFront({ publicOrigins: ["http://127.0.0.1:1"] });
  try {
    // The Host must be the public one; Deno's client sends its own, so this goes raw.
    const host = { Host: "127.0.0.1:1" };
    const [good] = parseResponses(
      await connectFrom(
        "127.0.0.1",
        t.port,
        upgradeRequest({ ...host, Origin: "http://127.0.0.1:1" }),
        1_000,
      ),
    );
    assert.equal(good!.status, 101);
    await waitUntil(() => t.arrivals.length === 1, "the arrival");
    t.arrivals[0]!.ws.start({ message() {}, closed() {} });
    const bad = await connectFrom(
      "127.0.0.1",
      t.port,
      upgradeRequest({ ...host, Origin: `http://127.0.0.1:${t.port}` }),
      2_000,
    );
    assert.equal(parseResponses(bad)[0]!.status, 101);
    // The close frame (unmasked) with code 4403.
    const at = bad.indexOf("\r\n\r\n") + 4;
    assert.equal(bad.charCodeAt(at), 0x88);
    assert.equal((bad.charCodeAt(at + 2) << 8) | bad.charCodeAt(at + 3), 4403);
    assert.equal(t.front.stats.originRefused, 1);
  } finally {
    await t.close();
  }
});

Deno.test("the 101 echoes the chosen subprotocol and the accept value, and never an extension", async () => {
  const t = startTestFront();
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    await conn.write(new TextEncoder().encode(upgradeRequest({
      "Sec-WebSocket-Protocol": "x, chat.ws.1",
      "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
    })));
    const buffer = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\r\n\r\n")) {
      const n = await conn.read(buffer);
      assert.ok(n !== null);
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    const [switched] = parseResponses(text);
    assert.equal(switched!.status, 101);
    assert.equal(switched!.headers.get("upgrade"), "websocket");
    assert.equal(switched!.headers.get("connection"), "Upgrade");
    assert.equal(switched!.headers.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert.equal(switched!.headers.get("sec-websocket-protocol"), "chat.ws.1");
    assert.equal(switched!.headers.has("sec-websocket-extensions"), false);
    await waitUntil(() => t.arrivals.length === 1, "the arrival");
    const arrival = t.arrivals[0]!;
    arrival.ws.start({ message() {}, closed() {} });
    conn.close();
    assert.equal((await arrival.ws.closed).byPeer, true);
  } finally {
    await t.close();
  }
});

Deno.test("frames sent with the upgrade request (before the 101) reach the WebSocket", async () => {
  const t = startTestFront();
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    const head = new TextEncoder().encode(upgradeRequest());
    const frame = encodeWebSocketFrame(
      WsOpcode.BINARY,
      new Uint8Array([9, 8, 7]),
      new Uint8Array([1, 2, 3, 4]),
    );
    const both = new Uint8Array(head.length + frame.length);
    both.set(head);
    both.set(frame, head.length);
    await conn.write(both);
    await waitUntil(() => t.arrivals.length === 1, "the arrival");
    const got: number[][] = [];
    t.arrivals[0]!.ws.start({ message: (bytes) => got.push([...bytes]), closed() {} });
    await waitUntil(() => got.length === 1, "the early message");
    assert.deepEqual(got, [[9, 8, 7]]);
    conn.close();
    await t.arrivals[0]!.ws.closed;
  } finally {
    await t.close();
  }
});

Deno.test("bad upgrades: no chat.ws. offer 400, other versions 426 with 13, bad keys 400, no Upgrade 426, HEAD or POST 405", async () => {
  const t = startTestFront();
  try {
    const cases: [string, number, RegExp, [string, string]?][] = [
      [upgradeRequest({ "Sec-WebSocket-Protocol": "" }), 400, /chat\.ws\.1/],
      [upgradeRequest({ "Sec-WebSocket-Protocol": "graphql-ws, chat.wsx" }), 400, /chat\.ws\.1/],
      [upgradeRequest({ "Sec-WebSocket-Version": "8" }), 426, /13/, [
        "sec-websocket-version",
        "13",
      ]],
      [upgradeRequest({ "Sec-WebSocket-Key": "abc" }), 400, /Sec-WebSocket-Key/],
      [upgradeRequest({ "Sec-WebSocket-Key": "" }), 400, /Sec-WebSocket-Key/],
      [upgradeRequest({ Upgrade: "" }), 426, /Upgrade: websocket/, ["upgrade", "websocket"]],
      [upgradeRequest({ Connection: "keep-alive" }), 426, /Connection: Upgrade/],
      [request("/ws", {}, "HEAD"), 405, /GET/, ["allow", "GET"]],
      [request("/ws", {}, "POST"), 405, /GET/],
    ];
    for (const [bytes, status, text, header] of cases) {
      const [answer] = await exchange(t.port, bytes, bytes.startsWith("HEAD"));
      assert.equal(answer!.status, status, bytes);
      if (!bytes.startsWith("HEAD")) assert.match(answer!.body, text);
      if (header) assert.equal(answer!.headers.get(header[0]), header[1]);
    }
    const http10 = await exchange(t.port, upgradeRequest().replace("HTTP/1.1", "HTTP/1.0"));
    assert.equal(http10[0]!.status, 400);
    assert.equal(t.arrivals.length, 0);
    assert.equal(t.front.stats.upgrades, 0);
  } finally {
    await t.close();
  }
});

Deno.test("an open WebSocket holds its address's connection slot until it closes", async () => {
  const t = startTestFront({ maxConnectionsPerIp: 1 });
  try {
    const client = openWs(t.port, ["chat.ws.1"]);
    assert.equal(await client.opened, true);
    await waitUntil(() => t.arrivals.length === 1, "the arrival");
    t.arrivals[0]!.ws.start({ message() {}, closed() {} });
    const [refused] = await exchange(t.port, request("/healthz"));
    assert.equal(refused!.status, 503);
    const other = await connectFrom("127.0.0.2", t.port, request("/healthz"), 2_000);
    assert.equal(parseResponses(other)[0]!.status, 200);
    client.ws.close();
    await client.closed;
    await waitUntil(() => t.front.stats.open === 0, "the slot freed");
    const [served] = await exchange(t.port, request("/healthz"));
    assert.equal(served!.status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("behind a trusted proxy a WebSocket counts against its X-Forwarded-For client, and is handed over with that address", async () => {
  const t = startTestFront({ trustProxy: ["127.0.0.0/8"], maxConnectionsPerIp: 1 });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    await conn.write(
      new TextEncoder().encode(upgradeRequest({ "X-Forwarded-For": "203.0.113.7" })),
    );
    await waitUntil(() => t.arrivals.length === 1, "the arrival");
    const arrival = t.arrivals[0]!;
    assert.deepEqual(arrival.peer, { address: "203.0.113.7", addressKey: "203.0.113.7" });
    arrival.ws.start({ message() {}, closed() {} });
    const [same] = await exchange(
      t.port,
      request("/healthz", { "X-Forwarded-For": "203.0.113.7" }),
    );
    assert.equal(same!.status, 503);
    const [other] = await exchange(
      t.port,
      request("/healthz", { "X-Forwarded-For": "203.0.113.8" }),
    );
    assert.equal(other!.status, 200);
    conn.close();
    await arrival.ws.closed;
    await waitUntil(() => t.front.stats.open === 0, "the slot freed");
    const [after] = await exchange(
      t.port,
      request("/healthz", { "X-Forwarded-For": "203.0.113.7" }),
    );
    assert.equal(after!.status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("closing the front closes open WebSockets with 1001", async () => {
  const t = startTestFront();
  const client = openWs(t.port, ["chat.ws.1"]);
  assert.equal(await client.opened, true);
  await waitUntil(() => t.arrivals.length === 1, "the arrival");
  t.arrivals[0]!.ws.start({ message() {}, closed() {} });
  await t.close();
  const closed = await client.closed;
  assert.equal(closed.code, 1001);
});

Deno.test("an onWebSocket that throws closes the socket 1011 and logs, leaving no slot held", async () => {
  const t = startTestFront({
    onWebSocket: () => {
      throw new Error("wiring bug");
    },
  });
  try {
    const client = openWs(t.port, ["chat.ws.1"]);
    const closed = await client.closed;
    assert.equal(closed.code, 1011);
    await waitUntil(() => t.front.stats.open === 0, "the slot freed");
    assert.ok(t.log.lines.some((line) => /^error http: onWebSocket failed: wiring bug/.test(line)));
  } finally {
    await t.close();
  }
});
