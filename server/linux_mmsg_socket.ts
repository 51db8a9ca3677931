/**
 * {@linkcode DatagramSocket} below the runtime, on Linux x86-64/arm64 glibc:
 * a socket of our own through Deno.dlopen("libc.so.6"), receiving with one
 * recvmmsg per batch and sending with one sendmmsg per flush. IPv4 only.
 *
 * How it stays off the event loop: the socket is blocking with SO_RCVTIMEO,
 * and recvmmsg is a `nonblocking` FFI symbol, so it waits on a thread of
 * Deno's blocking pool and returns a Promise. Only one recvmmsg is in flight
 * per socket, and JS does not touch the receive buffers while it is
 * (receive() refuses a second call). close() calls shutdown(2), which wakes a
 * blocked recvmmsg at once on Linux (the timeout is only a safety net), waits
 * for it, then closes the descriptor and the library: closing the descriptor
 * while the call runs could let the number be reused under it.
 *
 * sendmmsg is a synchronous FFI call with MSG_DONTWAIT: the kernel copies
 * the datagrams before it returns, so the send arena can be reused at once,
 * and a full send buffer drops datagrams (counted) instead of blocking the
 * event loop.
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
import { Backoff } from "./io_errors.ts";
import {
  addressOf,
  AF_INET,
  bindIpv4,
  IOVEC_BYTES,
  libcAvailable,
  MMSGHDR_BYTES,
  MSG_DONTWAIT,
  MSG_IOV,
  MSG_IOVLEN,
  MSG_LEN,
  MSG_NAME,
  MSG_NAMELEN,
  MSG_NOSIGNAL,
  MSG_TRUNC,
  MSG_WAITFORONE,
  parseIpv4,
  setSocketInt,
  setSocketOption,
  SO_RCVBUF,
  SO_RCVTIMEO,
  SO_REUSEPORT,
  SO_SNDBUF,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCKADDR_IN_BYTES,
  SOCKET_SYMBOLS,
  writePointer,
} from "./linux_libc.ts";

const SHUT_RDWR = 2;
const EAGAIN = 11;
const ENOBUFS = 105;

/** How long a blocked recvmmsg waits before it looks again; close() does not wait for it. */
const RECEIVE_TIMEOUT_US = 200_000;
const SEND_CAPACITY = 1024;
/** Batches taken on the main thread (MSG_DONTWAIT) before one blocking receive yields. */
const BATCHES_WITHOUT_WAITING = 8;
const SEND_ARENA_BYTES = 1 << 20;

const SYMBOLS = {
  ...SOCKET_SYMBOLS,
  recvmmsg: {
    parameters: ["i32", "pointer", "u32", "i32", "pointer"],
    result: "i32",
    nonblocking: true,
  },
  // The same call on the main thread, with MSG_DONTWAIT: what is already waiting.
  recvmmsgNow: {
    name: "recvmmsg",
    parameters: ["i32", "pointer", "u32", "i32", "pointer"],
    result: "i32",
  },
  sendmmsg: { parameters: ["i32", "pointer", "u32", "i32"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>;

const EMPTY: ReceivedBatch = {
  count: 0,
  bytes: () => new Uint8Array(0),
  size: () => 0,
  from: () => ({ hostname: "", port: 0 }),
};

/** Whether this process may use the mmsg socket: Linux, FFI allowed, libc loads. */
export const mmsgAvailable: () => boolean = libcAvailable;

/** A batch of datagrams that point into the socket's receive buffer. */
class MmsgBatch implements ReceivedBatch {
  count = 0;
  #socket: LinuxMmsgSocket;
  constructor(socket: LinuxMmsgSocket) {
    this.#socket = socket;
  }
  bytes(index: number): Uint8Array {
    return this.#socket.receivedBytes(index);
  }
  size(index: number): number {
    return this.#socket.receivedSize(index);
  }
  from(index: number): HostPort {
    return this.#socket.receivedFrom(index);
  }
}

/** A UDP socket on recvmmsg/sendmmsg. Throws when libc, FFI or the address is not available. */
export class LinuxMmsgSocket implements DatagramSocket {
  readonly kind = "mmsg" as const;
  readonly addr: Deno.NetAddr;
  readonly stats: DatagramSocketStats = { sent: 0, sendErrors: 0, received: 0 };
  #lib: Libc;
  #fd: number;
  #errno: Deno.UnsafePointerView;
  #closed = false;
  #closing = new AbortController();
  #errorBackoff = new Backoff();
  #receiving: Promise<number> | null = null;
  #batchesWithoutWaiting = 0;

  // Receive side: batchSize headers, iovecs, sockaddrs and slots, set up once.
  #batchSize: number;
  #slotBytes: number;
  #recvHeaders: Uint8Array<ArrayBuffer>;
  #recvHeaderWords: Uint32Array;
  #recvHeadersPointer: Deno.PointerValue;
  #recvNames: Uint8Array<ArrayBuffer>;
  #recvData: Uint8Array<ArrayBuffer>;
  #batch: MmsgBatch;
  #hostnames = new Map<number, string>();
  // Reached only through pointers in the headers: held so they live as long as the socket.
  #keepAlive: Uint8Array;
  #keepAliveSend: Uint8Array;

  // Send side: up to SEND_CAPACITY messages whose bytes are copied into an arena.
  #sendHeaders: Uint8Array<ArrayBuffer>;
  #sendHeaderWords: Uint32Array;
  #sendHeadersAddress: number;
  #sendNameWords: Uint32Array;
  #iovecs: Uint8Array<ArrayBuffer>;
  #iovecWords: Uint32Array;
  #iovecsAddress: number;
  #arena: Uint8Array<ArrayBuffer>;
  #arenaAddress: number;
  #queued = 0;
  #iovecCount = 0;
  #arenaUsed = 0;
  #addresses = new Map<string, number | null>();

  /** Opens libc, creates and binds the socket. */
  constructor(options: DatagramSocketOptions) {
    this.#lib = Deno.dlopen("libc.so.6", SYMBOLS);
    const libc = this.#lib.symbols;
    this.#errno = new Deno.UnsafePointerView(libc.__errno_location()!);
    this.#fd = libc.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (this.#fd < 0) {
      const errno = this.#errno.getInt32();
      this.#lib.close();
      throw new Error(`socket: errno ${errno}`);
    }
    try {
      const fd = this.#fd;
      const timeout = new BigInt64Array([0n, BigInt(RECEIVE_TIMEOUT_US)]);
      setSocketOption(libc, this.#errno, {
        fd,
        option: SO_RCVTIMEO,
        value: new Uint8Array(timeout.buffer),
      });
      const setInt = (option: number, value: number) =>
        setSocketInt(libc, this.#errno, { fd, option, value });
      if (options.receiveBufferBytes) setInt(SO_RCVBUF, options.receiveBufferBytes);
      if (options.sendBufferBytes) setInt(SO_SNDBUF, options.sendBufferBytes);
      if (options.reusePort) setInt(SO_REUSEPORT, 1);
      const { hostname, port } = options;
      this.addr = {
        transport: "udp",
        hostname,
        port: bindIpv4(libc, this.#errno, { fd, hostname, port }),
      };
    } catch (error) {
      libc.close(this.#fd);
      this.#lib.close();
      throw error;
    }

    this.#batchSize = options.batchSize ?? 64;
    this.#slotBytes = options.slotBytes ?? 65_536;
    const n = this.#batchSize;
    this.#recvHeaders = new Uint8Array(n * MMSGHDR_BYTES);
    this.#recvHeaderWords = new Uint32Array(this.#recvHeaders.buffer);
    this.#recvNames = new Uint8Array(n * SOCKADDR_IN_BYTES);
    this.#recvData = new Uint8Array(n * this.#slotBytes);
    const recvIovecs = new Uint8Array(n * IOVEC_BYTES);
    const recvIovecWords = new Uint32Array(recvIovecs.buffer);
    const namesAddress = addressOf(this.#recvNames);
    const dataAddress = addressOf(this.#recvData);
    const iovecsAddress = addressOf(recvIovecs);
    for (let i = 0; i < n; i++) {
      writePointer(recvIovecWords, i * IOVEC_BYTES, dataAddress + i * this.#slotBytes);
      writePointer(recvIovecWords, i * IOVEC_BYTES + 8, this.#slotBytes);
      const header = i * MMSGHDR_BYTES;
      writePointer(this.#recvHeaderWords, header + MSG_NAME, namesAddress + i * SOCKADDR_IN_BYTES);
      this.#recvHeaderWords[(header + MSG_NAMELEN) >> 2] = SOCKADDR_IN_BYTES;
      writePointer(this.#recvHeaderWords, header + MSG_IOV, iovecsAddress + i * IOVEC_BYTES);
      writePointer(this.#recvHeaderWords, header + MSG_IOVLEN, 1);
    }
    this.#keepAlive = recvIovecs;
    this.#recvHeadersPointer = Deno.UnsafePointer.of(this.#recvHeaders);
    this.#batch = new MmsgBatch(this);

    this.#sendHeaders = new Uint8Array(SEND_CAPACITY * MMSGHDR_BYTES);
    this.#sendHeaderWords = new Uint32Array(this.#sendHeaders.buffer);
    this.#sendHeadersAddress = addressOf(this.#sendHeaders);
    const sendNames = new Uint8Array(SEND_CAPACITY * SOCKADDR_IN_BYTES);
    this.#sendNameWords = new Uint32Array(sendNames.buffer);
    this.#iovecs = new Uint8Array(SEND_CAPACITY * IOVEC_BYTES);
    this.#iovecWords = new Uint32Array(this.#iovecs.buffer);
    this.#iovecsAddress = addressOf(this.#iovecs);
    this.#arena = new Uint8Array(SEND_ARENA_BYTES);
    this.#arenaAddress = addressOf(this.#arena);
    const sendNamesAddress = addressOf(sendNames);
    for (let i = 0; i < SEND_CAPACITY; i++) {
      const header = i * MMSGHDR_BYTES;
      writePointer(
        this.#sendHeaderWords,
        header + MSG_NAME,
        sendNamesAddress + i * SOCKADDR_IN_BYTES,
      );
      this.#sendHeaderWords[(header + MSG_NAMELEN) >> 2] = SOCKADDR_IN_BYTES;
      writePointer(this.#sendHeaderWords, header + MSG_IOVLEN, 1);
    }
    this.#keepAliveSend = sendNames;
  }

  async receive(): Promise<ReceivedBatch> {
    if (this.#receiving) throw new Error("one receive at a time");
    const libc = this.#lib.symbols;
    const flags = MSG_WAITFORONE | MSG_TRUNC;
    while (!this.#closed) {
      // The kernel wrote back each name's length: give every slot full room again.
      for (let i = 0; i < this.#batch.count; i++) {
        this.#recvHeaderWords[(i * MMSGHDR_BYTES + MSG_NAMELEN) >> 2] = SOCKADDR_IN_BYTES;
      }
      // Under load datagrams are already waiting: take them on this thread,
      // without the hop to a pool thread and back. Every few batches the
      // blocking call runs anyway, because it is the one that lets the event
      // loop run timers and TCP in between.
      if (this.#batchesWithoutWaiting < BATCHES_WITHOUT_WAITING) {
        this.#batchesWithoutWaiting++;
        const count = libc.recvmmsgNow(
          this.#fd,
          this.#recvHeadersPointer,
          this.#batchSize,
          flags | MSG_DONTWAIT,
          null,
        );
        if (count > 0) {
          this.stats.received += count;
          this.#batch.count = count;
          return this.#batch;
        }
      }
      this.#batchesWithoutWaiting = 0;
      const calledAt = performance.now();
      this.#receiving = libc.recvmmsg(
        this.#fd,
        this.#recvHeadersPointer,
        this.#batchSize,
        flags,
        null,
      );
      let count: number;
      try {
        count = await this.#receiving;
      } finally {
        this.#receiving = null;
      }
      // After shutdown(2) recvmmsg reports empty datagrams: nothing real.
      if (this.#closed) break;
      // -1 is the SO_RCVTIMEO timeout or a signal, or the kernel out of
      // memory or buffers (errno lives on the pool thread, out of reach). One
      // that comes back well before the timeout was not the timeout: back off
      // (5 ms doubling up to 1 s) rather than spin on it.
      if (count <= 0) {
        if (performance.now() - calledAt < RECEIVE_TIMEOUT_US / 2_000) {
          await this.#errorBackoff.wait(this.#closing.signal);
        } else {
          this.#errorBackoff.reset();
        }
        continue;
      }
      this.#errorBackoff.reset();
      this.stats.received += count;
      this.#batch.count = count;
      return this.#batch;
    }
    return EMPTY;
  }

  /** The bytes of datagram `index` of the last batch (for {@linkcode MmsgBatch}). */
  receivedBytes(index: number): Uint8Array {
    const length = Math.min(this.receivedSize(index), this.#slotBytes);
    return this.#recvData.subarray(index * this.#slotBytes, index * this.#slotBytes + length);
  }

  /** The wire length of datagram `index` of the last batch: MSG_TRUNC makes msg_len the real one. */
  receivedSize(index: number): number {
    return this.#recvHeaderWords[(index * MMSGHDR_BYTES + MSG_LEN) >> 2]!;
  }

  /** The sender of datagram `index` of the last batch. */
  receivedFrom(index: number): HostPort {
    const name = index * SOCKADDR_IN_BYTES;
    const names = this.#recvNames;
    const port = (names[name + 2]! << 8) | names[name + 3]!;
    const address = (names[name + 4]! | (names[name + 5]! << 8) | (names[name + 6]! << 16) |
      (names[name + 7]! << 24)) >>> 0;
    let hostname = this.#hostnames.get(address);
    if (hostname === undefined) {
      hostname = `${names[name + 4]}.${names[name + 5]}.${names[name + 6]}.${names[name + 7]}`;
      // A spoofed-source flood must not grow the cache without bound.
      if (this.#hostnames.size >= 65_536) this.#hostnames.clear();
      this.#hostnames.set(address, hostname);
    }
    return { hostname, port };
  }

  #address(hostname: string): number | null {
    let address = this.#addresses.get(hostname);
    if (address === undefined) {
      address = parseIpv4(hostname);
      if (this.#addresses.size >= 65_536) this.#addresses.clear();
      this.#addresses.set(hostname, address);
    }
    return address;
  }

  send(bytes: Uint8Array, to: readonly HostPort[]): void {
    if (this.#closed || to.length === 0) return;
    if (bytes.length > SEND_ARENA_BYTES) {
      this.stats.sendErrors += to.length;
      return;
    }
    if (this.#arenaUsed + bytes.length > SEND_ARENA_BYTES || this.#iovecCount === SEND_CAPACITY) {
      this.flush();
    }
    // One copy and one iovec for all endpoints: a room's members share it.
    const offset = this.#arenaUsed;
    this.#arena.set(bytes, offset);
    // Keep the next copy 8-byte aligned.
    this.#arenaUsed = (offset + bytes.length + 7) & ~7;
    const iovec = this.#iovecCount++;
    writePointer(this.#iovecWords, iovec * IOVEC_BYTES, this.#arenaAddress + offset);
    writePointer(this.#iovecWords, iovec * IOVEC_BYTES + 8, bytes.length);
    const iovecAddress = this.#iovecsAddress + iovec * IOVEC_BYTES;
    for (const { hostname, port } of to) {
      const address = this.#address(hostname);
      if (address === null || port <= 0 || port > 65_535) {
        this.stats.sendErrors++;
        continue;
      }
      if (this.#queued === SEND_CAPACITY) {
        this.#sendQueued();
      }
      const message = this.#queued++;
      writePointer(this.#sendHeaderWords, message * MMSGHDR_BYTES + MSG_IOV, iovecAddress);
      const name = message * 4;
      this.#sendNameWords[name] = AF_INET | ((port >> 8) << 16) | ((port & 0xff) << 24);
      this.#sendNameWords[name + 1] = address;
    }
  }

  flush(): void {
    this.#sendQueued();
    this.#iovecCount = 0;
    this.#arenaUsed = 0;
  }

  /** Sends the queued headers; the iovecs and arena stay (more headers may point at them). */
  #sendQueued(): void {
    const total = this.#queued;
    this.#queued = 0;
    if (this.#closed) return;
    const libc = this.#lib.symbols;
    let start = 0;
    while (start < total) {
      const pointer = Deno.UnsafePointer.create(
        BigInt(this.#sendHeadersAddress + start * MMSGHDR_BYTES),
      );
      const sent = libc.sendmmsg(this.#fd, pointer, total - start, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (sent > 0) {
        this.stats.sent += sent;
        start += sent;
        continue;
      }
      const errno = this.#errno.getInt32();
      if (errno === EAGAIN || errno === ENOBUFS) {
        // The send buffer is full: the rest would fail the same way now.
        this.stats.sendErrors += total - start;
        return;
      }
      // This destination was refused (no route, say): skip it, send the rest.
      this.stats.sendErrors++;
      start++;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#closing.abort();
    const libc = this.#lib.symbols;
    // Wakes a recvmmsg blocked on another thread (Linux wakes the socket's
    // waiters on shutdown even when a UDP socket is not connected).
    libc.shutdown(this.#fd, SHUT_RDWR);
    if (this.#receiving) await this.#receiving.catch(() => {});
    libc.close(this.#fd);
    this.#lib.close();
  }
}
