import assert from "node:assert/strict";
import { DEFAULT_TCRP_PORT, formatHostPort, parseHostPort } from "./host_port.ts";

Deno.test("a bare host gets the default TCRP port", () => {
  assert.equal(DEFAULT_TCRP_PORT, 9001);
  assert.deepEqual(parseHostPort("localhost"), { hostname: "localhost", port: 9001 });
  assert.deepEqual(parseHostPort("chat.example.org"), {
    hostname: "chat.example.org",
    port: 9001,
  });
  assert.deepEqual(parseHostPort("10.0.0.7"), { hostname: "10.0.0.7", port: 9001 });
});

Deno.test("host:port", () => {
  assert.deepEqual(parseHostPort("localhost:4000"), { hostname: "localhost", port: 4000 });
  assert.deepEqual(parseHostPort("127.0.0.1:1"), { hostname: "127.0.0.1", port: 1 });
  assert.deepEqual(parseHostPort("example.com:65535"), {
    hostname: "example.com",
    port: 65_535,
  });
  assert.deepEqual(parseHostPort("host:08080"), { hostname: "host", port: 8080 });
});

Deno.test("bracketed IPv6, with and without a port", () => {
  assert.deepEqual(parseHostPort("[::1]:9001"), { hostname: "::1", port: 9001 });
  assert.deepEqual(parseHostPort("[::1]"), { hostname: "::1", port: 9001 });
  assert.deepEqual(parseHostPort("[2001:db8::42]:7000"), {
    hostname: "2001:db8::42",
    port: 7000,
  });
  assert.deepEqual(parseHostPort("[fe80::1%eth0]:80"), { hostname: "fe80::1%eth0", port: 80 });
});

Deno.test("surrounding white space is ignored", () => {
  assert.deepEqual(parseHostPort("  localhost:4000\n"), {
    hostname: "localhost",
    port: 4000,
  });
  assert.deepEqual(parseHostPort("\t[::1] "), { hostname: "::1", port: 9001 });
});

Deno.test("bad addresses throw TypeError", () => {
  const bad = [
    "",
    "   ",
    ":9001",
    "host:",
    "host:port",
    "host:-1",
    "host:0",
    "host:00000",
    "host:65536",
    "host:99999",
    "host:123456",
    "host:80:90",
    "::1",
    "::1:9001",
    "[::1",
    "::1]",
    "[]",
    "[]:9001",
    "[::1]:",
    "[::1]9001",
    "[::1]:abc",
    "[[::1]]",
    "my host:9001",
    "host\tname",
    "host:9 001",
  ];
  for (const text of bad) {
    assert.throws(() => parseHostPort(text), TypeError, JSON.stringify(text));
  }
});

Deno.test("the error names what was wrong", () => {
  assert.throws(() => parseHostPort("host:70000"), {
    name: "TypeError",
    message: /port 70000 is not 1-65535/,
  });
  assert.throws(() => parseHostPort("a:b:c"), {
    name: "TypeError",
    message: /"a:b:c" is not host or host:port/,
  });
});

Deno.test("formatHostPort brackets IPv6 literals, and parses back", () => {
  assert.equal(formatHostPort({ hostname: "127.0.0.1", port: 9001 }), "127.0.0.1:9001");
  assert.equal(formatHostPort({ hostname: "::1", port: 9002 }), "[::1]:9002");
  for (
    const address of [{ hostname: "::1", port: 1 }, { hostname: "chat.example", port: 65_535 }]
  ) {
    assert.deepEqual(parseHostPort(formatHostPort(address)), address);
  }
});
