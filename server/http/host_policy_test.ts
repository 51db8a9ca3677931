import assert from "node:assert/strict";
import { HostPolicy, normalizePublicOrigin, type ParsedHost, parseHost } from "./host_policy.ts";

const local = new HostPolicy({ publicOrigins: [], hostName: "classroom-pc" });
const host = (text: string): ParsedHost => {
  const parsed = parseHost(text);
  assert.ok(parsed, text);
  return parsed;
};

Deno.test("parseHost: names, IPv4, bracketed IPv6, ports; malformed hosts are null", () => {
  assert.deepEqual(parseHost("Example.COM."), { key: "name:example.com", port: null, ip: false });
  assert.deepEqual(parseHost("127.0.0.1:8080"), { key: "ip:7f000001", port: 8080, ip: true });
  assert.equal(parseHost("[::1]:8080")!.port, 8080);
  assert.equal(parseHost("[0:0::1]")!.key, parseHost("[::1]")!.key);
  for (
    const bad of [
      "",
      "::1",
      "[::1",
      "a b",
      "a:0",
      "a:65536",
      "a:x",
      "a/b",
      "u@a",
      "[nothost]",
      ".",
      "a..b",
      "[::1]x",
    ]
  ) {
    assert.equal(parseHost(bad), null, JSON.stringify(bad));
  }
});

Deno.test("without --public-origin: IP literals, localhost and the host name (and .local) with any port and case", () => {
  for (
    const ok of [
      "127.0.0.1",
      "127.0.0.1:8080",
      "192.168.1.20:80",
      "[::1]",
      "[::1]:8080",
      "[2001:db8::7]",
      "localhost",
      "LOCALHOST:8080",
      "localhost.",
      "classroom-pc",
      "Classroom-PC.:8080",
      "classroom-pc.local",
      "classroom-pc.local.:8080",
    ]
  ) {
    assert.ok(local.hostAllowed(host(ok)), ok);
  }
  for (
    const bad of [
      "attacker.example",
      "attacker.example:8080",
      "localhost.attacker.example",
      "classroom-pc.attacker.example",
      "2130706433",
      "other-pc.local",
    ]
  ) {
    assert.ok(!local.hostAllowed(host(bad)), bad);
  }
  assert.ok(!local.hasPublicOrigins);
  const unnamed = new HostPolicy({ publicOrigins: [], hostName: null });
  assert.ok(unnamed.hostAllowed(host("localhost")));
  assert.ok(!unnamed.hostAllowed(host("classroom-pc")));
});

Deno.test("with --public-origin: only those origins' hosts, the default port filled in", () => {
  const policy = new HostPolicy({
    publicOrigins: ["https://Chat.School.example", "http://10.0.0.5:8080"],
    hostName: "classroom-pc",
  });
  assert.ok(policy.hasPublicOrigins);
  for (
    const ok of [
      "chat.school.example",
      "CHAT.school.example.",
      "chat.school.example:443",
      "10.0.0.5:8080",
    ]
  ) {
    assert.ok(policy.hostAllowed(host(ok)), ok);
  }
  for (
    const bad of [
      "chat.school.example:8443",
      "localhost",
      "127.0.0.1",
      "10.0.0.5",
      "classroom-pc",
      "attacker.example",
    ]
  ) {
    assert.ok(!policy.hostAllowed(host(bad)), bad);
  }
});

Deno.test("Origin without --public-origin: http(s):// plus the same Host; null, foreign and malformed are refused; none is a program", () => {
  const h = host("127.0.0.1:8080");
  assert.equal(local.checkOrigin(undefined, h), "absent");
  assert.equal(local.checkOrigin("http://127.0.0.1:8080", h), "allowed");
  assert.equal(local.checkOrigin("https://127.0.0.1:8080", h), "allowed");
  assert.equal(local.checkOrigin("null", h), "refused");
  assert.equal(local.checkOrigin("http://127.0.0.1:8081", h), "refused");
  assert.equal(local.checkOrigin("http://127.0.0.1", h), "refused");
  assert.equal(local.checkOrigin("http://attacker.example:8080", h), "refused");
  assert.equal(local.checkOrigin("http://127.0.0.1:8080/path", h), "refused");
  assert.equal(local.checkOrigin("ftp://127.0.0.1:8080", h), "refused");
  assert.equal(local.checkOrigin("", h), "refused");
  // No port in Host: the Origin's scheme default.
  assert.equal(local.checkOrigin("http://LOCALHOST", host("localhost")), "allowed");
  assert.equal(local.checkOrigin("https://localhost", host("localhost")), "allowed");
  assert.equal(local.checkOrigin("http://localhost:80", host("localhost")), "allowed");
  assert.equal(local.checkOrigin("http://localhost:8080", host("localhost")), "refused");
  assert.equal(local.checkOrigin("http://[0::1]:8080", host("[::1]:8080")), "allowed");
  assert.equal(local.checkOrigin("http://localhost.:8080", host("localhost:8080")), "allowed");
});

Deno.test("Origin with --public-origin: exactly one of them, whatever the Host", () => {
  const policy = new HostPolicy({ publicOrigins: ["https://chat.school.example"], hostName: null });
  const h = host("chat.school.example");
  assert.equal(policy.checkOrigin("https://chat.school.example", h), "allowed");
  assert.equal(policy.checkOrigin("https://CHAT.school.example:443", h), "allowed");
  assert.equal(policy.checkOrigin("http://chat.school.example", h), "refused");
  assert.equal(policy.checkOrigin("https://evil.example", h), "refused");
  assert.equal(policy.checkOrigin("null", h), "refused");
  assert.equal(policy.checkOrigin(undefined, h), "absent");
});

Deno.test("normalizePublicOrigin: the browser's spelling, or an error that shows an example", () => {
  assert.equal(
    normalizePublicOrigin("HTTPS://Chat.School.Example:443/"),
    "https://chat.school.example",
  );
  assert.equal(normalizePublicOrigin("http://10.0.0.5:8080"), "http://10.0.0.5:8080");
  assert.equal(normalizePublicOrigin("http://[::1]:80"), "http://[::1]");
  for (
    const bad of [
      "chat.school.example",
      "https://chat.school.example/app",
      "ftp://x",
      "https://",
      "https://u@x",
    ]
  ) {
    assert.throws(
      () => normalizePublicOrigin(bad),
      /is not an origin: expected http:\/\/ or https:\/\/.*e\.g\. https:\/\/chat\.school\.example/,
      bad,
    );
  }
});
