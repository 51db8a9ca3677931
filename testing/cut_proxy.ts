/**
 * A TCP proxy a test controls, to cut a page's connection for real.
 *
 * The browser test loads a page through it (http://127.0.0.1:<proxy port>/),
 * so the page's WebSocket runs through it too. {@linkcode CutProxy.cutAll}
 * closes every open connection on both sides, as a dropped Wi-Fi does: the
 * page's socket really closes (the DevTools offline mode leaves open sockets
 * open). {@linkcode CutProxy.refuse} makes it close new connections at once,
 * so a page stays cut while the test does something else; and
 * {@linkcode CutProxy.pause} holds the bytes of the open connections without
 * closing them, so a message the page sends stays pending.
 */

/** Where the proxy forwards to. */
export interface ProxyTarget {
  hostname: string;
  port: number;
}

interface Link {
  client: Deno.Conn;
  server: Deno.Conn | null;
  closed: boolean;
}

/** A loopback TCP proxy with a kill switch. */
export class CutProxy {
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #target: ProxyTarget;
  readonly #links = new Set<Link>();
  readonly #pumps = new Set<Promise<void>>();
  readonly #accepting: Promise<void>;
  #refusing = false;
  #gate: PromiseWithResolvers<void> | null = null;
  #accepted = 0;
  #closed = false;

  /** Listens on 127.0.0.1, port 0, forwarding every connection to `target`. */
  constructor(target: ProxyTarget) {
    this.#target = target;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  /** The port it listens on. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Connections accepted so far (refused ones included). */
  get accepted(): number {
    return this.#accepted;
  }

  /** Connections open now. */
  get open(): number {
    return this.#links.size;
  }

  /**
   * Closes every open connection, both the client's side and the server's,
   * and returns how many there were. New connections are still forwarded
   * (unless {@linkcode refuse} says otherwise).
   */
  cutAll(): number {
    const count = this.#links.size;
    for (const link of [...this.#links]) this.#drop(link);
    return count;
  }

  /** While on, a new connection is accepted and closed at once (a refused reconnect). */
  refuse(on: boolean): void {
    this.#refusing = on;
  }

  /** Holds every byte in both directions (open connections stay open) until {@linkcode resume}. */
  pause(): void {
    this.#gate ??= Promise.withResolvers();
  }

  /** Forwards what {@linkcode pause} held, and everything after it. */
  resume(): void {
    this.#gate?.resolve();
    this.#gate = null;
  }

  /** Stops listening, cuts every connection and waits for all its tasks to end. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.resume();
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    this.cutAll();
    await this.#accepting;
    // A connect in flight starts its pumps after it ends: wait until none is left.
    while (this.#pumps.size > 0) await Promise.all([...this.#pumps]);
  }

  async #accept(): Promise<void> {
    while (true) {
      let client: Deno.TcpConn;
      try {
        client = await this.#listener.accept();
      } catch {
        return; // the listener was closed
      }
      this.#accepted++;
      if (this.#refusing || this.#closed) {
        closeQuietly(client);
        continue;
      }
      const link: Link = { client, server: null, closed: false };
      this.#links.add(link);
      this.#track(this.#connect(link));
    }
  }

  async #connect(link: Link): Promise<void> {
    let server: Deno.TcpConn;
    try {
      server = await Deno.connect({ hostname: this.#target.hostname, port: this.#target.port });
    } catch {
      this.#drop(link);
      return;
    }
    if (link.closed) {
      closeQuietly(server);
      return;
    }
    link.server = server;
    this.#track(this.#pump(link, link.client, server));
    this.#track(this.#pump(link, server, link.client));
  }

  /** Copies `from` to `to` until either side ends; then the whole link is dropped. */
  async #pump(link: Link, from: Deno.Conn, to: Deno.Conn): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (!link.closed) {
        const n = await from.read(buffer);
        if (n === null) break;
        while (this.#gate !== null) await this.#gate.promise;
        if (link.closed) break;
        let written = 0;
        while (written < n) written += await to.write(buffer.subarray(written, n));
      }
    } catch {
      // the other pump or cutAll closed a side under us
    } finally {
      this.#drop(link);
    }
  }

  #drop(link: Link): void {
    if (link.closed) return;
    link.closed = true;
    this.#links.delete(link);
    closeQuietly(link.client);
    if (link.server !== null) closeQuietly(link.server);
  }

  #track(task: Promise<void>): void {
    this.#pumps.add(task);
    task.finally(() => this.#pumps.delete(task));
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
