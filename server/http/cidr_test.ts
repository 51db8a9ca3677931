import assert from "node:assert/strict";
import { CidrError, CidrSet, parseCidr, parseCidrList, parseIp } from "./cidr.ts";

Deno.test("parseIp: IPv4, IPv6 (brackets, zone, embedded IPv4), IPv4-mapped as IPv4, and refusals", () => {
  assert.deepEqual([...parseIp("192.0.2.1")!], [192, 0, 2, 1]);
  assert.equal(parseIp("::1")!.length, 16);
  assert.equal(parseIp("[2001:db8::1]")![3], 0xb8);
  assert.equal(parseIp("fe80::1%eth0")![0], 0xfe);
  assert.deepEqual([...parseIp("::ffff:10.1.2.3")!], [10, 1, 2, 3]);
  assert.deepEqual([...parseIp("64:ff9b::192.0.2.1")!.subarray(12)], [192, 0, 2, 1]);
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.256",
      "01.2.3.4",
      "1.2.3.4.5",
      "::1::2",
      "12345::",
      "x",
      "1:2:3:4:5:6:7:8:9",
    ]
  ) {
    assert.equal(parseIp(bad), null, bad);
  }
});

Deno.test("parseCidr: blocks, single addresses, host bits cleared, and clear errors", () => {
  assert.deepEqual(parseCidr("10.1.2.3/8"), { bytes: Uint8Array.from([10, 0, 0, 0]), prefix: 8 });
  assert.equal(parseCidr("192.0.2.9").prefix, 32);
  assert.equal(parseCidr("::1").prefix, 128);
  assert.equal(parseCidr("2001:db8::/32").prefix, 32);
  assert.equal(parseCidr("0.0.0.0/0").prefix, 0);
  assert.deepEqual(parseCidr("::ffff:10.0.0.0/104"), {
    bytes: Uint8Array.from([10, 0, 0, 0]),
    prefix: 8,
  });
  assert.throws(
    () => parseCidr("10.0.0.0/33"),
    /prefix length must be a whole number from 0 to 32/,
  );
  assert.throws(() => parseCidr("::/129"), /from 0 to 128/);
  assert.throws(() => parseCidr("10.0.0.0/x"), CidrError);
  assert.throws(
    () => parseCidr("proxy.example"),
    /"proxy.example" is not an IP address or CIDR block/,
  );
  assert.throws(() => parseCidr("10.0.0.0/"), CidrError);
});

Deno.test("parseCidrList: commas and spaces, empty is none, the first bad entry throws", () => {
  assert.deepEqual(parseCidrList(""), []);
  assert.equal(parseCidrList("10.0.0.0/8, 192.168.0.0/16 ::1").length, 3);
  assert.throws(() => parseCidrList("10.0.0.0/8,nope"), /"nope"/);
});

Deno.test("CidrSet.has: inside and outside blocks of both families, mapped peers, non-addresses", () => {
  const set = new CidrSet(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7", "172.16.0.0/12"]);
  assert.ok(set.has("10.255.0.1"));
  assert.ok(set.has("::ffff:10.0.0.1"));
  assert.ok(set.has("2001:db8:ffff::1"));
  assert.ok(set.has("192.0.2.7"));
  assert.ok(set.has("172.31.255.255"));
  assert.ok(!set.has("172.32.0.0"));
  assert.ok(!set.has("192.0.2.8"));
  assert.ok(!set.has("11.0.0.1"));
  assert.ok(!set.has("2001:db9::1"));
  assert.ok(!set.has("unknown"));
  assert.ok(new CidrSet([]).empty);
  assert.ok(!new CidrSet([]).has("10.0.0.1"));
  assert.ok(new CidrSet(["0.0.0.0/0"]).has("203.0.113.1"));
  assert.ok(!new CidrSet(["0.0.0.0/0"]).has("::1"), "an IPv4 block never matches IPv6");
});
