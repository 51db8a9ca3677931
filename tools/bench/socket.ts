/**
 * The load generator's UDP sockets, behind a small interface so that the
 * implementation can change without touching the generator: "deno"
 * (Deno.listenDatagram, portable) or "epoll" (Linux: every socket in one
 * epoll set, drained with recvmmsg; see epoll_socket.ts), opened by
 * open_bench_sockets.ts. The server's own
 * recvmmsg socket is not used here: it keeps one blocked thread per socket,
 * and a generator holds one socket per member; with 50 of them the trivial
 * relay's measured ceiling fell from 200,000 to 100,000 deliveries/s (21 s of
 * system CPU in a 69 s run, threads waking per datagram).
 */
import type { HostPort } from "../../protocol/host_port.ts";

/** One bound UDP socket. */
export interface BenchSocket {
  /** The bound local port. */
  readonly port: number;
  /** Sends one datagram; does not wait for it to leave (errors are counted, not thrown). */
  send(bytes: Uint8Array, to: HostPort): void;
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
