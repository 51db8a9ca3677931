import assert from "node:assert/strict";
import { sampleSnapshot } from "../metrics_sample_test_util.ts";
import { exchange, memoryLog, request } from "./http_test_util.ts";
import {
  formatHostPort,
  METRICS_CONTENT_TYPE,
  parseMetricsAddr,
  startMetricsListener,
} from "./metrics_listener.ts";

Deno.test("parseMetricsAddr: PORT is loopback; HOST:PORT and [IPv6]:PORT as given; anything else is refused", () => {
  assert.deepEqual(parseMetricsAddr("9100"), { hostname: "127.0.0.1", port: 9100 });
  assert.deepEqual(parseMetricsAddr("0.0.0.0:9100"), { hostname: "0.0.0.0", port: 9100 });
  assert.deepEqual(parseMetricsAddr("[::1]:9100"), { hostname: "::1", port: 9100 });
  assert.deepEqual(parseMetricsAddr("localhost:0"), { hostname: "localhost", port: 0 });
  assert.equal(formatHostPort({ hostname: "::1", port: 9100 }), "[::1]:9100");
  for (const bad of ["", "x", "70000", "::1:9100", "host:", ":9100", "a b:1"]) {
    assert.throws(() => parseMetricsAddr(bad), /expected PORT or HOST:PORT/, bad);
  }
});

Deno.test("the metrics listener answers GET /metrics in the text format, 404 elsewhere, 405 for other methods", async () => {
  let scrapes = 0;
  const listener = startMetricsListener({
    addr: "127.0.0.1:0",
    snapshot: () => {
      scrapes++;
      return sampleSnapshot();
    },
    log: memoryLog(),
  });
  try {
    const port = listener.addr.port;
    const [metrics] = await exchange(port, request("/metrics"));
    assert.equal(metrics!.status, 200);
    assert.equal(metrics!.headers.get("content-type"), METRICS_CONTENT_TYPE);
    assert.match(metrics!.body, /^# HELP chat_rooms /);
    assert.match(metrics!.body, /\nchat_rooms 3\n/);
    assert.equal(scrapes, 1);
    const [other] = await exchange(port, request("/"));
    assert.equal(other!.status, 404);
    const [ws] = await exchange(port, request("/ws"));
    assert.equal(ws!.status, 404);
    const [post] = await exchange(port, request("/metrics", {}, "POST"));
    assert.equal(post!.status, 405);
    const [bad] = await exchange(port, "nonsense\r\n\r\n");
    assert.equal(bad!.status, 400);
    assert.equal(scrapes, 1);
  } finally {
    await listener.close();
  }
});
