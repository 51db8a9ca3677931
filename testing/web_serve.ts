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
 * and waits for its listening line (the page's port in it). `--http-port 0`
 * turns the page off, so it gets a port that was free a moment ago; if
 * something took that port in between, it tries again with another (3 tries).
 * {@linkcode assertPageServed} then checks that the page is there.
 */
export async function startWebServe(
  kids: Children,
  extraArgs: string[] = [],
  pickPort: () => number = freeTcpPort,
): Promise<WebServe> {
  const ports = LOOPBACK_ANY_PORTS.slice(0, LOOPBACK_ANY_PORTS.indexOf("--http-port"));
  for (let attempt = 1;; attempt++) {
    const child = kids.likeTask("serve", [
      ...ports,
      "--http-port",
      String(pickPort()),
      ...extraArgs,
    ]);
    let server: ServerProcess;
    try {
      server = await waitForListening(child, 30_000);
    } catch (error) {
      const taken = /HTTP port \d+ is already in use/.test(child.stderr.plain);
      if (!taken || attempt === 3) throw error;
      await child.dispose();
      continue;
    }
    const httpPort = Number((await child.stderr.waitFor(HTTP_LISTENING, 5_000))[1]);
    return { server, httpPort, url: `http://127.0.0.1:${httpPort}/` };
  }
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
