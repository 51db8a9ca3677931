/**
 * `chat serve` with a stderr pipe whose reader stalls: the server must keep
 * serving (TCRP and UDP), stop on SIGTERM within about a second (the bounded
 * log flush), exit at once on a second SIGTERM, and once stderr is read
 * again, say how many log lines it had to drop.
 *
 * The server runs as the serve task's exact command (same permissions, a
 * plain environment), as one process, so the pipe and the signals are its own.
 */
import assert from "node:assert/strict";
import { encodeTcrpRequest, Operation } from "../protocol/tcrp.ts";
import {
  type ChildHandle,
  type Children,
  LOOPBACK_ANY_PORTS,
  type ServerProcess,
  waitForListening,
  withChildren,
} from "../testing/cli.ts";
import { enterRoom, responseOf, tcrpRequest } from "../testing/raw_client.ts";
import { sleep } from "../testing/wait.ts";

/** A 255-byte room name: each refused join of it logs a debug line of about 330 bytes. */
const LONG_ROOM = "r".repeat(255);

/** Starts serve at debug level with no request limits, reads its listening line, then stalls stderr. */
async function stalledServer(kids: Children): Promise<ServerProcess> {
  const serve = kids.likeTask("serve", [
    ...LOOPBACK_ANY_PORTS,
    "--allow-plaintext", // its raw clients speak the plain protocol
    "--log-level",
    "debug",
    "--request-rate",
    "0",
    "--max-handshakes-per-ip",
    "64",
  ]);
  const server = await waitForListening(serve, 15_000);
  serve.stderr.pause();
  return server;
}

/**
 * Sends refused JOIN requests (404, one debug line each), 16 at a time, until
 * about `bytes` of log were produced; each must be answered within 2 s.
 */
async function produceLog(server: ServerProcess, bytes: number): Promise<void> {
  const addr = { transport: "tcp", hostname: "127.0.0.1", port: server.port } as const;
  const request = encodeTcrpRequest({
    operation: Operation.JOIN_ROOM,
    roomName: LONG_ROOM,
    username: "flood",
    password: null,
    capacity: null,
  });
  const requests = Math.ceil(bytes / 330);
  for (let sent = 0; sent < requests; sent += 16) {
    const batch = Array.from({ length: Math.min(16, requests - sent) }, async () => {
      const response = responseOf(await tcrpRequest(addr, request));
      assert.equal(response.status, 404, JSON.stringify(response));
    });
    await Promise.all(batch);
  }
}

/** TCRP create, UDP HELLO and WELCOME, a MESSAGE and its ACK: the server serves. */
async function assertServes(server: ServerProcess, room: string): Promise<void> {
  const { member } = await enterRoom(
    {
      tcpAddr: { transport: "tcp", hostname: "127.0.0.1", port: server.port },
      udpAddr: { transport: "udp", hostname: "127.0.0.1", port: server.udpPort },
    },
    "create",
    { room, username: "ann" },
  );
  try {
    const msgId = await member.say("still there?");
    const ack = await member.next("ack", 2_000);
    assert.equal(ack.msgId, msgId);
  } finally {
    await member.close();
  }
}

/** Milliseconds until `child` exits, and its code; rejects after `timeoutMs`. */
async function timeToExit(child: ChildHandle, timeoutMs: number): Promise<[number, number]> {
  const start = performance.now();
  const code = await child.exited(timeoutMs);
  return [performance.now() - start, code];
}

Deno.test("stalled stderr: after 600 KiB of log the server still serves TCRP and UDP, and SIGTERM ends it within about a second", async () => {
  await withChildren(async (kids) => {
    const server = await stalledServer(kids);
    // Far past the pipe (64 KiB), a read in flight (64 KiB) and the log buffer (256 KiB).
    await produceLog(server, 600 * 1024);
    await assertServes(server, "after-the-flood");
    server.process.kill("SIGTERM");
    const [took, code] = await timeToExit(server.process, 5_000);
    assert.equal(code, 0, server.process.describe());
    // The shutdown waits at most 1 s for the stuck log, then exits anyway.
    assert.ok(took < 2_500, `SIGTERM took ${took.toFixed(0)} ms`);
  });
});

Deno.test("stalled stderr: a second SIGTERM while the shutdown waits on the log exits at once with 1", async () => {
  await withChildren(async (kids) => {
    const server = await stalledServer(kids);
    await produceLog(server, 250 * 1024);
    server.process.kill("SIGTERM");
    // Past the 250 ms in which a second signal counts as the same request,
    // and well before the 1 s log flush gives up.
    await sleep(400);
    assert.equal(server.process.exitCode, null, "still shutting down");
    server.process.kill("SIGTERM");
    const [took, code] = await timeToExit(server.process, 5_000);
    assert.equal(code, 1, server.process.describe());
    assert.ok(took < 400, `the second SIGTERM took ${took.toFixed(0)} ms`);
  });
});

Deno.test("stalled stderr: once it is read again, one line says how many log lines were dropped", async () => {
  await withChildren(async (kids) => {
    const server = await stalledServer(kids);
    await produceLog(server, 600 * 1024);
    const stderr = server.process.stderr;
    stderr.resume();
    const match = await stderr.waitFor(
      /warn {2}log: (\d+) lines dropped while stderr was not being read\n/,
      5_000,
    );
    const dropped = Number(match[1]);
    // 600 KiB of 330-byte lines is about 1,860; at most 384 KiB of them were kept.
    assert.ok(dropped > 500 && dropped < 1_900, `${dropped} dropped`);
    // Lines after the report are whole, and still come.
    await assertServes(server, "after-the-report");
    await stderr.waitFor(/room created: "after-the-report" by ann/);
    server.process.kill("SIGTERM");
    assert.equal(await server.process.exited(5_000), 0, server.process.describe());
    await stderr.done;
    assert.match(stderr.plain, /info {2}chat server stopped\n$/);
    const refused = stderr.lines.filter((line) => line.endsWith(`no room named "${LONG_ROOM}"`));
    assert.ok(refused.length + dropped >= 1_860, `${refused.length} kept + ${dropped} dropped`);
    assert.ok(
      stderr.lines.every((line) =>
        /^\d{4}-\d\d-\d\dT[\d:.]+Z (error|warn |info |debug) /.test(line)
      ),
      "every line whole",
    );
  });
});
