/**
 * The load generator's UDP sockets, behind a small interface so that the
 * implementation can change without touching the generator: "deno"
 * (Deno.listenDatagram, portable) or "epoll" (Linux: every socket in one
 * epoll set, drained with recvmmsg; see epoll_socket.ts). The server's own
 * recvmmsg socket is not used here: it keeps one blocked thread per socket,
 * and a generator holds one socket per member; with 50 of them the trivial
 * relay's measured ceiling fell from 200,000 to 100,000 deliveries/s (21 s of
 * system CPU in a 69 s run, threads waking per datagram).
 */
import { EpollSockets } from "./epoll_socket.ts";

/** Where a datagram goes. */
export interface UdpTarget {
  hostname: string;
  port: number;
}

/** One bound UDP socket. */
export interface BenchSocket {
  /** The bound local port. */
  readonly port: number;
  /** Sends one datagram; does not wait for it to leave (errors are counted, not thrown). */
  send(bytes: Uint8Array, to: UdpTarget): void;
  /**
   * Calls `onDatagram` with each received datagram until the socket is closed.
   * The bytes are only valid during the call (the buffer is reused).
   */
  receiveLoop(onDatagram: (bytes: Uint8Array) => void): Promise<void>;
  /** Closes the socket; the receive loop then ends. */
  close(): void;
  /** Sends that failed so far. */
  readonly sendErrors: number;
}

/** Which sockets a generator uses. */
export type GeneratorIo = "deno" | "epoll";

/** Where a generator's sockets come from. */
export interface BenchSockets {
  /** Opens a socket on `hostname`, port 0. */
  open(hostname: string): BenchSocket;
  /** Closes every socket it opened (and whatever receives for them). */
  close(): Promise<void>;
}

/** The sockets of one generator process. */
export function openBenchSockets(io: GeneratorIo): BenchSockets {
  if (io === "epoll") return new EpollSockets();
  const sockets: DenoBenchSocket[] = [];
  return {
    open(hostname: string): BenchSocket {
      const socket = new DenoBenchSocket(hostname);
      sockets.push(socket);
      return socket;
    },
    close(): Promise<void> {
      for (const socket of sockets) socket.close();
      return Promise.resolve();
    },
  };
}

class DenoBenchSocket implements BenchSocket {
  readonly port: number;
  #conn: Deno.DatagramConn;
  #closed = false;
  #sendErrors = 0;

  constructor(hostname: string) {
    this.#conn = Deno.listenDatagram({ hostname, port: 0, transport: "udp" });
    this.port = (this.#conn.addr as Deno.NetAddr).port;
  }

  get sendErrors(): number {
    return this.#sendErrors;
  }

  send(bytes: Uint8Array, to: UdpTarget): void {
    if (this.#closed) return;
    this.#conn.send(bytes, { transport: "udp", hostname: to.hostname, port: to.port })
      .catch(() => {
        if (!this.#closed) this.#sendErrors++;
      });
  }

  async receiveLoop(onDatagram: (bytes: Uint8Array) => void): Promise<void> {
    const buffer = new Uint8Array(4096);
    while (!this.#closed) {
      let bytes: Uint8Array;
      try {
        [bytes] = await this.#conn.receive(buffer);
      } catch {
        if (this.#closed) return;
        continue; // an ICMP error surfacing on a UDP socket is not fatal
      }
      onDatagram(bytes);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}
