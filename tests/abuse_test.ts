/**
 * The abuse suite at test size: each scenario against a real `chat serve`
 * process, with a sealed bystander room talking throughout (a scenario that
 * speaks the plain protocol on purpose gets a server with --allow-plaintext). tools/abuse/harness.ts
 * judges each run (server still serving, every bystander message on time,
 * peak RSS, log lines per kind); `deno task abuse` runs the same at full size.
 */
import assert from "node:assert/strict";
import { encodeTcrpRequest, Operation } from "../protocol/tcrp.ts";
import { BOUNDS, rowName, runScenario } from "../tools/abuse/harness.ts";
import {
  forgedForSession,
  handshakeFlood,
  unknownSessions,
} from "../tools/abuse/sealed_scenarios.ts";
import { SCENARIOS } from "../tools/abuse/scenarios.ts";
import { replayFloodOneAddress } from "../tools/abuse/replay_scenarios.ts";
import { classJoins, joinFlood } from "../tools/abuse/slot_scenarios.ts";
import { lookalikeNames } from "../tools/abuse/name_scenarios.ts";
import { ABUSE_NET_HOSTS } from "../tools/abuse/sources.ts";
import { Children, taskArgs } from "../testing/cli.ts";
import {
  responseOf,
  roomRequest,
  statusOf,
  tcrpRequest,
  UdpMember,
} from "../testing/raw_client.ts";
import { tcrpRequestFrom } from "../testing/tcp_from.ts";
import { sleep } from "../testing/wait.ts";

// The revision-1 scenarios (the first eight) at test size; of the revision-2 ones, a few below.
for (const scenario of SCENARIOS.slice(0, 8)) {
  Deno.test(`abuse: ${scenario.name}`, async () => {
    const report = await runScenario(scenario, "test");
    const { bystander } = report;
    assert.deepEqual(report.failures, [], JSON.stringify(report, null, 2));
    assert.equal(bystander.delivered, bystander.sent);
    assert.ok(bystander.maxMs <= BOUNDS.bystanderMaxMs);
    assert.ok(report.peakRssMiB <= BOUNDS.peakRssMiB);
    for (const kind of scenario.expectedKinds) {
      const lines = report.abuseLines[kind] ?? 0;
      assert.ok(lines >= 1 && lines <= BOUNDS.linesPerKind, `${lines} lines about ${kind}`);
    }
  });
}

// The scenarios aimed at sealed sessions (issue 13), against a sealed-only server.
for (const scenario of [unknownSessions, forgedForSession, handshakeFlood]) {
  Deno.test(`abuse (sealed): ${scenario.name}, test size`, async () => {
    const report = await runScenario(scenario, "test");
    assert.deepEqual(report.failures, [], JSON.stringify(report, null, 2));
    assert.equal(report.name, scenario.name, "a sealed scenario's row is not marked plain");
    // At most BOUNDS.linesPerKind per kind and source address: the harness judged that.
    for (const kind of scenario.expectedKinds) assert.ok(report.abuseLines[kind], kind);
  });
}

Deno.test("abuse: every scenario either aims at sealed sessions or is marked as speaking the plain protocol", () => {
  for (const scenario of SCENARIOS) {
    if (scenario.sealed) assert.match(scenario.name, /^sealed: /);
    else assert.match(rowName(scenario), /\(plain protocol on purpose: server --allow-plaintext/);
  }
  assert.equal(SCENARIOS.filter((s) => s.sealed).length, 3);
});

Deno.test("abuse (revision 2): a replay flood from one address at test size", async () => {
  const report = await runScenario(replayFloodOneAddress, "test");
  assert.deepEqual(report.failures, [], JSON.stringify(report, null, 2));
});

/**
 * Revision-2 scenarios that a revision-1 server fails by design: against a
 * server that announces revision 2 every target must hold; against one that
 * does not, the scenario must find exactly what revision 2 changes (so it
 * measures something), and nothing else.
 */
const REVISION_2_CHECKS = [
  { scenario: lookalikeNames, revision1: /^"?.*: 200 \(no error\), not (400|409)$/ },
  { scenario: classJoins, revision1: /^8 of 12 pupils got in at the first try$/ },
  { scenario: joinFlood, revision1: /^a new address was refused: 503 / },
];
for (const { scenario, revision1 } of REVISION_2_CHECKS) {
  Deno.test(`abuse (revision 2): ${scenario.name}, test size`, async () => {
    const report = await runScenario(scenario, "test");
    const detail = JSON.stringify(report, null, 2);
    if (report.revision >= 2) {
      assert.deepEqual(report.failures, [], detail);
    } else {
      assert.ok(report.failures.length > 0, detail);
      for (const failure of report.failures) assert.match(failure, revision1, detail);
    }
  });
}

Deno.test("deno task abuse may bind and connect to exactly the suite's source addresses", () => {
  const allowNet = taskArgs("abuse").find((arg) => arg.startsWith("--allow-net="));
  assert.deepEqual(allowNet?.slice("--allow-net=".length).split(","), [...ABUSE_NET_HOSTS]);
});

Deno.test("serve: every abuse limit is read from its flag or its CHAT_* variable", async () => {
  const kids = new Children();
  try {
    const server = await kids.server(
      [
        // Plain requests and datagrams on purpose: each limit is read the same in both modes.
        "--allow-plaintext",
        "--max-members-per-room",
        "2",
        "--max-handshakes-per-ip",
        "1",
        "--unauthenticated-rate",
        "1",
        "--max-members-per-ip",
        "1",
      ],
      8_000,
      {
        env: {
          CHAT_MAX_ROOMS_PER_IP: "1",
          CHAT_MAX_HANDSHAKES: "1",
          CHAT_REQUEST_TIMEOUT: "0.5",
          CHAT_HANDSHAKE_TIMEOUT: "5",
          CHAT_ABUSE_LOG_INTERVAL: "0.5",
        },
      },
    );
    const tcpAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: server.port };
    const create = (room: string, capacity?: number) =>
      roomRequest(tcpAddr, "create", { room, username: "u", capacity });
    assert.equal(statusOf((await create("big", 3)).response), 400, "--max-members-per-room");
    assert.equal(statusOf((await create("one")).response), 200);
    assert.equal(statusOf((await create("two")).response), 429, "CHAT_MAX_ROOMS_PER_IP");
    const join = await roomRequest(tcpAddr, "join", { room: "one", username: "v" });
    assert.equal(statusOf(join.response), 429, "--max-members-per-ip");

    const list = encodeTcrpRequest({ operation: Operation.LIST_ROOMS });
    const started = performance.now();
    const idle = tcrpRequest(tcpAddr, new Uint8Array(0), { timeoutMs: 3_000 });
    await sleep(100);
    assert.equal(statusOf(responseOf(await tcrpRequest(tcpAddr, list))), 429, "per IP: 1");
    assert.ok((await idle).closedByServer);
    const held = performance.now() - started;
    assert.ok(held > 400 && held < 1_500, `CHAT_REQUEST_TIMEOUT: closed after ${held} ms`);
    // CHAT_MAX_HANDSHAKES 1: a new connection from another address evicts the idle one at once.
    const evicted = tcrpRequest(tcpAddr, new Uint8Array(0), { timeoutMs: 3_000 });
    await sleep(100);
    const evictedAt = performance.now();
    assert.equal(
      statusOf(responseOf(await tcrpRequestFrom(tcpAddr, list, "127.0.0.2"))),
      200,
      "CHAT_MAX_HANDSHAKES",
    );
    assert.ok((await evicted).closedByServer);
    assert.ok(performance.now() - evictedAt < 300, "evicted, not timed out");

    // --unauthenticated-rate 1 (bursts of 2): ten bad datagrams get at most three answers.
    const udp = new UdpMember(
      { transport: "udp", hostname: "127.0.0.1", port: server.udpPort },
      "r",
      new Uint8Array(32),
    );
    try {
      for (let i = 0; i < 10; i++) await udp.sendRaw(new Uint8Array([0]));
      const answers = await udp.drain(200);
      assert.ok(answers.length >= 2 && answers.length <= 3, `${answers.length} answers`);
    } finally {
      await udp.close();
    }
    // CHAT_ABUSE_LOG_INTERVAL 0.5: the count of the other nine comes within a second.
    await server.process.stderr.waitFor(
      /abuse: 9 more malformed datagrams from 127\.0\.0\.1/,
      2_000,
    );
  } finally {
    await kids.dispose();
  }
});
