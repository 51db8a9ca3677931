import assert from "node:assert/strict";
import { CidrSet } from "./cidr.ts";
import { clientAddress, forwardedEntry } from "./forwarded.ts";

const proxies = new CidrSet(["10.0.0.0/8", "fd00::/8"]);

Deno.test("an untrusted peer is the address, whatever X-Forwarded-For says", () => {
  assert.equal(clientAddress("198.51.100.1", "203.0.113.7", proxies), "198.51.100.1");
  assert.equal(clientAddress("198.51.100.1", undefined, proxies), "198.51.100.1");
  assert.equal(clientAddress("10.0.0.1", "203.0.113.7", new CidrSet([])), "10.0.0.1");
});

Deno.test("a trusted peer: the rightmost untrusted hop, skipping trusted ones; a forged left part is ignored", () => {
  assert.equal(clientAddress("10.0.0.2", "203.0.113.7", proxies), "203.0.113.7");
  assert.equal(clientAddress("10.0.0.2", "203.0.113.7, 10.0.0.9", proxies), "203.0.113.7");
  assert.equal(clientAddress("10.0.0.2", "1.1.1.1, 203.0.113.7, 10.0.0.9", proxies), "203.0.113.7");
  assert.equal(clientAddress("::ffff:10.0.0.2", "203.0.113.7", proxies), "203.0.113.7");
  assert.equal(clientAddress("fd00::1", "2001:db8::5, fd00::2", proxies), "2001:db8::5");
  assert.equal(clientAddress("10.0.0.2", "[2001:DB8::5]:443", proxies), "2001:db8::5");
  assert.equal(clientAddress("10.0.0.2", "203.0.113.7:5555", proxies), "203.0.113.7");
});

Deno.test("a trusted peer with every hop trusted: the leftmost hop; with no header: the peer", () => {
  assert.equal(clientAddress("10.0.0.2", "10.0.0.5, 10.0.0.9", proxies), "10.0.0.5");
  assert.equal(clientAddress("10.0.0.2", undefined, proxies), "10.0.0.2");
});

Deno.test("a malformed hop stops the walk at the last good hop (or the peer)", () => {
  assert.equal(clientAddress("10.0.0.2", "unknown", proxies), "10.0.0.2");
  assert.equal(clientAddress("10.0.0.2", "", proxies), "10.0.0.2");
  assert.equal(clientAddress("10.0.0.2", "203.0.113.7, garbage, 10.0.0.9", proxies), "10.0.0.9");
  assert.equal(clientAddress("10.0.0.2", "203.0.113.7,,10.0.0.9", proxies), "10.0.0.9");
  assert.equal(clientAddress("10.0.0.2", "evil.example, 203.0.113.7", proxies), "203.0.113.7");
});

Deno.test("forwardedEntry: addresses with or without a port and brackets; names are not addresses", () => {
  assert.equal(forwardedEntry(" 192.0.2.1 "), "192.0.2.1");
  assert.equal(forwardedEntry("192.0.2.1:80"), "192.0.2.1");
  assert.equal(forwardedEntry("[::1]"), "::1");
  assert.equal(forwardedEntry("[::1]:8080"), "::1");
  assert.equal(forwardedEntry("::1"), "::1");
  assert.equal(forwardedEntry("host.example"), null);
  assert.equal(forwardedEntry("_hidden"), null);
  assert.equal(forwardedEntry("[::1"), null);
});
