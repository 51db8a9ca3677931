/**
 * A stalled reader, made real: a loopback TCP proxy between one bench
 * member's WebSocket and the server that, once {@linkcode StallProxy.stall}
 * is called, stops reading what the server sends. The kernel buffers fill,
 * and from then on the server's writes to that socket queue in its own
 * memory (its `bufferedAmount`): what a browser tab that stopped reading
 * does to the server. The member's own messages still pass.
 *
 * Deno's WebSocket client reads everything it gets; this is the only way
 * to stop it reading without a WebSocket client of our own.
 *
 * @module
 */

/** A proxy for one or more connections to `upstream`. */
export class StallProxy {
  #listener: Deno.TcpListener;
  #upstream: { hostname: string; port: number };
  #stalled = false;
  #conns = new Set<Deno.Conn>();
  #pumps: Promise<void>[] = [];
  #accepting: Promise<void>;
  /** Bytes the server sent that the proxy read (before the stall, and in the kernel's part). */
  fromServerBytes = 0;

  /** Listens on 127.0.0.1, a free port, forwarding to `upstream`. */
  constructor(upstream: { hostname: string; port: number }) {
    this.#upstream = upstream;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  /** The proxy's port. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** From now on nothing more is read from the server. */
  stall(): void {
    this.#stalled = true;
  }

  async #accept(): Promise<void> {
    for await (const client of this.#listener) {
      let server: Deno.Conn;
      try {
        server = await Deno.connect(this.#upstream);
      } catch {
        client.close();
        continue;
      }
      this.#conns.add(client).add(server);
      this.#pumps.push(this.#pump(client, server, false), this.#pump(server, client, true));
    }
  }

  async #pump(from: Deno.Conn, to: Deno.Conn, fromServer: boolean): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        if (fromServer && this.#stalled) return; // a stalled reader reads nothing more, ever
        const n = await from.read(buffer);
        if (n === null) break;
        if (fromServer) this.fromServerBytes += n;
        let at = 0;
        while (at < n) at += await to.write(buffer.subarray(at, n));
      }
    } catch { /* either side closed */ }
    if (!(fromServer && this.#stalled)) this.#closeBoth(from, to);
  }

  #closeBoth(a: Deno.Conn, b: Deno.Conn): void {
    for (const conn of [a, b]) {
      if (!this.#conns.delete(conn)) continue;
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }

  /** Closes the listener and every connection, and waits for the pumps. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* closed */ }
    await this.#accepting.catch(() => {});
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
    this.#conns.clear();
    await Promise.allSettled(this.#pumps);
  }
}
