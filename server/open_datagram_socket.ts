/**
 * Picks and binds a {@linkcode DatagramSocket} implementation for `--udp-io`.
 *
 * @module
 */
import type { DatagramSocket, DatagramSocketOptions, UdpIo } from "./datagram_socket.ts";
import { DenoDatagramSocket } from "./deno_datagram_socket.ts";
import { LinuxMmsgSocket, mmsgAvailable } from "./linux_mmsg_socket.ts";

/** Which implementation to use: "auto" takes mmsg where it can and deno elsewhere. */
export type UdpIoChoice = UdpIo | "auto";

/** The implementations `--udp-io` accepts. */
export const UDP_IO_CHOICES: readonly UdpIoChoice[] = ["auto", "deno", "mmsg"];

/**
 * Whether "auto" would pick mmsg for this address: Linux, FFI permission
 * granted (it is never asked for), libc loads, and an IPv4 literal to bind.
 */
export function mmsgSuits(hostname: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) && mmsgAvailable();
}

/**
 * Binds a socket with the chosen implementation. "mmsg" throws where it
 * cannot work (not Linux, no FFI permission, an IPv6 or name address).
 */
export function openDatagramSocket(
  choice: UdpIoChoice,
  options: DatagramSocketOptions,
): DatagramSocket {
  const io = choice === "auto" ? (mmsgSuits(options.hostname) ? "mmsg" : "deno") : choice;
  return io === "mmsg" ? new LinuxMmsgSocket(options) : new DenoDatagramSocket(options);
}
