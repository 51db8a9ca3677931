/**
 * Whether the open-files limit (`ulimit -n`) leaves room for what the
 * configured limits let the server hold open at once. Past the limit, every
 * accept() fails with EMFILE, so it is better said at startup.
 *
 * @module
 */
import { libcAvailable } from "./linux_libc.ts";

/** RLIMIT_NOFILE on Linux (x86_64, aarch64, riscv64: the generic value). */
const RLIMIT_NOFILE = 7;
/** RLIM_INFINITY: no limit. */
const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/**
 * Descriptors the server holds besides its TCRP connections: Deno itself
 * (24 at startup for Deno 2.9.6 on Linux: its caches, epoll, event fds, its
 * own sockets, stdio), the TCRP listener and the UDP socket, with some room.
 */
export const BASE_DESCRIPTORS = 32;

/** An open-files limit: the soft one applies; the hard one is how far it may be raised. */
export interface OpenFilesLimit {
  soft: number;
  hard: number;
}

/**
 * This process's open-files limit, through getrlimit(2), or null where it
 * cannot be read (not Linux, no FFI permission, libc does not load).
 * Infinity for no limit.
 */
export function openFilesLimit(): OpenFilesLimit | null {
  if (Deno.build.os !== "linux" || !libcAvailable()) return null;
  const libc = Deno.dlopen("libc.so.6", {
    getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  });
  try {
    const limit = new BigUint64Array(2); // struct rlimit { rlim_cur, rlim_max }
    if (libc.symbols.getrlimit(RLIMIT_NOFILE, new Uint8Array(limit.buffer)) !== 0) return null;
    const number = (value: bigint) => value === RLIM_INFINITY ? Infinity : Number(value);
    return { soft: number(limit[0]!), hard: number(limit[1]!) };
  } finally {
    libc.close();
  }
}

/** Descriptors the server can hold at once with `--max-handshakes maxHandshakes`. */
export function descriptorsNeeded(maxHandshakes: number): number {
  return maxHandshakes + BASE_DESCRIPTORS;
}

/**
 * A warning to log when the soft open-files limit is below what the
 * configured limits can use, naming the numbers and what to do; null when
 * it is enough.
 */
export function openFilesWarning(limit: OpenFilesLimit, maxHandshakes: number): string | null {
  const needed = descriptorsNeeded(maxHandshakes);
  if (limit.soft >= needed) return null;
  const fits = limit.soft - BASE_DESCRIPTORS;
  const raise = limit.hard >= needed
    ? `raise it (ulimit -n ${needed}; the hard limit allows ${limit.hard})`
    : `raise it (ulimit -n ${needed}; the hard limit, ${limit.hard}, must be raised first)`;
  const lower = fits >= 1 ? ` or lower --max-handshakes to ${fits}` : "";
  return `open files limit (ulimit -n) is ${limit.soft}, below the ${needed} descriptors the ` +
    `server can use (--max-handshakes ${maxHandshakes} TCRP connections, the two sockets, ` +
    `about ${BASE_DESCRIPTORS - 2} for Deno itself); past it connections fail to be ` +
    `accepted: ${raise}${lower}`;
}
