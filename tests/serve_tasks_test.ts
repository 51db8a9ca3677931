/**
 * The README's tasks as an operator runs them: `deno task serve` (and
 * `join`, `rooms`) with the task's own permissions, in a plain environment
 * (no NO_COLOR, no CI, nothing else from the test run: see plainEnv).
 *
 * Help exits 0; a usage mistake is one error line and a hint, exit 2; a
 * startup failure is one line that says what to do, exit 1; never a stack
 * trace. Every process is bounded in time and ended in `finally`.
 */
import assert from "node:assert/strict";
import {
  LOOPBACK_ANY_PORTS,
  plainEnv,
  waitForListening,
  withChildren,
  withoutTaskLine,
} from "../testing/cli.ts";

/** Each `deno task` run here is one short process; these bound it. */
const RUN_MS = 20_000;

/** Non-empty stderr lines (the "Task ..." line already gone). */
function linesOf(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.trim() !== "");
}

/** No uncaught exception, no permission prompt failure, no stack frame. */
function assertNoCrash(output: string): void {
  assert.doesNotMatch(output, /NotCapable|error: Uncaught|unexpected error|^\s+at /m, output);
}

Deno.test("plain shell: deno task serve, join and rooms --help print their usage and exit 0", async () => {
  await withChildren(async (kids) => {
    const tasks = ["serve", "join", "rooms"];
    const results = await Promise.all(
      tasks.map((task) => kids.runTask(task, ["--help"], { timeoutMs: RUN_MS })),
    );
    tasks.forEach((task, i) => {
      const result = results[i]!;
      assert.equal(result.code, 0, `${task}: ${result.stderr}`);
      assert.match(result.stdout, new RegExp(`^Usage: chat ${task} \\[options\\]`, "m"));
      assert.equal(result.stderr, "", `${task} --help wrote to stderr`);
    });
    assert.match(
      results[0]!.stdout.replace(/\s+/g, " "),
      /--udp-port <n> chat datagram port \(0: any free one\) \(default: 9002, env: CHAT_UDP_PORT\)/,
    );
  });
});

Deno.test("plain shell: a bad flag value, an unknown flag, a bad CHAT_* value or a missing value exits 2 with one error line", async () => {
  await withChildren(async (kids) => {
    const cases: [string, string[], Record<string, string>, RegExp][] = [
      ["serve", ["--port", "abc"], {}, /^error: option '--port <n>' argument 'abc' is invalid/],
      ["serve", ["--bogus"], {}, /^error: unknown option '--bogus'$/],
      ["serve", [], { CHAT_PORT: "abc" }, /^error: option '--port <n>' value 'abc' from env/],
      ["serve", ["--log-level", "loud"], {}, /expected error, warn, info or debug$/],
      ["serve", ["--heartbeat"], {}, /^error: option '--heartbeat <seconds>' argument missing$/],
      ["join", ["--bogus"], {}, /^error: unknown option '--bogus'$/],
      ["rooms", ["--server", "nope:x"], {}, /^error: option '--server <host:port>' argument/],
    ];
    const results = await Promise.all(
      cases.map(([task, args, env]) => kids.runTask(task, args, { env, timeoutMs: RUN_MS })),
    );
    cases.forEach(([task, args, env, expected], i) => {
      const { code, stdout, stderr } = results[i]!;
      const what = `deno task ${task} ${args.join(" ")} ${JSON.stringify(env)}`;
      assertNoCrash(stderr);
      assert.equal(code, 2, `${what}: exit ${code}\n${stderr}`);
      const lines = linesOf(stderr);
      assert.equal(lines.length, 2, `${what}: one error line and the hint\n${stderr}`);
      assert.match(lines[0]!, expected, what);
      assert.equal(lines[1], "(add --help for usage)", what);
      assert.equal(stdout, "", what);
    });
  });
});

Deno.test("plain shell: a taken TCP or UDP port exits 1 with one line naming which, and the flag to change", async () => {
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const tcpPort = (tcp.addr as Deno.NetAddr).port;
    const udpPort = (udp.addr as Deno.NetAddr).port;
    await withChildren(async (kids) => {
      const [tcpTaken, udpTaken] = await Promise.all([
        kids.runTask("serve", ["--host", "127.0.0.1", "--port", `${tcpPort}`, "--udp-port", "0"], {
          timeoutMs: RUN_MS,
        }),
        kids.runTask("serve", ["--host", "127.0.0.1", "--port", "0", "--udp-port", `${udpPort}`], {
          timeoutMs: RUN_MS,
        }),
      ]);
      assert.equal(tcpTaken.code, 1, tcpTaken.stderr);
      assert.deepEqual(linesOf(tcpTaken.stderr), [
        `chat: TCP port ${tcpPort} is already in use; choose another with --port`,
      ]);
      assert.equal(udpTaken.code, 1, udpTaken.stderr);
      assert.deepEqual(linesOf(udpTaken.stderr), [
        `chat: UDP port ${udpPort} is already in use; choose another with --udp-port`,
      ]);
    });
  } finally {
    tcp.close();
    udp.close();
  }
});

Deno.test("plain shell: a --host that does not resolve or is not this machine's exits 1 with one line", async () => {
  await withChildren(async (kids) => {
    const ports = ["--port", "0", "--udp-port", "0"];
    const [unresolved, foreign] = await Promise.all([
      kids.runTask("serve", ["--host", "nosuch.invalid", ...ports], { timeoutMs: RUN_MS }),
      kids.runTask("serve", ["--host", "192.0.2.1", ...ports], { timeoutMs: RUN_MS }),
    ]);
    assert.equal(unresolved.code, 1, unresolved.stderr);
    const [line, ...rest] = linesOf(unresolved.stderr);
    assert.deepEqual(rest, [], unresolved.stderr);
    assert.match(
      line!,
      /^chat: --host nosuch\.invalid does not resolve \(.+\); give an IP address or a name this machine can resolve$/,
    );
    assert.equal(foreign.code, 1, foreign.stderr);
    assert.deepEqual(linesOf(foreign.stderr), [
      "chat: 192.0.2.1 is not an address of this machine; use one of its addresses, or 0.0.0.0 for all",
    ]);
  });
});

Deno.test("plain shell: deno task serve on free ports starts, listens, and stops on SIGTERM with exit 0", async () => {
  await withChildren(async (kids) => {
    const serve = kids.task("serve", [...LOOPBACK_ANY_PORTS]);
    const server = await waitForListening(serve, RUN_MS);
    assert.ok(server.port > 0 && server.udpPort > 0);
    // It answers: a room list over TCRP from `deno task rooms`, as the README shows.
    const rooms = await kids.runTask("rooms", ["--server", server.address, "--json"], {
      timeoutMs: RUN_MS,
    });
    assert.equal(rooms.code, 0, rooms.stderr);
    assert.equal(rooms.stdout.trim(), "[]");
    serve.kill("SIGTERM");
    assert.equal(await serve.exited(5_000), 0, serve.describe());
    await serve.stderr.done;
    const log = withoutTaskLine(serve.stderr.plain);
    assertNoCrash(log);
    assert.match(log, /info {2}chat server stopped$/m);
    // No open-files warning at the default limits on this machine.
    assert.doesNotMatch(log, /open files limit/);
  });
});

Deno.test("plain shell: under a low open-files limit, serve warns at startup with the numbers and what to do", async () => {
  await withChildren(async (kids) => {
    const args = [...LOOPBACK_ANY_PORTS];
    // prlimit(1) runs `deno task serve` with 64 descriptors; the limit is inherited.
    const low = kids.spawn(
      "prlimit",
      ["--nofile=64:64", Deno.execPath(), "task", "serve", ...args],
      {
        label: "prlimit --nofile=64:64 deno task serve",
        clearEnv: true,
        env: plainEnv(),
      },
    );
    const fits = kids.spawn(
      "prlimit",
      ["--nofile=64:64", Deno.execPath(), "task", "serve", ...args, "--max-handshakes", "32"],
      {
        label: "prlimit --nofile=64:64 deno task serve --max-handshakes 32",
        clearEnv: true,
        env: plainEnv(),
      },
    );
    await waitForListening(low, RUN_MS);
    await waitForListening(fits, RUN_MS);
    await low.stderr.waitFor(/warn {2}open files limit/, 2_000);
    const warning = low.stderr.lines.find((line) => / warn {2}open files limit/.test(line))!;
    assert.match(
      warning,
      /open files limit \(ulimit -n\) is 64, below the 288 descriptors the server can use \(--max-handshakes 256 TCRP connections, the two sockets, about 30 for Deno itself\); .*raise it \(ulimit -n 288; the hard limit, 64, must be raised first\) or lower --max-handshakes to 32$/,
    );
    for (const child of [low, fits]) {
      child.kill("SIGTERM");
      assert.equal(await child.exited(5_000), 0, child.describe());
    }
    assert.doesNotMatch(fits.stderr.plain, /open files limit/, "32 + 32 fit in 64");
  });
});
