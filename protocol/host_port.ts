/**
 * A host and a port: the one type every part of chat uses for an address
 * (the server's TCRP and UDP ports, a datagram's source, a client's socket),
 * the default ports, and the `host:port` text form.
 *
 * @module
 */

/** A host name or IP literal, and a port. */
export interface HostPort {
  hostname: string;
  port: number;
}

/** The TCRP (TCP) port a server listens on unless told otherwise. */
export const DEFAULT_TCRP_PORT = 9001;
/** The chat datagram (UDP) port a server listens on unless told otherwise. */
export const DEFAULT_UDP_PORT = 9002;

/**
 * Parses `host`, `host:port`, `[v6]` or `[v6]:port`; a missing port is
 * `defaultPort`. Throws a TypeError with a message for a person otherwise.
 *
 * @example
 * ```ts
 * parseHostPort("[::1]:9101"); // { hostname: "::1", port: 9101 }
 * parseHostPort("chat.example"); // { hostname: "chat.example", port: 9001 }
 * ```
 */
export function parseHostPort(text: string, defaultPort: number = DEFAULT_TCRP_PORT): HostPort {
  const match = /^(?:\[([^\]\s]+)\]|([^:\[\]\s]+))(?::(\d{1,5}))?$/.exec(text.trim());
  if (match === null) {
    throw new TypeError(`"${text}" is not host or host:port`);
  }
  const hostname = match[1] ?? match[2]!;
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (port < 1 || port > 65_535) throw new TypeError(`port ${port} is not 1-65535`);
  return { hostname, port };
}

/**
 * The `host:port` form of an address, with an IPv6 literal in brackets.
 *
 * @example
 * ```ts
 * formatHostPort({ hostname: "::1", port: 9001 }); // "[::1]:9001"
 * ```
 */
export function formatHostPort(address: HostPort): string {
  return address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
}
