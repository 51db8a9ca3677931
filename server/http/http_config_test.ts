import assert from "node:assert/strict";
import { UsageError } from "../../client/usage_error.ts";
import { DEFAULT_SERVER_CONFIG, SERVE_FLAGS, serverConfigFrom } from "../config.ts";
import {
  checkHttpConfig,
  cidrList,
  DEFAULT_HTTP_CONFIG,
  httpWarnings,
  isLoopback,
  metricsAddress,
  publicOriginList,
} from "./http_config.ts";

const flag = (name: string) => SERVE_FLAGS.find((f) => f.flag === name)!;

Deno.test("the HTTP flags, their variables and defaults (ws.md's list)", () => {
  const expected: [string, string, unknown][] = [
    ["--http-port", "CHAT_HTTP_PORT", 8080],
    ["--public-origin", "CHAT_PUBLIC_ORIGIN", []],
    ["--trust-proxy", "CHAT_TRUST_PROXY", []],
    ["--tls-cert", "CHAT_TLS_CERT", ""],
    ["--tls-key", "CHAT_TLS_KEY", ""],
    ["--metrics-addr", "CHAT_METRICS_ADDR", ""],
    ["--max-http-connections", "CHAT_MAX_HTTP_CONNECTIONS", 4096],
    ["--max-http-connections-per-ip", "CHAT_MAX_HTTP_CONNECTIONS_PER_IP", 256],
    ["--ws-grace", "CHAT_WS_GRACE", 300],
    ["--ws-buffer-soft", "CHAT_WS_BUFFER_SOFT", 262144],
    ["--ws-buffer-hard", "CHAT_WS_BUFFER_HARD", 1048576],
  ];
  for (const [name, env, value] of expected) {
    const f = flag(name);
    assert.equal(f.env, env);
    assert.deepEqual(DEFAULT_SERVER_CONFIG[f.key], value, name);
  }
  // --http-port sits with the other ports.
  const names = SERVE_FLAGS.map((f) => f.flag);
  assert.equal(names.indexOf("--http-port"), names.indexOf("--advertise-udp-port") + 1);
  assert.equal(flag("--http-port").parse("0"), 0, "0 turns HTTP off");
  assert.throws(() => flag("--http-port").parse("65536"), /from 0 to 65535/);
});

Deno.test("--public-origin: a list of origins as browsers write them; a bad one says what is expected", () => {
  assert.deepEqual(publicOriginList(""), []);
  assert.deepEqual(publicOriginList("https://Chat.School.example/, http://10.0.0.5:8080"), [
    "https://chat.school.example",
    "http://10.0.0.5:8080",
  ]);
  assert.throws(
    () => publicOriginList("chat.school.example"),
    /"chat\.school\.example" is not an origin/,
  );
  assert.throws(() => publicOriginList("https://a.example/path"), /with no path/);
});

Deno.test("--trust-proxy: CIDR blocks and addresses, commas or spaces; a bad entry is named", () => {
  assert.deepEqual(cidrList(""), []);
  assert.deepEqual(cidrList("10.0.0.0/8, ::1 192.168.1.1"), ["10.0.0.0/8", "::1", "192.168.1.1"]);
  assert.throws(
    () => cidrList("10.0.0.0/8,proxy.lan"),
    /"proxy\.lan" is not an IP address or CIDR block/,
  );
  assert.throws(() => cidrList("10.0.0.0/40"), /prefix length must be a whole number from 0 to 32/);
  assert.throws(() => cidrList("10.0.0.0/40"), TypeError);
});

Deno.test("--metrics-addr: empty is off, PORT is loopback, HOST:PORT as given", () => {
  assert.equal(metricsAddress(""), "");
  assert.equal(metricsAddress("9100"), "127.0.0.1:9100");
  assert.equal(metricsAddress("0.0.0.0:9100"), "0.0.0.0:9100");
  assert.equal(metricsAddress("[::1]:9100"), "[::1]:9100");
  assert.throws(() => metricsAddress("nine"), /expected PORT or HOST:PORT/);
});

Deno.test("--ws-grace, --ws-buffer-soft/-hard and the connection limits refuse bad numbers", () => {
  assert.equal(flag("--ws-grace").parse("0"), 0);
  assert.throws(() => flag("--ws-grace").parse("-1"), /whole number/);
  assert.throws(() => flag("--ws-buffer-soft").parse("100"), /from 4096/);
  assert.throws(() => flag("--max-http-connections").parse("0"), /from 1/);
  assert.throws(() => flag("--max-http-connections-per-ip").parse("x"), /whole number/);
});

Deno.test("--tls-cert and --tls-key come together; the soft buffer limit is below the hard one", () => {
  const config = { ...DEFAULT_HTTP_CONFIG };
  checkHttpConfig(config);
  checkHttpConfig({ ...config, tlsCert: "c.pem", tlsKey: "k.pem" });
  assert.throws(
    () => checkHttpConfig({ ...config, tlsCert: "c.pem" }),
    (error) => error instanceof UsageError && /--tls-cert needs --tls-key too/.test(error.message),
  );
  assert.throws(
    () => checkHttpConfig({ ...config, tlsKey: "k.pem" }),
    /--tls-key needs --tls-cert too/,
  );
  assert.throws(
    () => checkHttpConfig({ ...config, wsBufferSoft: 1 << 20, wsBufferHard: 1 << 20 }),
    /--ws-buffer-soft \(1048576\) must be below --ws-buffer-hard \(1048576\)/,
  );
  // serverConfigFrom applies the same rule (main.ts turns the UsageError into exit 2).
  assert.throws(
    () => serverConfigFrom((f) => f.key === "tlsCert" ? "c.pem" : DEFAULT_SERVER_CONFIG[f.key]),
    UsageError,
  );
});

Deno.test("httpWarnings: plain http on a non-loopback address, metrics on a non-loopback address", () => {
  const plain = { tlsCert: "", metricsAddr: "" };
  const at = (hostname: string): Deno.NetAddr => ({ transport: "tcp", hostname, port: 8080 });
  assert.deepEqual(httpWarnings(plain, at("127.0.0.1")), []);
  assert.deepEqual(httpWarnings(plain, at("::1")), []);
  assert.deepEqual(httpWarnings(plain, null), []);
  assert.deepEqual(httpWarnings({ ...plain, tlsCert: "c.pem" }, at("0.0.0.0")), []);
  assert.deepEqual(httpWarnings(plain, at("0.0.0.0")), [
    "the page is served over plain http on 0.0.0.0:8080: connections are protected only " +
    "against passive listeners; use --tls-cert/--tls-key or a reverse proxy",
  ]);
  assert.match(httpWarnings(plain, at("2001:db8::1"))[0]!, /plain http on \[2001:db8::1\]:8080/);
  assert.deepEqual(httpWarnings({ ...plain, metricsAddr: "127.0.0.1:9100" }, null), []);
  const metrics = httpWarnings({ ...plain, metricsAddr: "0.0.0.0:9100" }, null);
  assert.equal(metrics.length, 1);
  assert.match(
    metrics[0]!,
    /^metrics are served on 0\.0\.0\.0:9100, which is not a loopback address/,
  );
  assert.ok(isLoopback("127.0.0.2") && isLoopback("localhost") && isLoopback("[::1]"));
  assert.ok(!isLoopback("0.0.0.0") && !isLoopback("192.168.1.2") && !isLoopback("::"));
});
