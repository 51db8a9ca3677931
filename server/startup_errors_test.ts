import assert from "node:assert/strict";
import {
  bindOrExplain,
  type BindTarget,
  explainBindError,
  resolveHost,
  StartupError,
} from "./startup_errors.ts";

Deno.test("resolveHost: addresses come back as they are; localhost resolves; IPv4 first", async () => {
  assert.equal(await resolveHost("127.0.0.1"), "127.0.0.1");
  assert.equal(await resolveHost("0.0.0.0"), "0.0.0.0");
  assert.equal(await resolveHost("::1"), "::1");
  assert.equal(await resolveHost("localhost"), "127.0.0.1");
});

Deno.test("resolveHost: a name that does not resolve is a StartupError that says what to do", async () => {
  await assert.rejects(resolveHost("nosuch.invalid"), (error: unknown) => {
    assert.ok(error instanceof StartupError);
    assert.match(
      error.message,
      /^--host nosuch\.invalid does not resolve \(.+\); give an IP address or a name this machine can resolve$/,
    );
    return true;
  });
});

Deno.test("explainBindError: each kind of failure in one line that names TCP or UDP and the flag", () => {
  const tcp: BindTarget = { protocol: "TCP", hostname: "0.0.0.0", port: 9001 };
  const udp: BindTarget = { protocol: "UDP", hostname: "0.0.0.0", port: 9002 };
  const cases: [unknown, BindTarget, string][] = [
    [
      new Deno.errors.AddrInUse("Address already in use (os error 98)"),
      tcp,
      "TCP port 9001 is already in use; choose another with --port",
    ],
    [
      new Deno.errors.AddrInUse("udp 0.0.0.0:9002 in use"),
      udp,
      "UDP port 9002 is already in use; choose another with --udp-port",
    ],
    [
      new Deno.errors.AddrNotAvailable("Cannot assign requested address (os error 99)"),
      { ...tcp, hostname: "192.0.2.1" },
      "192.0.2.1 is not an address of this machine; use one of its addresses, or 0.0.0.0 for all",
    ],
    [
      new Deno.errors.PermissionDenied("Permission denied (os error 13)"),
      { ...udp, port: 53 },
      "UDP port 53 is privileged (below 1024) and this process may not bind it; " +
      "choose a port above 1023 with --udp-port",
    ],
    [
      new Deno.errors.NotCapable('Requires net access to "0.0.0.0:9001"'),
      tcp,
      "no permission to listen on TCP 0.0.0.0:9001; run with --allow-net (deno task serve does)",
    ],
    [
      new Error("bind 0.0.0.0:9002: errno 22"),
      { ...udp, hostname: "::" },
      "cannot listen on UDP [::]:9002: bind 0.0.0.0:9002: errno 22",
    ],
  ];
  for (const [error, target, message] of cases) {
    const explained = explainBindError(error, target);
    assert.ok(explained instanceof StartupError);
    assert.equal(explained.message, message);
    assert.equal(explained.cause, error);
  }
});

Deno.test("bindOrExplain: a real taken port, TCP and UDP", () => {
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const tcpPort = (tcp.addr as Deno.NetAddr).port;
    const udpPort = (udp.addr as Deno.NetAddr).port;
    assert.throws(
      () =>
        bindOrExplain(
          { protocol: "TCP", hostname: "127.0.0.1", port: tcpPort },
          () => Deno.listen({ hostname: "127.0.0.1", port: tcpPort }),
        ),
      {
        name: "StartupError",
        message: `TCP port ${tcpPort} is already in use; choose another with --port`,
      },
    );
    assert.throws(
      () =>
        bindOrExplain(
          { protocol: "UDP", hostname: "127.0.0.1", port: udpPort },
          () => Deno.listenDatagram({ hostname: "127.0.0.1", port: udpPort, transport: "udp" }),
        ),
      {
        name: "StartupError",
        message: /^UDP port \d+ is already in use; choose another with --udp-port$/,
      },
    );
    const value = bindOrExplain({ protocol: "TCP", hostname: "127.0.0.1", port: 0 }, () => 42);
    assert.equal(value, 42);
  } finally {
    tcp.close();
    udp.close();
  }
});
