/**
 * {@linkcode DatagramSocket} on Deno.listenDatagram: portable, one async op
 * per datagram underneath (batches of 1 on receive; sends leave at flush,
 * one op each).
 *
 * @module
 */
import type {
  DatagramSocket,
  DatagramSocketOptions,
  DatagramSocketStats,
  ReceivedBatch,
} from "./datagram_socket.ts";
import type { HostPort } from "../protocol/host_port.ts";
import { classifyIoError } from "./io_errors.ts";

const EMPTY: ReceivedBatch = {
  count: 0,
  bytes: () => new Uint8Array(0),
  size: () => 0,
  from: () => ({ hostname: "", port: 0 }),
};

/** A batch of one datagram. */
class OneDatagram implements ReceivedBatch {
  readonly count = 1;
  #bytes: Uint8Array;
  #from: HostPort;
  constructor(bytes: Uint8Array, from: HostPort) {
    this.#bytes = bytes;
    this.#from = from;
  }
  bytes(): Uint8Array {
    return this.#bytes;
  }
  size(): number {
    return this.#bytes.length;
  }
  from(): HostPort {
    return this.#from;
  }
}

/** A UDP socket on Deno.listenDatagram. */
export class DenoDatagramSocket implements DatagramSocket {
  readonly kind = "deno" as const;
  readonly addr: Deno.NetAddr;
  readonly stats: DatagramSocketStats = { sent: 0, sendErrors: 0, received: 0 };
  #conn: Deno.DatagramConn;
  #buffer: Uint8Array;
  #queue: { bytes: Uint8Array; to: readonly HostPort[] }[] = [];
  #pending = new Set<Promise<unknown>>();
  #closed = false;

  /** Binds a socket (throws what Deno.listenDatagram throws). */
  constructor(options: DatagramSocketOptions) {
    this.#conn = Deno.listenDatagram({
      hostname: options.hostname,
      port: options.port,
      transport: "udp",
    });
    this.addr = this.#conn.addr as Deno.NetAddr;
    // Deno cuts a long datagram silently, so the buffer always holds any UDP datagram whole.
    this.#buffer = new Uint8Array(65_536);
  }

  async receive(): Promise<ReceivedBatch> {
    while (!this.#closed) {
      let received: [Uint8Array, Deno.Addr];
      try {
        received = await this.#conn.receive(this.#buffer);
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return EMPTY;
        // One peer's ICMP error surfacing here is no reason to stop; anything
        // else (out of memory or buffers, or unknown) is the front end's call.
        if (classifyIoError(error) === "transient") continue;
        throw error;
      }
      const [bytes, addr] = received;
      const { hostname, port } = addr as Deno.NetAddr;
      this.stats.received++;
      return new OneDatagram(bytes, { hostname, port });
    }
    return EMPTY;
  }

  send(bytes: Uint8Array, to: readonly HostPort[]): void {
    if (this.#closed || to.length === 0) return;
    this.#queue.push({ bytes, to });
  }

  flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    for (const { bytes, to } of queue) {
      for (const { hostname, port } of to) {
        const sent = this.#conn.send(bytes, { transport: "udp", hostname, port })
          .then(() => this.stats.sent++, () => this.stats.sendErrors++)
          .finally(() => this.#pending.delete(sent));
        this.#pending.add(sent);
      }
    }
  }

  /** Waits for sends in flight, then closes the socket (a pending receive resolves empty). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.flush();
    await Promise.allSettled([...this.#pending]);
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}
