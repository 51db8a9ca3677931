/**
 * Memory layouts shared by the FFI sockets (server/linux_mmsg_socket.ts and
 * the bench's tools/bench/epoll_socket.ts): struct sockaddr_in, struct
 * mmsghdr and struct iovec, and the 64-bit pointers written into them.
 * Linux, LP64 (x86-64 and arm64 alike).
 *
 * @module
 */

/** AF_INET on Linux. */
export const AF_INET = 2;
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
