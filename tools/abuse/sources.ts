/**
 * The loopback source addresses the abuse suite sends from. Per-address
 * limits count a source address (the server's addressKey()), so a scenario
 * that plays 40 addresses binds its sockets to 40 addresses of 127/8, which
 * Linux routes to loopback with no setup.
 *
 * Deno's --allow-net names hosts one by one (no CIDR), and it checks the
 * local address a socket binds to as well as the one it connects to, so
 * `deno task abuse` lists exactly {@linkcode ABUSE_NET_HOSTS};
 * tests/abuse_test.ts checks that deno.json says the same.
 */

/** The bystander's address (and every scenario's server): 127.0.0.1. */
export const BYSTANDER_SOURCE = "127.0.0.1";
/** The second address the original scenarios use (a stolen token, a client during slowloris). */
export const SECOND_SOURCE = "127.0.0.2";
/** How many more addresses scenarios may take with {@linkcode source}. */
export const SOURCE_COUNT = 48;
const FIRST_SOURCE_OCTET = 3;

/** The `i`-th scenario address, 0-based: 127.0.0.3, 127.0.0.4, ... */
export function source(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= SOURCE_COUNT) {
    throw new RangeError(`source ${i}: the suite has ${SOURCE_COUNT} (see ABUSE_NET_HOSTS)`);
  }
  return `127.0.0.${FIRST_SOURCE_OCTET + i}`;
}

/** `n` scenario addresses starting at `from`. */
export function sources(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => source(from + i));
}

/** Every address the suite binds or connects to: what `deno task abuse` allows. */
export const ABUSE_NET_HOSTS: readonly string[] = [
  BYSTANDER_SOURCE,
  SECOND_SOURCE,
  ...sources(SOURCE_COUNT),
];
