/**
 * What the FFI sockets (server/linux_mmsg_socket.ts and the bench's
 * tools/bench/epoll_socket.ts) share of libc: constants, the memory layouts
 * of struct sockaddr_in, mmsghdr and iovec and the 64-bit pointers written
 * into them, the socket calls both declare, and binding with its errors.
 * Linux, LP64 (x86-64 and arm64 alike).
 *
 * @module
 */

// Linux constants (identical on x86-64 and arm64).
/** AF_INET. */
export const AF_INET = 2;
/** SOCK_DGRAM. */
export const SOCK_DGRAM = 2;
/** SOCK_NONBLOCK, or-ed into the socket type. */
export const SOCK_NONBLOCK = 0o4000;
/** SOCK_CLOEXEC, or-ed into the socket type. */
export const SOCK_CLOEXEC = 0o2000000;
/** SOL_SOCKET. */
export const SOL_SOCKET = 1;
/** SO_SNDBUF. */
export const SO_SNDBUF = 7;
/** SO_RCVBUF. */
export const SO_RCVBUF = 8;
/** SO_REUSEPORT. */
export const SO_REUSEPORT = 15;
/** SO_RCVTIMEO. */
export const SO_RCVTIMEO = 20;
/** MSG_TRUNC: msg_len is the datagram's real length even when it was cut. */
export const MSG_TRUNC = 0x20;
/** MSG_DONTWAIT. */
export const MSG_DONTWAIT = 0x40;
/** MSG_NOSIGNAL. */
export const MSG_NOSIGNAL = 0x4000;
/** MSG_WAITFORONE: recvmmsg returns once it has one datagram. */
export const MSG_WAITFORONE = 0x10000;
const EACCES = 13;
const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;

/** The socket calls every FFI socket makes; each adds its own to these. */
export const SOCKET_SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** {@linkcode SOCKET_SYMBOLS} as loaded (any library that declares them will do). */
export type SocketCalls = Deno.StaticForeignLibraryInterface<typeof SOCKET_SYMBOLS>;
/** sizeof(struct sockaddr_in). */
export const SOCKADDR_IN_BYTES = 16;
/** sizeof(struct mmsghdr): struct msghdr (56 bytes), unsigned msg_len, padded to 64. */
export const MMSGHDR_BYTES = 64;
/** Offset of msg_name in struct mmsghdr. */
export const MSG_NAME = 0;
/** Offset of msg_namelen. */
export const MSG_NAMELEN = 8;
/** Offset of msg_iov. */
export const MSG_IOV = 16;
/** Offset of msg_iovlen. */
export const MSG_IOVLEN = 24;
/** Offset of msg_len: the bytes received or sent. */
export const MSG_LEN = 56;
/** sizeof(struct iovec). */
export const IOVEC_BYTES = 16;

/** The address of a buffer's first byte, as a number (user-space addresses fit in 53 bits). */
export function addressOf(buffer: Uint8Array): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer as Uint8Array<ArrayBuffer>)));
}

/** Writes a 64-bit pointer into two 32-bit words, avoiding a BigInt per write. */
export function writePointer(words: Uint32Array, byteOffset: number, address: number): void {
  words[byteOffset >> 2] = address % 0x1_0000_0000;
  words[(byteOffset >> 2) + 1] = Math.floor(address / 0x1_0000_0000);
}

/** "a.b.c.d" as the 32-bit word that holds those bytes in memory order, or null. */
export function parseIpv4(hostname: string): number | null {
  const parts = hostname.split(".");
  if (parts.length !== 4) return null;
  let word = 0;
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^\d{1,3}$/.test(part)) return null;
    const byte = Number(part);
    if (byte > 255) return null;
    word |= byte << (8 * i);
  }
  return word >>> 0;
}

/** A struct sockaddr_in for an IPv4 address and port; TypeError for anything else. */
export function sockaddrIn(hostname: string, port: number): Uint8Array<ArrayBuffer> {
  const address = parseIpv4(hostname);
  if (address === null) {
    throw new TypeError(`the FFI sockets take IPv4 addresses only, not ${hostname}`);
  }
  const sockaddr = new Uint8Array(SOCKADDR_IN_BYTES);
  const view = new DataView(sockaddr.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port, false);
  view.setUint32(4, address, true);
  return sockaddr;
}

/** Whether this process can use the FFI sockets: Linux, FFI allowed, libc loads. */
export function libcAvailable(): boolean {
  if (Deno.build.os !== "linux") return false;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return false;
  try {
    Deno.dlopen("libc.so.6", { getpid: { parameters: [], result: "i32" } }).close();
    return true;
  } catch {
    return false;
  }
}

/** setsockopt(fd, SOL_SOCKET, option) of an int; throws with errno. */
export function setSocketInt(
  libc: SocketCalls,
  errno: Deno.UnsafePointerView,
  where: { fd: number; option: number; value: number },
): void {
  setSocketOption(libc, errno, {
    ...where,
    value: new Uint8Array(new Int32Array([where.value]).buffer),
  });
}

/** setsockopt(fd, SOL_SOCKET, option) of a struct's bytes; throws with errno. */
export function setSocketOption(
  libc: SocketCalls,
  errno: Deno.UnsafePointerView,
  where: { fd: number; option: number; value: Uint8Array<ArrayBuffer> },
): void {
  const { fd, option, value } = where;
  if (libc.setsockopt(fd, SOL_SOCKET, option, value, value.length) !== 0) {
    throw new Error(`setsockopt ${option}: errno ${errno.getInt32()}`);
  }
}

/**
 * Binds `fd` to an IPv4 `hostname:port` and returns the bound port. A
 * refusal throws as Deno.listenDatagram would (AddrInUse, AddrNotAvailable,
 * PermissionDenied), anything else with its errno.
 */
export function bindIpv4(
  libc: SocketCalls,
  errno: Deno.UnsafePointerView,
  where: { fd: number; hostname: string; port: number },
): number {
  const { fd, hostname, port } = where;
  if (libc.bind(fd, sockaddrIn(hostname, port), SOCKADDR_IN_BYTES) !== 0) {
    const code = errno.getInt32();
    const at = `${hostname}:${port}`;
    if (code === EADDRINUSE) throw new Deno.errors.AddrInUse(`udp ${at} in use`);
    if (code === EADDRNOTAVAIL) throw new Deno.errors.AddrNotAvailable(`udp ${at}`);
    if (code === EACCES) throw new Deno.errors.PermissionDenied(`udp ${at}`);
    throw new Error(`bind ${at}: errno ${code}`);
  }
  const bound = new Uint8Array(SOCKADDR_IN_BYTES);
  libc.getsockname(fd, bound, new Uint8Array(new Uint32Array([SOCKADDR_IN_BYTES]).buffer));
  return new DataView(bound.buffer).getUint16(2, false);
}
