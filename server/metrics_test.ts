import assert from "node:assert/strict";
import { escapeLabel, renderMetrics } from "./metrics.ts";
import { sampleSnapshot } from "./metrics_sample_test_util.ts";

Deno.test("renderMetrics: the text format, HELP and TYPE once per family before its samples, counters end in _total", () => {
  const text = renderMetrics(sampleSnapshot());
  assert.ok(text.endsWith("\n"));
  const lines = text.trimEnd().split("\n");
  const types = new Map<string, string>();
  let current = "";
  for (const line of lines) {
    const help = /^# HELP (\w+) \S.*$/.exec(line);
    const type = /^# TYPE (\w+) (counter|gauge)$/.exec(line);
    if (help) {
      assert.ok(!types.has(help[1]!), `${help[1]} once`);
      current = help[1]!;
    } else if (type) {
      assert.equal(type[1], current, "TYPE follows its HELP");
      types.set(type[1]!, type[2]!);
    } else {
      const sample =
        /^(\w+)(\{[a-z_]+="[^"\\\n]*"(,[a-z_]+="[^"\\\n]*")*\})? (-?[\d.]+(e[+-]?\d+)?|NaN|[+-]Inf)$/
          .exec(line);
      assert.ok(sample, `a sample line: ${line}`);
      assert.equal(sample[1], current, `${line} belongs to the family above it`);
    }
  }
  for (const [name, type] of types) {
    assert.equal(name.endsWith("_total"), type === "counter", name);
  }
  for (
    const expected of [
      "chat_rooms 3",
      'chat_members{transport="sealed-udp"} 5',
      'chat_members{transport="udp"} 4',
      'chat_members{transport="websocket"} 6',
      "chat_members_disconnected 1",
      "chat_datagrams_received_total 100",
      "chat_datagrams_sent_total 200",
      "chat_datagram_bytes_received_total 3000",
      "chat_datagram_bytes_sent_total 4000",
      'chat_drops_total{cause="rate"} 8',
      'chat_handshake_refusals_total{status="429"} 9',
      "chat_seal_failures_total 11",
      "chat_event_loop_lag_seconds 0.0025",
      "chat_event_loop_lag_max_seconds 0.04",
      "chat_websocket_connections 6",
      "chat_websocket_buffered_bytes 1234",
      "chat_websocket_events_shed_total 12",
      "chat_websocket_slow_readers_closed_total 13",
      "chat_http_connections 8",
      "chat_http_connections_refused_total 14",
      "chat_http_host_refusals_total 15",
      "chat_websocket_origin_refusals_total 16",
      "chat_websocket_upgrades_total 17",
      "chat_websocket_out_of_date_total 18",
      "chat_http_bad_requests_total 19",
    ]
  ) {
    assert.ok(lines.includes(expected), expected);
  }
});

Deno.test("renderMetrics: no HTTP families when HTTP is off; empty label sets still declare the family", () => {
  const text = renderMetrics({ ...sampleSnapshot(), http: null, drops: {} });
  assert.doesNotMatch(text, /chat_http_/);
  assert.match(text, /# TYPE chat_drops_total counter\n# HELP chat_handshake/);
});

Deno.test("label values are escaped", () => {
  assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const text = renderMetrics({ ...sampleSnapshot(), drops: { 'x"y': 1 } });
  assert.ok(text.includes('chat_drops_total{cause="x\\"y"} 1'));
});
