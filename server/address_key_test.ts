import assert from "node:assert/strict";
import { addressKey } from "./address_key.ts";

Deno.test("addressKey: IPv4 is the whole address", () => {
  assert.equal(addressKey("203.0.113.9"), "203.0.113.9");
  assert.equal(addressKey("127.0.0.2"), "127.0.0.2");
  assert.notEqual(addressKey("127.0.0.1"), addressKey("127.0.0.2"));
});

Deno.test("addressKey: an IPv4-mapped IPv6 address folds to its IPv4 address", () => {
  assert.equal(addressKey("::ffff:203.0.113.9"), "203.0.113.9");
  assert.equal(addressKey("::FFFF:cb00:7109"), "203.0.113.9");
  assert.equal(addressKey("0:0:0:0:0:ffff:127.0.0.1"), "127.0.0.1");
});

Deno.test("addressKey: IPv6 by /64 by default, whatever the spelling", () => {
  const key = "2001:db8:0:1::/64";
  for (
    const address of [
      "2001:db8:0:1::1",
      "2001:0db8:0000:0001:ffff:ffff:ffff:ffff",
      "2001:DB8:0:1:a:b:c:d",
      "2001:db8:0:1::9%eth0",
      "[2001:db8:0:1::2]",
    ]
  ) {
    assert.equal(addressKey(address), key, address);
  }
  assert.notEqual(addressKey("2001:db8:0:2::1"), key);
  assert.equal(addressKey("::1"), "::/64");
});

Deno.test("addressKey: the IPv6 prefix length is a setting", () => {
  assert.equal(addressKey("2001:db8::1", { ipv6PrefixLength: 128 }), "2001:db8::1/128");
  assert.equal(addressKey("2001:db8:aaaa:bbbb::1", { ipv6PrefixLength: 48 }), "2001:db8:aaaa::/48");
  assert.equal(
    addressKey("2001:db8:aaaa:bbff::1", { ipv6PrefixLength: 56 }),
    "2001:db8:aaaa:bb00::/56",
  );
  assert.equal(addressKey("ffff::1", { ipv6PrefixLength: 1 }), "8000::/1");
});

Deno.test("addressKey: a string that is no IP literal is its own key", () => {
  for (const text of ["localhost", "1:2:3", "1::2::3", "12345::", "::ffff:1.2.3.256", ""]) {
    assert.equal(addressKey(text), text, text);
  }
});
