import assert from "node:assert/strict";
import { waitUntil } from "../../testing/wait.ts";
import { CONTENT_SECURITY_POLICY } from "./http_response.ts";
import {
  connectFrom,
  exchange,
  parseResponses,
  readUntilClosed,
  request,
  startTestFront,
} from "./http_test_util.ts";
import { base64Of, pageBuild } from "./page_assets.ts";
import { FIXTURE_KEY, FIXTURE_PAGE } from "./page_fixture_test_util.ts";

const BUILD = pageBuild(FIXTURE_PAGE);

function assertSecurityHeaders(headers: Map<string, string>): void {
  assert.equal(headers.get("x-content-type-options"), "nosniff");
  assert.equal(headers.get("referrer-policy"), "no-referrer");
  assert.equal(headers.get("cross-origin-opener-policy"), "same-origin");
}

Deno.test("GET / serves the page: HTML with the key and build, the exact CSP, no-cache, a strong ETag; 304 on If-None-Match", async () => {
  const t = startTestFront();
  try {
    assert.equal(t.front.build, BUILD);
    const [page] = await exchange(t.port, request("/"));
    assert.equal(page!.status, 200);
    assertSecurityHeaders(page!.headers);
    assert.equal(page!.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    assert.ok(page!.head.includes(
      "\r\nContent-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'\r\n",
    ));
    assert.equal(page!.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(page!.headers.get("cache-control"), "no-cache");
    const etag = page!.headers.get("etag")!;
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    const html = new TextDecoder().decode(
      Uint8Array.from(page!.body, (c) => c.charCodeAt(0)),
    );
    assert.ok(html.includes(`<meta name="chat-server-key" content="${base64Of(FIXTURE_KEY)}">`));
    assert.ok(html.includes(`<meta name="chat-build" content="${BUILD}">`));
    assert.ok(html.includes(`src="/app.${BUILD}.js"`));
    assert.equal(
      Number(page!.headers.get("content-length")),
      new TextEncoder().encode(html).length,
    );

    const [cached] = await exchange(t.port, request("/", { "If-None-Match": `W/"old", ${etag}` }));
    assert.equal(cached!.status, 304);
    assert.equal(cached!.body, "");
    assert.equal(cached!.headers.get("etag"), etag);
    assert.equal(cached!.headers.has("content-length"), false);
    const [stale] = await exchange(t.port, request("/", { "If-None-Match": '"old"' }));
    assert.equal(stale!.status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("the bundle and the style are immutable at their build's paths; another build's path is 404", async () => {
  const t = startTestFront();
  try {
    const [script] = await exchange(t.port, request(`/app.${BUILD}.js`));
    assert.equal(script!.status, 200);
    assert.equal(script!.body, FIXTURE_PAGE.script);
    assert.equal(script!.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(script!.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assertSecurityHeaders(script!.headers);
    const [style] = await exchange(t.port, request(`/app.${BUILD}.css?v=1`));
    assert.equal(style!.status, 200);
    assert.equal(style!.headers.get("content-type"), "text/css; charset=utf-8");
    const [old] = await exchange(t.port, request("/app.000000000000.js"));
    assert.equal(old!.status, 404);
  } finally {
    await t.close();
  }
});

Deno.test("/healthz is ok, text/plain, no-store; HEAD has the same headers and no body; 404 and 405 are text", async () => {
  const t = startTestFront();
  try {
    const [health] = await exchange(t.port, request("/healthz"));
    assert.equal(health!.status, 200);
    assert.equal(health!.body, "ok\n");
    assert.equal(health!.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(health!.headers.get("cache-control"), "no-store");
    assertSecurityHeaders(health!.headers);

    const [get] = await exchange(t.port, request("/"));
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    await conn.write(new TextEncoder().encode(request("/", {}, "HEAD")));
    const raw = await readUntilClosed(conn);
    const [head] = parseResponses(raw, true);
    assert.equal(head!.status, 200);
    assert.ok(raw.endsWith("\r\n\r\n"), "no body after HEAD's headers");
    for (
      const name of [
        "content-length",
        "etag",
        "content-type",
        "cache-control",
        "content-security-policy",
      ]
    ) {
      assert.equal(head!.headers.get(name), get!.headers.get(name), name);
    }

    const [missing] = await exchange(t.port, request("/nope"));
    assert.equal(missing!.status, 404);
    assert.equal(missing!.body, "not found\n");
    assertSecurityHeaders(missing!.headers);
    const [post] = await exchange(t.port, request("/", {}, "POST"));
    assert.equal(post!.status, 405);
    assert.equal(post!.headers.get("allow"), "GET, HEAD");
    const [del] = await exchange(t.port, request("/healthz", {}, "DELETE"));
    assert.equal(del!.status, 405);
  } finally {
    await t.close();
  }
});

Deno.test("without a page, / is 404 and the build is null", async () => {
  const t = startTestFront({ page: null });
  try {
    assert.equal(t.front.build, null);
    const [root] = await exchange(t.port, request("/"));
    assert.equal(root!.status, 404);
  } finally {
    await t.close();
  }
});

Deno.test("a request with a body, a malformed or missing Host, an oversized head, HTTP/2 are refused and closed", async () => {
  const t = startTestFront();
  try {
    const cases: [string, number, RegExp][] = [
      [request("/", { "Content-Length": "5" }, "POST") + "hello", 400, /body/],
      [request("/", { "Content-Length": "3" }) + "abc", 400, /body/],
      [request("/", { "Transfer-Encoding": "chunked" }) + "0\r\n\r\n", 400, /body/],
      ["GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 400, /Host/],
      ["GET / HTTP/1.0\r\n\r\n", 400, /Host header is required/],
      [request("/", { Host: "bad host!" }), 400, /Host header is malformed/],
      [request("/", { "X-Big": "a".repeat(9000) }), 431, /longer than 8192/],
      ["GET / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n", 505, /HTTP\/2.0/],
      ["GET /\r\n\r\n", 400, /./],
      [request("http://127.0.0.1/"), 400, /path/],
    ];
    for (const [bytes, status, text] of cases) {
      const responses = await exchange(t.port, bytes);
      assert.equal(responses.length, 1, bytes.slice(0, 60));
      assert.equal(responses[0]!.status, status, bytes.slice(0, 60));
      assert.match(responses[0]!.body, text);
      assert.equal(responses[0]!.headers.get("connection"), "close");
      assert.equal(responses[0]!.body.split("\n").length, 2, "one line");
    }
    assert.equal(t.front.stats.badRequests, cases.length);
  } finally {
    await t.close();
  }
});

Deno.test("keep-alive: two requests on one HTTP/1.1 connection (one after the other, then pipelined); HTTP/1.0 closes", async () => {
  const t = startTestFront();
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    const encoder = new TextEncoder();
    await conn.write(encoder.encode("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    const buffer = new Uint8Array(65536);
    let text = "";
    while (!text.endsWith("ok\n")) {
      const n = await conn.read(buffer);
      assert.ok(n !== null, "still open after the first answer");
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    assert.equal(parseResponses(text)[0]!.headers.has("connection"), false);
    await conn.write(encoder.encode(
      "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    ));
    const rest = parseResponses(await readUntilClosed(conn));
    assert.deepEqual(rest.map((r) => r.status), [200, 404]);
    assert.equal(rest[1]!.headers.get("connection"), "close");

    const old = await exchange(t.port, "GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n");
    assert.equal(old.length, 1);
    assert.equal(old[0]!.headers.get("connection"), "close");
    await waitUntil(() => t.front.stats.open === 0, "connections closed");
  } finally {
    await t.close();
  }
});

Deno.test("a slow head gets 408 and is closed at the deadline; an idle connection is closed silently", async () => {
  const t = startTestFront({ headTimeoutMs: 300 });
  try {
    const slow = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    await slow.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: localhost\r\n"));
    const started = performance.now();
    const [answer] = parseResponses(await readUntilClosed(slow));
    assert.equal(answer!.status, 408);
    assert.ok(performance.now() - started >= 150, "answered at the deadline, not at once");
    const idle = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    assert.equal(await readUntilClosed(idle), "");
    await waitUntil(() => t.front.stats.open === 0, "connections closed");
  } finally {
    await t.close();
  }
});

Deno.test("a rebinding Host gets 421 naming --public-origin on /, /healthz and /ws; IP literals, localhost and the host name are served", async () => {
  const t = startTestFront();
  try {
    for (const target of ["/", "/healthz", "/ws", "/nope"]) {
      const [answer] = await exchange(
        t.port,
        request(target, {
          Host: "attacker.example:8080",
          Upgrade: target === "/ws" ? "websocket" : "",
        }),
      );
      assert.equal(answer!.status, 421, target);
      assert.match(answer!.body, /--public-origin/);
      assert.equal(answer!.body.split("\n").length, 2);
    }
    assert.equal(t.front.stats.hostRefused, 4);
    for (
      const host of [
        "127.0.0.1",
        `127.0.0.1:${t.port}`,
        "[::1]:8080",
        "localhost",
        "LocalHost.",
        "classroom-pc",
        "classroom-pc.local",
      ]
    ) {
      const [answer] = await exchange(t.port, request("/healthz", { Host: host }));
      assert.equal(answer!.status, 200, host);
    }
  } finally {
    await t.close();
  }
});

Deno.test("with --public-origin only its host is served: localhost and IPs get 421 too", async () => {
  const t = startTestFront({ publicOrigins: ["https://chat.school.example"] });
  try {
    const [ok] = await exchange(t.port, request("/healthz", { Host: "chat.school.example" }));
    assert.equal(ok!.status, 200);
    for (const host of ["localhost", "127.0.0.1", "classroom-pc", "chat.school.example:8443"]) {
      const [answer] = await exchange(t.port, request("/healthz", { Host: host }));
      assert.equal(answer!.status, 421, host);
      assert.match(answer!.body, /--public-origin/);
    }
  } finally {
    await t.close();
  }
});

Deno.test("connection limits: over the total or the per-address count a connection gets 503 unread; another source address still gets in", async () => {
  const t = startTestFront({ maxConnections: 3, maxConnectionsPerIp: 2 });
  const held: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      held.push(await Deno.connect({ hostname: "127.0.0.1", port: t.port }));
    }
    await waitUntil(() => t.front.stats.open === 2, "two connections open");
    const [perIp] = await exchange(t.port, request("/healthz"));
    assert.equal(perIp!.status, 503);
    assert.equal(perIp!.headers.get("connection"), "close");
    assert.equal(t.front.stats.refusedByLimit, 1);
    // 127.0.0.2 has its own count: served, then (with a third held) the total is full.
    const other = await connectFrom("127.0.0.2", t.port, request("/healthz"), 3_000);
    assert.equal(parseResponses(other)[0]!.status, 200);
    const third = connectFrom("127.0.0.2", t.port, "", 1_000);
    await waitUntil(() => t.front.stats.open === 3, "three connections open");
    const full = await connectFrom("127.0.0.2", t.port, request("/healthz"), 3_000);
    assert.equal(parseResponses(full)[0]!.status, 503);
    assert.equal(await third, "open");
    assert.equal(t.front.stats.refusedByLimit, 2);
    // A slot frees when its connection closes.
    held.pop()!.close();
    await waitUntil(() => t.front.stats.open === 1, "slots freed");
    const [again] = await exchange(t.port, request("/healthz"));
    assert.equal(again!.status, 200);
  } finally {
    for (const conn of held) conn.close();
    await t.close();
  }
});

Deno.test("behind a trusted proxy each request counts against its X-Forwarded-For client, not the proxy", async () => {
  const t = startTestFront({ trustProxy: ["127.0.0.1/32"], maxConnectionsPerIp: 1 });
  const held: Deno.Conn[] = [];
  try {
    // The proxy holds two connections (more than the per-address limit): no client charged yet.
    for (let i = 0; i < 2; i++) {
      held.push(await Deno.connect({ hostname: "127.0.0.1", port: t.port }));
    }
    await waitUntil(() => t.front.stats.open === 2, "two proxy connections open");
    const [a] = await exchange(t.port, request("/healthz", { "X-Forwarded-For": "203.0.113.7" }));
    assert.equal(a!.status, 200);
    const [b] = await exchange(
      t.port,
      request("/healthz", { "X-Forwarded-For": "203.0.113.8, 127.0.0.1" }),
    );
    assert.equal(b!.status, 200);
  } finally {
    for (const conn of held) conn.close();
    await t.close();
  }
});

Deno.test("without a hostName option the front reads Deno.hostname() once; without --allow-sys it warns and serves IPs and localhost", async () => {
  const t = startTestFront({ hostName: undefined });
  try {
    let own: string | null = null;
    try {
      own = Deno.hostname();
    } catch { /* no --allow-sys=hostname in this run */ }
    if (own === null) {
      assert.ok(
        t.log.lines.some((line) => /^warn http: cannot read the machine's host name/.test(line)),
      );
      assert.match(t.log.lines.join("\n"), /--allow-sys=hostname/);
    } else {
      const [named] = await exchange(t.port, request("/healthz", { Host: own }));
      assert.equal(named!.status, 200, own);
    }
    const [local] = await exchange(t.port, request("/healthz", { Host: "localhost" }));
    assert.equal(local!.status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("a bad page template or trusted block throws at start and leaves nothing bound", () => {
  assert.throws(
    () => startTestFront({ page: { ...FIXTURE_PAGE, html: "<p>no placeholders</p>" } }),
    /lacks \{\{SCRIPT\}\}/,
  );
  assert.throws(() => startTestFront({ trustProxy: ["nope"] }), /"nope" is not an IP address/);
  assert.throws(() => startTestFront({ publicOrigins: ["chat.example"] }), /is not an origin/);
});
