/**
 * The client's address behind trusted reverse proxies (`--trust-proxy`).
 * Pure: no Deno API.
 *
 * X-Forwarded-For is a list each proxy appends its own peer to, so only the
 * entries added by proxies we trust are true; anything to their left was
 * written by the client and may be forged. So the list is believed only when
 * the TCP peer is a trusted proxy, and it is walked from the right, skipping
 * trusted hops: the first untrusted one is the client. When every hop is
 * trusted, the leftmost one is (the request started inside the proxies).
 *
 * A malformed entry (not an IP address: "unknown", a name, garbage) ends the
 * walk: nothing to its left can be believed, and the last good hop, the one
 * to its right (or the peer itself), is the address. That hop is a trusted
 * proxy, so such requests share the proxy's per-address limits rather than
 * picking an address of their choice.
 *
 * @module
 */
import { type CidrSet, parseIp } from "./cidr.ts";

/**
 * One X-Forwarded-For entry as an address text (brackets and a port
 * dropped: `[2001:db8::1]:443` is `2001:db8::1`, `192.0.2.1:80` is
 * `192.0.2.1`), or null when it is not an IP address.
 */
export function forwardedEntry(entry: string): string | null {
  let text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed !== null) text = bracketed[1]!;
  else if (/^[\d.]+:\d{1,5}$/.test(text)) text = text.slice(0, text.lastIndexOf(":"));
  return parseIp(text) === null ? null : text.toLowerCase();
}

/**
 * The address a request is from: `peerIp` (the TCP peer) unless it is in
 * `trusted` and the request has an X-Forwarded-For (several headers joined
 * with commas are one list), then the rightmost untrusted hop (see the
 * module doc for all-trusted and malformed lists).
 *
 * @example
 * ```ts
 * const proxies = new CidrSet(["10.0.0.0/8"]);
 * clientAddress("10.0.0.2", "203.0.113.7, 10.0.0.9", proxies); // "203.0.113.7"
 * clientAddress("198.51.100.1", "203.0.113.7", proxies); // "198.51.100.1": not a proxy
 * ```
 */
export function clientAddress(
  peerIp: string,
  xForwardedFor: string | undefined,
  trusted: CidrSet,
): string {
  if (xForwardedFor === undefined || !trusted.has(peerIp)) return peerIp;
  const hops = xForwardedFor.split(",");
  let current = peerIp;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = forwardedEntry(hops[i]!);
    if (hop === null) return current;
    current = hop;
    if (!trusted.has(hop)) return hop;
  }
  return current;
}
