/**
 * The load generator's sockets on Linux, below the runtime: every member's
 * socket is a nonblocking socket of our own (Deno.dlopen("libc.so.6")) in one
 * epoll set, and one `nonblocking` FFI call to epoll_wait at a time waits for
 * all of them on a pool thread. Each socket it reports ready is drained on
 * the main thread with recvmmsg(MSG_DONTWAIT), up to 64 datagrams a call.
 *
 * Why: a generator holds one socket per member. On Deno.listenDatagram that
 * is one pending receive (and one wake-up) per datagram per socket; with the
 * server's recvmmsg socket it is one blocked pool thread per socket (which
 * halved the ceiling: see socket.ts). Here one thread hand-off serves every
 * socket that is ready, and one syscall serves a socket's whole backlog.
 *
 * IPv4 only; x86-64 and arm64 glibc.
 *
 * @module
 */
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
  MSG_NOSIGNAL,
  MSG_TRUNC,
  SO_RCVBUF,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCKADDR_IN_BYTES,
  sockaddrIn,
  SOCKET_SYMBOLS,
  SOL_SOCKET,
  writePointer,
} from "../../server/linux_libc.ts";
import type { HostPort } from "../../protocol/host_port.ts";
import type { BenchSocket, BenchSockets } from "./socket.ts";

const EPOLL_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;
const EPOLLIN = 1;

// struct epoll_event is packed on x86-64 (12 bytes), naturally aligned elsewhere (16).
const EPOLL_EVENT_BYTES = Deno.build.arch === "x86_64" ? 12 : 16;
const EPOLL_DATA_OFFSET = Deno.build.arch === "x86_64" ? 4 : 8;
const MAX_EVENTS = 256;
/** How long one epoll_wait may block: close() waits at most this long for it. */
const WAIT_MS = 100;

const BATCH = 64;
/** Bigger than any datagram the server sends (MSG_TRUNC reports a longer one, which is skipped). */
const SLOT_BYTES = 8192;
/** Batches drained from one socket per wake-up, so that one busy socket cannot starve the rest. */
const MAX_BATCHES_PER_WAKE = 16;
/** Wanted receive buffer: the kernel caps it at net.core.rmem_max. */
const RECEIVE_BUFFER_BYTES = 4 << 20;

const SYMBOLS = {
  ...SOCKET_SYMBOLS,
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: {
    parameters: ["i32", "pointer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  recvmmsg: { parameters: ["i32", "pointer", "u32", "i32", "pointer"], result: "i32" },
  // ssize_t, read as its low 32 bits: a datagram's length or -1.
  sendto: { parameters: ["i32", "buffer", "u64", "i32", "buffer", "u32"], result: "i32" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>;

const sizes: bigint[] = [];
/** A size_t argument: FFI takes 64-bit integers as BigInts, so keep one per length. */
function sizeT(length: number): bigint {
  return sizes[length] ??= BigInt(length);
}

/** Whether this process can use epoll sockets: Linux, FFI allowed, libc loads. */
export const epollAvailable: () => boolean = libcAvailable;

/** All of one generator's sockets, and the one loop that receives for them. */
export class EpollSockets implements BenchSockets {
  #lib: Libc;
  #errno: Deno.UnsafePointerView;
  #epoll: number;
  #sockets: (EpollSocket | null)[] = [];
  #closed = false;
  #polling: Promise<void> | null = null;
  #events = new Uint8Array(MAX_EVENTS * EPOLL_EVENT_BYTES);
  #eventsView = new DataView(this.#events.buffer);
  #eventsPointer = Deno.UnsafePointer.of(this.#events);
  #headers = new Uint8Array(BATCH * MMSGHDR_BYTES);
  #headerWords = new Uint32Array(this.#headers.buffer);
  #headersPointer = Deno.UnsafePointer.of(this.#headers);
  #data = new Uint8Array(BATCH * SLOT_BYTES);
  // Reached only through pointers in the headers: held so it lives as long as they do.
  #iovecs = new Uint8Array(BATCH * IOVEC_BYTES);

  /** Opens libc and an epoll set. */
  constructor() {
    this.#lib = Deno.dlopen("libc.so.6", SYMBOLS);
    this.#errno = new Deno.UnsafePointerView(this.#lib.symbols.__errno_location()!);
    this.#epoll = this.#lib.symbols.epoll_create1(EPOLL_CLOEXEC);
    if (this.#epoll < 0) {
      const errno = this.#errno.getInt32();
      this.#lib.close();
      throw new Error(`epoll_create1: errno ${errno}`);
    }
    const iovecWords = new Uint32Array(this.#iovecs.buffer);
    const dataAddress = addressOf(this.#data);
    const iovecsAddress = addressOf(this.#iovecs);
    for (let i = 0; i < BATCH; i++) {
      writePointer(iovecWords, i * IOVEC_BYTES, dataAddress + i * SLOT_BYTES);
      writePointer(iovecWords, i * IOVEC_BYTES + 8, SLOT_BYTES);
      // msg_name stays null: the generator does not need the sender.
      writePointer(this.#headerWords, i * MMSGHDR_BYTES + MSG_IOV, iovecsAddress + i * IOVEC_BYTES);
      writePointer(this.#headerWords, i * MMSGHDR_BYTES + MSG_IOVLEN, 1);
    }
  }

  /** Opens a nonblocking socket on `hostname`, port 0, and adds it to the set. */
  open(hostname: string): BenchSocket {
    if (this.#closed) throw new Error("the socket set is closed");
    const libc = this.#lib.symbols;
    const fd = libc.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket: errno ${this.#errno.getInt32()}`);
    try {
      const size = new Uint8Array(new Int32Array([RECEIVE_BUFFER_BYTES]).buffer);
      libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, size, 4); // best effort
      const port = bindIpv4(libc, this.#errno, { fd, hostname, port: 0 });
      const index = this.#sockets.length;
      const event = new Uint8Array(EPOLL_EVENT_BYTES);
      const view = new DataView(event.buffer);
      view.setUint32(0, EPOLLIN, true);
      view.setUint32(EPOLL_DATA_OFFSET, index, true);
      if (libc.epoll_ctl(this.#epoll, EPOLL_CTL_ADD, fd, event) !== 0) {
        throw new Error(`epoll_ctl: errno ${this.#errno.getInt32()}`);
      }
      const socket = new EpollSocket(this, this.#lib, { fd, port, index });
      this.#sockets.push(socket);
      this.#polling ??= this.#poll();
      return socket;
    } catch (error) {
      libc.close(fd);
      throw error;
    }
  }

  async #poll(): Promise<void> {
    const libc = this.#lib.symbols;
    while (!this.#closed) {
      const ready = await libc.epoll_wait(this.#epoll, this.#eventsPointer, MAX_EVENTS, WAIT_MS);
      if (this.#closed) return;
      // -1 is EINTR (errno is on the pool thread, out of reach): wait again.
      for (let i = 0; i < ready; i++) {
        const index = this.#eventsView.getUint32(i * EPOLL_EVENT_BYTES + EPOLL_DATA_OFFSET, true);
        const socket = this.#sockets[index];
        if (socket) this.#drain(socket);
      }
    }
  }

  #drain(socket: EpollSocket): void {
    const libc = this.#lib.symbols;
    for (let batch = 0; batch < MAX_BATCHES_PER_WAKE; batch++) {
      const count = libc.recvmmsg(
        socket.fd,
        this.#headersPointer,
        BATCH,
        MSG_DONTWAIT | MSG_TRUNC,
        null,
      );
      if (count <= 0) return; // EAGAIN: drained (level-triggered: anything left is reported again)
      for (let i = 0; i < count; i++) {
        const length = this.#headerWords[(i * MMSGHDR_BYTES + MSG_LEN) >> 2]!;
        if (length > SLOT_BYTES) continue; // cut short: not a datagram the bench sends
        socket.deliver(this.#data.subarray(i * SLOT_BYTES, i * SLOT_BYTES + length));
        if (socket.closed) return;
      }
      if (count < BATCH) return;
    }
  }

  /** For {@linkcode EpollSocket.close}: forget a closed socket. */
  forget(socket: EpollSocket): void {
    this.#sockets[socket.index] = null;
  }

  /** Closes every socket, waits for the wait in flight, closes epoll and libc. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const socket of this.#sockets) socket?.close();
    this.#closed = true;
    await this.#polling;
    this.#lib.symbols.close(this.#epoll);
    this.#lib.close();
  }
}

class EpollSocket implements BenchSocket {
  readonly port: number;
  readonly fd: number;
  /** Its place in the set (the epoll event's data). */
  readonly index: number;
  #set: EpollSockets;
  #lib: Libc;
  #closed = false;
  #sendErrors = 0;
  #onDatagram: ((bytes: Uint8Array) => void) | null = null;
  #stopped: () => void = () => {};
  #stopping: Promise<void>;
  #lastTarget: HostPort | null = null;
  #lastAddress = new Uint8Array(SOCKADDR_IN_BYTES);

  constructor(set: EpollSockets, lib: Libc, where: { fd: number; port: number; index: number }) {
    this.#set = set;
    this.#lib = lib;
    this.fd = where.fd;
    this.port = where.port;
    this.index = where.index;
    this.#stopping = new Promise((resolve) => (this.#stopped = resolve));
  }

  get closed(): boolean {
    return this.#closed;
  }

  get sendErrors(): number {
    return this.#sendErrors;
  }

  send(bytes: Uint8Array, to: HostPort): void {
    if (this.#closed) return;
    // A member always sends to the same server address: convert it once.
    if (this.#lastTarget !== to) {
      this.#lastAddress = sockaddrIn(to.hostname, to.port);
      this.#lastTarget = to;
    }
    const sent = this.#lib.symbols.sendto(
      this.fd,
      bytes as Uint8Array<ArrayBuffer>,
      sizeT(bytes.length),
      MSG_DONTWAIT | MSG_NOSIGNAL,
      this.#lastAddress,
      SOCKADDR_IN_BYTES,
    );
    if (sent < 0) this.#sendErrors++;
  }

  receiveLoop(onDatagram: (bytes: Uint8Array) => void): Promise<void> {
    this.#onDatagram = onDatagram;
    return this.#stopping;
  }

  /** For {@linkcode EpollSockets}: hands one received datagram to the loop's callback. */
  deliver(bytes: Uint8Array): void {
    this.#onDatagram?.(bytes);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // close(2) also takes the descriptor out of the epoll set; an event for
    // it already collected is ignored, since the set forgets the socket first.
    this.#set.forget(this);
    this.#lib.symbols.close(this.fd);
    this.#stopped();
  }
}
