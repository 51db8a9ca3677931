/** Where a chat server's TCRP port is. */
export interface ServerAddress {
  hostname: string;
  port: number;
}

/** The TCRP port a server listens on unless told otherwise. */
export const DEFAULT_TCRP_PORT = 9001;

/**
 * Parses `host`, `host:port`, `[v6]` or `[v6]:port`. Throws a TypeError with
 * a message for a person when it is not one of those.
 */
export function parseServerAddress(text: string): ServerAddress {
  const match = /^(?:\[([^\]\s]+)\]|([^:\[\]\s]+))(?::(\d{1,5}))?$/.exec(text.trim());
  if (match === null) {
    throw new TypeError(`"${text}" is not host or host:port`);
  }
  const hostname = match[1] ?? match[2]!;
  const port = match[3] === undefined ? DEFAULT_TCRP_PORT : Number(match[3]);
  if (port < 1 || port > 65_535) throw new TypeError(`port ${port} is not 1-65535`);
  return { hostname, port };
}
