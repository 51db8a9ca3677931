/**
 * `chat serve` at its open-files limit (prlimit --nofile): accept() fails
 * with EMFILE while idle connections hold every descriptor, and the server
 * must answer TCRP again once they close, instead of staying up with a dead
 * accept loop.
 */
import assert from "node:assert/strict";
import { Children, LOOPBACK_ANY_PORTS, taskArgs, waitForListening } from "../testing/cli.ts";
import { listRooms } from "../testing/raw_client.ts";

/** Deno itself holds about 26 descriptors once serving; 64 leaves room for about 38 connections. */
const OPEN_FILES = 64;
const IDLE_CONNECTIONS = 60;

Deno.test({
  name:
    "serve at its open-files limit: accept backs off on EMFILE and serves again once fds free up",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const kids = new Children();
    const idle: Deno.TcpConn[] = [];
    try {
      const server = kids.spawn("prlimit", [
        `--nofile=${OPEN_FILES}:${OPEN_FILES}`,
        Deno.execPath(),
        ...taskArgs("serve"),
        ...LOOPBACK_ANY_PORTS,
        "--allow-plaintext", // its raw client lists rooms in the plain protocol
        // The gate's own limits stay out of the way: the kernel's is the one under test.
        "--max-handshakes",
        "1000",
        "--max-handshakes-per-ip",
        "1000",
        "--request-rate",
        "0",
      ], { label: "chat serve (prlimit)" });
      const { port } = await waitForListening(server, 10_000);
      const addr = { transport: "tcp", hostname: "127.0.0.1", port } as const;
      for (let i = 0; i < IDLE_CONNECTIONS; i++) idle.push(await Deno.connect(addr));
      await server.stderr.waitFor(/tcp accept: .*EMFILE.*retrying with a back-off/, 10_000);
      for (const conn of idle.splice(0)) conn.close();
      // The back-off is at most 1 s; the server then accepts (and drops) what the
      // closed clients left in its backlog, and answers a new request.
      const rooms = await listRooms(addr);
      assert.deepEqual(rooms, []);
      await server.stderr.waitFor(/tcp accept: accepting again after \d+ ms/, 5_000);
      assert.equal(server.exitCode, null, "still running");
      assert.doesNotMatch(server.stderr.plain, /^\S+ error /m, "no error lines");
    } finally {
      for (const conn of idle) conn.close();
      await kids.dispose();
    }
  },
});
