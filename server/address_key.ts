/**
 * The key every per-address limit counts by: the connection gate, the
 * request rate, rooms per address, the unauthenticated-datagram rate and the
 * abuse log (and, later, members and replays per address). One function, so
 * that all of them agree on what "one address" is:
 *
 * - IPv4: the whole address (/32);
 * - an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`): its IPv4 address, so a
 *   dual-stack socket cannot give one host two keys;
 * - IPv6: the first `ipv6PrefixLength` bits (64 by default: one host usually
 *   holds a whole /64 and can pick any address in it), written as
 *   `2001:db8:0:1::/64`;
 * - anything else (a name from a transport that has no IP): itself.
 *
 * A token stays bound to the full address; only limits use the key.
 *
 * @module
 */

/** How {@linkcode addressKey} groups IPv6 addresses. */
export interface AddressKeyOptions {
  /** Leading bits of an IPv6 address that make its key, 1-128. */
  ipv6PrefixLength: number;
}

/** The default: one key per IPv6 /64. */
export const DEFAULT_ADDRESS_KEY_OPTIONS: AddressKeyOptions = { ipv6PrefixLength: 64 };

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * The per-address key of an IP address (see the module doc).
 *
 * @example
 * ```ts
 * addressKey("203.0.113.9"); // "203.0.113.9"
 * addressKey("::ffff:203.0.113.9"); // "203.0.113.9"
 * addressKey("2001:db8::1:2:3:4"); // "2001:db8::/64"
 * addressKey("2001:db8::1", { ipv6PrefixLength: 128 }); // "2001:db8::1/128"
 * ```
 */
export function addressKey(
  address: string,
  options: AddressKeyOptions = DEFAULT_ADDRESS_KEY_OPTIONS,
): string {
  if (!address.includes(":")) return address; // IPv4, the common case, costs one scan
  const groups = parseIpv6(address);
  if (groups === null) return address;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  const bits = Math.min(128, Math.max(1, Math.floor(options.ipv6PrefixLength)));
  const masked = groups.map((group, i) => {
    const keep = Math.min(16, Math.max(0, bits - 16 * i));
    return keep === 0 ? 0 : group & (0xffff << (16 - keep)) & 0xffff;
  });
  return `${formatIpv6(masked)}/${bits}`;
}

/** The eight 16-bit groups of an IPv6 literal (zone id dropped), or null when it is not one. */
function parseIpv6(text: string): number[] | null {
  let rest = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const zone = rest.indexOf("%");
  if (zone >= 0) rest = rest.slice(0, zone);
  const halves = rest.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      const v4 = i === pieces.length - 1 ? IPV4.exec(piece) : null;
      if (v4 !== null) {
        const bytes = v4.slice(1).map(Number);
        if (bytes.some((b) => b > 255)) return null;
        out.push((bytes[0]! << 8) | bytes[1]!, (bytes[2]! << 8) | bytes[3]!);
      } else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  return [...head, ...new Array(missing).fill(0), ...tail];
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of 2+ zero groups as "::". */
function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}
