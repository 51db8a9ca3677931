/**
 * A real `chat serve` with its web page on, for the browser test: the serve
 * task's own command and permissions, loopback, free ports, and the page's
 * HTTP port read from its listening line.
 */
import assert from "node:assert/strict";
import { type Children, LOOPBACK_ANY_PORTS, type ServerProcess, waitForListening } from "./cli.ts";

/** The part of `chat serve`'s listening line that names the HTTP listener (the page and /ws). */
export const HTTP_LISTENING = /the page and WebSockets on http \S+?:(\d+)/;

/** A running `chat serve` with the page: its TCRP side, and the page's port and address. */
export interface WebServe {
  server: ServerProcess;
  httpPort: number;
  /** http://127.0.0.1:PORT/ */
  url: string;
}

/** A loopback TCP port nobody listens on now. */
export function freeTcpPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/**
 * Starts `chat serve` through {@linkcode Children.likeTask} with `extraArgs`,
 * waits for it, and checks that it serves the page at `/`. `--http-port 0`
 * turns the page off, so it gets a port that was free a moment ago.
 */
export async function startWebServe(kids: Children, extraArgs: string[] = []): Promise<WebServe> {
  const ports = LOOPBACK_ANY_PORTS.slice(0, LOOPBACK_ANY_PORTS.indexOf("--http-port"));
  const child = kids.likeTask("serve", [
    ...ports,
    "--http-port",
    String(freeTcpPort()),
    ...extraArgs,
  ]);
  const server = await waitForListening(child, 30_000);
  const httpPort = Number((await child.stderr.waitFor(HTTP_LISTENING, 5_000))[1]);
  const url = `http://127.0.0.1:${httpPort}/`;
  await assertPageServed(url);
  return { server, httpPort, url };
}

/** Fails at once, saying why, when the server does not serve the page at `url`. */
export async function assertPageServed(url: string): Promise<void> {
  const response = await fetch(url);
  const body = await response.text();
  assert.equal(
    response.status,
    200,
    `chat serve answers / with ${response.status}: it serves no page (main.ts must pass ` +
      `PAGE from server/http/page_bundle.ts to runServeCommand)`,
  );
  assert.match(body, /id="join-form"/);
}
