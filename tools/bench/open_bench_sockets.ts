/**
 * Opens a generator's sockets: epoll_socket.ts on Linux, or
 * Deno.listenDatagram anywhere (see socket.ts for the interface).
 *
 * @module
 */
import type { HostPort } from "../../protocol/host_port.ts";
import { EpollSockets } from "./epoll_socket.ts";
import type { BenchSocket, BenchSockets, GeneratorIo } from "./socket.ts";

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

  send(bytes: Uint8Array, to: HostPort): void {
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
