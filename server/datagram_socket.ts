/**
 * A bound UDP socket that works in batches: one receive gives every datagram
 * waiting (up to a batch size), and sends are queued and leave together on
 * {@linkcode DatagramSocket.flush}. Batching is what lets an implementation
 * below the runtime (recvmmsg/sendmmsg) pay one call for many datagrams.
 *
 * Two implementations: DenoDatagramSocket (Deno.listenDatagram, portable)
 * and LinuxMmsgSocket (libc through Deno.dlopen, Linux, IPv4);
 * open_datagram_socket.ts picks one.
 *
 * @module
 */
import type { HostPort } from "../protocol/host_port.ts";

/**
 * Datagrams from one {@linkcode DatagramSocket.receive}. Index from 0 to
 * `count - 1`. The byte views point into the socket's own buffer: they are
 * valid only until the next `receive()` (copy what must outlive it).
 */
export interface ReceivedBatch {
  /** Datagrams in the batch; 0 only when the socket is closing. */
  readonly count: number;
  /** The datagram's bytes, cut to the socket's slot size when it was longer. */
  bytes(index: number): Uint8Array;
  /** The datagram's length on the wire: larger than `bytes(index).length` when it was cut. */
  size(index: number): number;
  /** The sender. */
  from(index: number): HostPort;
}

/** A bound UDP socket that receives and sends in batches. */
export interface DatagramSocket {
  /** The bound address (the real port when bound to port 0). */
  readonly addr: Deno.NetAddr;
  /** Which implementation this is. */
  readonly kind: UdpIo;
  /**
   * Waits for at least one datagram and returns every datagram waiting, up
   * to the batch size. Only one receive may be outstanding. After
   * {@linkcode DatagramSocket.close} it resolves with an empty batch.
   */
  receive(): Promise<ReceivedBatch>;
  /**
   * Queues `bytes` for each endpoint. The mmsg socket copies them; the Deno
   * socket holds them until its send ops have run, after flush: pass bytes
   * that nobody changes afterwards (not a view into a receive buffer). A
   * full queue flushes by itself.
   */
  send(bytes: Uint8Array, to: readonly HostPort[]): void;
  /**
   * Sends everything queued, fire-and-forget: a datagram the kernel refuses
   * (no route, no buffer space) is dropped and counted, as UDP may do anyway.
   */
  flush(): void;
  /** Datagrams sent and dropped at send so far. */
  readonly stats: DatagramSocketStats;
  /** Stops a pending receive (it resolves empty), waits for it, and releases everything. */
  close(): Promise<void>;
}

/** Counters a socket keeps. */
export interface DatagramSocketStats {
  /** Datagrams handed to the kernel. */
  sent: number;
  /** Datagrams the kernel refused (buffer full, no route, bad address). */
  sendErrors: number;
  /** Datagrams received. */
  received: number;
}

/** The implementations: "deno" (Deno.listenDatagram) or "mmsg" (recvmmsg/sendmmsg via FFI). */
export type UdpIo = "deno" | "mmsg";

/** How to open a socket. */
export interface DatagramSocketOptions {
  hostname: string;
  port: number;
  /** Most datagrams one receive returns (mmsg only; deno returns 1). Default 64. */
  batchSize?: number;
  /**
   * Bytes kept of each received datagram; a longer one is cut, with its real
   * length in {@linkcode ReceivedBatch.size}. Default 65,536 (any UDP datagram whole).
   * mmsg only: deno always keeps 65,536.
   */
  slotBytes?: number;
  /** SO_RCVBUF in bytes (the kernel doubles it and caps it at net.core.rmem_max). mmsg only. */
  receiveBufferBytes?: number;
  /** SO_SNDBUF in bytes (capped at net.core.wmem_max). mmsg only. */
  sendBufferBytes?: number;
  /** SO_REUSEPORT, so several workers can bind one port. mmsg only. */
  reusePort?: boolean;
}
