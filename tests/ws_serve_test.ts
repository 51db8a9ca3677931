/**
 * `chat serve` with its HTTP front, as the README runs it (`deno task
 * serve`): a WebSocket member on `--http-port`, and SIGTERM, which tells it
 * CLOSED 4 and then closes its socket 1001 before the process exits 0.
 */
import assert from "node:assert/strict";
import {
  Children,
  LOOPBACK_ANY_PORTS,
  waitForListening,
  withChildren,
  withoutTaskLine,
} from "../testing/cli.ts";
import { ask } from "../testing/sealed_tcrp.ts";
import { closeCode, openWebSocketPipe, WsTestMember } from "../testing/ws_client.ts";
import { WsCloseCode } from "../server/ws/ws_link.ts";

const RUN_MS = 20_000;

/** A TCP port free a moment ago (--http-port 0 turns HTTP off, so a test picks one). */
function freeTcpPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** `deno task serve` with HTTP on a free port; retried if someone took the port meanwhile. */
async function serveWithHttp(kids: Children) {
  for (let attempt = 0;; attempt++) {
    const httpPort = freeTcpPort();
    const serve = kids.task("serve", [...LOOPBACK_ANY_PORTS, "--http-port", String(httpPort)]);
    try {
      const server = await waitForListening(serve, RUN_MS);
      return { serve, server, httpPort };
    } catch (error) {
      if (attempt >= 3) throw error;
      await serve.exited(RUN_MS).catch(() => {});
    }
  }
}

Deno.test("chat serve: a WebSocket member on --http-port; SIGTERM tells it CLOSED 4, closes its socket 1001, exits 0", async () => {
  await withChildren(async (kids) => {
    const { serve, httpPort } = await serveWithHttp(kids);
    await serve.stderr.waitFor(`the page and WebSockets on http 127.0.0.1:${httpPort}`, RUN_MS);
    const pipe = await openWebSocketPipe(`ws://127.0.0.1:${httpPort}/ws`);
    const ann = await WsTestMember.admit(pipe, ask("create", "served", "ann"), null);
    await ann.hello();
    serve.kill("SIGTERM");
    const closed = await ann.until((b) => b.kind === "closed", RUN_MS);
    assert.equal(closed?.kind === "closed" && closed.reason, 4);
    assert.equal(await closeCode(pipe, RUN_MS), WsCloseCode.GOING_AWAY);
    assert.equal(await serve.exited(RUN_MS), 0, serve.describe());
    await serve.stderr.done;
    const log = withoutTaskLine(serve.stderr.plain);
    assert.match(log, /info {2}chat server stopped$/m);
    // Served on loopback: no warning about plain http.
    assert.doesNotMatch(log, /plain http/);
  });
});
