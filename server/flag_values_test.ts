import assert from "node:assert/strict";
import { hostName, oneOf, positiveSeconds, wholeNumber } from "./flag_values.ts";
import { SERVE_FLAGS, serverConfigFrom } from "./config.ts";

Deno.test("wholeNumber: digits within the range only, with a message that says so", () => {
  const port = wholeNumber(0, 65_535);
  assert.equal(port("0"), 0);
  assert.equal(port("65535"), 65_535);
  assert.equal(port(" 9001 "), 9001);
  for (const bad of ["", "abc", "-1", "1.5", "1e3", "65536", "0x10"]) {
    assert.throws(() => port(bad), { name: "RangeError", message: /from 0 to 65535/ }, bad);
  }
});

Deno.test("positiveSeconds: above 0, at most a day, fractions allowed", () => {
  assert.equal(positiveSeconds("0.5"), 0.5);
  assert.equal(positiveSeconds("86400"), 86_400);
  for (const bad of ["", " ", "0", "-1", "86401", "soon", "Infinity"]) {
    assert.throws(() => positiveSeconds(bad), /expected seconds above 0/, bad);
  }
});

Deno.test("oneOf and hostName: exact choices; an address or name without spaces", () => {
  const level = oneOf(["error", "warn", "info", "debug"] as const);
  assert.equal(level("warn"), "warn");
  assert.throws(() => level("WARN"), {
    name: "TypeError",
    message: "expected error, warn, info or debug",
  });
  assert.throws(() => oneOf(["only"])("x"), /^TypeError: expected only$/);
  assert.equal(hostName("localhost"), "localhost");
  assert.equal(hostName("::1"), "::1");
  for (const bad of ["", "a b", " "]) {
    assert.throws(() => hostName(bad), /IP address or a host name/);
  }
});

Deno.test("serverConfigFrom: one value per flag, each to its field", () => {
  const config = serverConfigFrom((flag) => `value of ${flag.flag}`);
  for (const flag of SERVE_FLAGS) assert.equal(config[flag.key], `value of ${flag.flag}`);
  assert.equal(config.udpPort as unknown, "value of --udp-port");
  assert.equal(config.advertisedUdpPort as unknown, "value of --advertise-udp-port");
});
