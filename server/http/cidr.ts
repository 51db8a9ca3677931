/**
 * IP addresses and CIDR blocks as bytes, for `--trust-proxy`: which TCP
 * peers are proxies whose X-Forwarded-For the server believes
 * (forwarded.ts). Pure: no Deno API.
 *
 * An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket
 * reports for an IPv4 peer) is the IPv4 address it maps, for parsing and for
 * matching, so a block written either way matches the peer however the
 * socket reports it.
 *
 * @module
 */

/** A text that is not an IP address or a CIDR block. */
export class CidrError extends Error {
  /** Says which text and what was expected. */
  constructor(message: string) {
    super(message);
    this.name = "CidrError";
  }
}

/** One block: its network bytes (4 for IPv4, 16 for IPv6) and prefix length. */
export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseIpv4(text: string): Uint8Array | null {
  const match = IPV4.exec(text);
  if (match === null) return null;
  const parts = match.slice(1).map(Number);
  // No leading zeros ("010" means octal to some parsers and decimal to others).
  if (match.slice(1).some((part) => part.length > 1 && part.startsWith("0"))) return null;
  if (parts.some((part) => part > 255)) return null;
  return Uint8Array.from(parts);
}

function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (part: string, last: boolean): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      const v4 = last && i === pieces.length - 1 ? parseIpv4(piece) : null;
      if (v4 !== null) out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      else if (/^[0-9a-f]{1,4}$/i.test(piece)) out.push(parseInt(piece, 16));
      else return null;
    }
    return out;
  };
  const head = groupsOf(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? groupsOf(halves[1]!, true) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/**
 * The bytes of an IP address: 4 for IPv4 (and for an IPv4-mapped IPv6
 * address), 16 for IPv6; null when `text` is not one. Brackets around an
 * IPv6 address and its zone (`%eth0`) are allowed and dropped.
 */
export function parseIp(text: string): Uint8Array | null {
  let rest = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (!rest.includes(":")) return parseIpv4(rest);
  const zone = rest.indexOf("%");
  if (zone >= 0) rest = rest.slice(0, zone);
  const bytes = parseIpv6(rest);
  if (bytes === null) return null;
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff &&
    bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

/**
 * One block: `192.0.2.0/24`, `2001:db8::/32`, or a single address (a /32 or
 * /128). Host bits past the prefix are cleared. Throws a
 * {@linkcode CidrError} naming the text when it is not one.
 */
export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  const slash = trimmed.indexOf("/");
  const addressText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const bytes = parseIp(addressText);
  if (bytes === null) {
    throw new CidrError(`"${text}" is not an IP address or CIDR block (e.g. 10.0.0.0/8, ::1)`);
  }
  // An IPv4-mapped block ("::ffff:10.0.0.0/104") is written in IPv6 bits, kept in IPv4 bits.
  const mapped = addressText.includes(":") && bytes.length === 4;
  const max = mapped ? 128 : bytes.length * 8;
  let prefix = bytes.length * 8;
  if (slash >= 0) {
    const prefixText = trimmed.slice(slash + 1);
    prefix = Number(prefixText);
    if (!/^\d{1,3}$/.test(prefixText) || prefix > max) {
      throw new CidrError(`"${text}": the prefix length must be a whole number from 0 to ${max}`);
    }
    if (mapped) {
      prefix -= 96;
      if (prefix < 0) throw new CidrError(`"${text}": an IPv4-mapped block needs a prefix of 96+`);
    }
  }
  const network = bytes.slice();
  for (let i = 0; i < network.length; i++) {
    const keep = Math.min(8, Math.max(0, prefix - 8 * i));
    network[i] = network[i]! & (0xff << (8 - keep)) & 0xff;
  }
  return { bytes: network, prefix };
}

/**
 * A comma- (or space-) separated list of blocks; "" is the empty list.
 * Throws a {@linkcode CidrError} for the first entry that is not a block.
 */
export function parseCidrList(text: string): Cidr[] {
  return text.split(/[\s,]+/).filter((entry) => entry !== "").map(parseCidr);
}

/** Whether the address `ip` (bytes from {@linkcode parseIp}) lies in `cidr`. */
export function cidrContains(cidr: Cidr, ip: Uint8Array): boolean {
  if (ip.length !== cidr.bytes.length) return false;
  for (let i = 0; i < ip.length; i++) {
    const keep = Math.min(8, Math.max(0, cidr.prefix - 8 * i));
    if (keep === 0) return true;
    const mask = (0xff << (8 - keep)) & 0xff;
    if ((ip[i]! & mask) !== cidr.bytes[i]) return false;
  }
  return true;
}

/** A set of blocks an address is looked up in. */
export class CidrSet {
  #blocks: readonly Cidr[];

  /** The blocks of `entries` (CIDR texts or parsed blocks); throws a CidrError for a bad text. */
  constructor(entries: readonly (string | Cidr)[]) {
    this.#blocks = entries.map((entry) => typeof entry === "string" ? parseCidr(entry) : entry);
  }

  /** Whether there are no blocks (nothing is trusted). */
  get empty(): boolean {
    return this.#blocks.length === 0;
  }

  /** Whether the address text `ip` lies in one of the blocks; false when it is not an address. */
  has(ip: string): boolean {
    if (this.#blocks.length === 0) return false;
    const bytes = parseIp(ip);
    return bytes !== null && this.#blocks.some((block) => cidrContains(block, bytes));
  }
}
