/**
 * A hostile server's words never reach the terminal raw: a TCRP server on
 * loopback that refuses every request with escape sequences, a bidi override
 * and zero-width characters in its error text, against real `chat rooms` and
 * `chat join` processes. What they print says the refusal, with every such
 * character shown as U+FFFD (or, in --json, as a \u escape of the same text).
 */
import assert from "node:assert/strict";
import { encodeUtf8 } from "../protocol/bytes.ts";
import { encodeTcrpFrame, State, TcrpFrameParser } from "../protocol/tcrp.ts";
import { withChildren } from "../testing/cli.ts";

const HOSTILE = "no\x1b]0;owned\x07\x1b[2J\x9b31m \u202Egnp.exe\u200B\u2028chat: trust me";
/** Raw characters a terminal would act on, or that hide or reorder text. */
// deno-lint-ignore no-control-regex
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2028\u202e]/;

/** Answers every request on a fresh connection with a refusal carrying HOSTILE, then closes. */
function hostileServer(): { port: number; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections = new Set<Promise<void>>();
  const serve = async (conn: Deno.TcpConn) => {
    try {
      const parser = new TcrpFrameParser({ maxPayloadBytes: 65_536 });
      const buffer = new Uint8Array(4096);
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) return;
        const [frame] = parser.push(buffer.subarray(0, n));
        if (frame === undefined) continue;
        // A plain operation gets a state-1 refusal; a sealed one (0x11-0x13)
        // the plain state-2 refusal a server sends before any key work: 400,
        // which a client does not retry (it would retry a 429 or a 503).
        const refusal = { status: 400, protocol: 2, error: HOSTILE };
        await conn.write(encodeTcrpFrame({
          operation: frame.operation,
          state: frame.operation >= 0x11 ? 2 : State.RESPONSE,
          roomName: frame.roomName,
          payload: encodeUtf8(JSON.stringify(refusal)),
        }));
        return;
      }
    } catch {
      // the client went away
    } finally {
      conn.close();
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      const done = serve(conn);
      connections.add(done);
      done.finally(() => connections.delete(done));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      await accepting;
      await Promise.all(connections);
    },
  };
}

Deno.test("a hostile server's refusal text reaches chat rooms and chat join output only made safe", async () => {
  const server = hostileServer();
  try {
    await withChildren(async (kids) => {
      const address = `127.0.0.1:${server.port}`;
      const [rooms, join, json] = await Promise.all([
        kids.run(["rooms", "--server", address]),
        kids.run(["join", "--server", address, "--name", "ann", "--room", "r", "--join"]),
        kids.run(["join", "--server", address, "--name", "ann", "--room", "r", "--join", "--json"]),
      ]);
      for (const [what, result] of Object.entries({ rooms, join, json })) {
        assert.equal(result.code, 1, `${what}: ${result.stderr}`);
        assert.doesNotMatch(result.stderr, RAW, `${what} stderr: ${JSON.stringify(result.stderr)}`);
        assert.doesNotMatch(result.stdout, RAW, `${what} stdout: ${JSON.stringify(result.stdout)}`);
        assert.doesNotMatch(result.stderr, /unexpected error/, what);
        // The refusal is still said: its words, with U+FFFD where a control was.
        assert.match(result.stderr, /^chat: .*no\uFFFD\]0;owned\uFFFD\uFFFD\[2J\uFFFD31m/m, what);
        assert.ok(!result.stderr.includes("\nchat: trust me"), `${what}: no forged line`);
      }
      // --json: a program gets the exact text back from the escapes, if it is reported at all.
      for (const line of json.stdout.split("\n").filter((l) => l !== "")) {
        const value = JSON.parse(line);
        if (value.type === "refused") assert.equal(value.text, HOSTILE);
      }
    });
  } finally {
    await server.close();
  }
});
