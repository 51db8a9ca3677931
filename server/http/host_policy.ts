/**
 * Which Host headers the HTTP front answers and which Origins may open a
 * WebSocket (docs/protocol.md 7.1). Pure: the machine's host name comes in
 * as an option.
 *
 * Why Host: a page on `attacker.example` can re-point its own name at a LAN
 * address (DNS rebinding) and then read that server as same-origin; the only
 * trace is its Host header, which still says `attacker.example`. So only
 * names this server is known by are answered: the `--public-origin` list
 * when given; otherwise IP literals, `localhost` and the machine's own host
 * name (and that name under `.local`), which no outside page can point
 * anywhere. Everything else is 421, on every route.
 *
 * Why Origin: a page on another site may open a WebSocket to any address
 * (browsers do not apply the same-origin policy to WebSockets) and so list
 * rooms and post from the student's address. Its Origin header names it, so
 * a WebSocket is taken only from one of the public origins, or, without
 * them, from `http(s)://` plus the request's own Host. `Origin: null`
 * (sandboxed frames, file: pages, some redirects) is refused; a request with
 * no Origin at all is a program, not a browser page, and is allowed.
 *
 * Comparisons ignore case and a trailing dot, compare IP literals by value
 * (`[0:0::1]` is `[::1]`), and fill in a missing port with the scheme's
 * default (80 for http, 443 for https).
 *
 * @module
 */
import { parseIp } from "./cidr.ts";

/** A Host header, or an origin's host, reduced to what comparisons use. */
export interface ParsedHost {
  /** `ip:<hex bytes>` for an IP literal, `name:<lower case, no trailing dot>` otherwise. */
  key: string;
  /** The port written, or null when none was. */
  port: number | null;
  /** Whether it is an IP literal (IPv4 dotted quad or bracketed IPv6). */
  ip: boolean;
}

/** An origin (`scheme://host[:port]`) reduced to what comparisons use. */
interface ParsedOrigin {
  scheme: "http" | "https";
  host: ParsedHost;
  /** The port, the scheme's default filled in. */
  port: number;
}

const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::(\d{1,5}))?$/;
const ORIGIN = /^(https?):\/\/([^/?#@\s]+)$/i;
const DEFAULT_PORT = { http: 80, https: 443 } as const;

function hostKey(name: string): { key: string; ip: boolean } | null {
  const bytes = parseIp(name);
  // An unbracketed IPv6 address is not a valid Host (its colons read as a port).
  if (bytes !== null && (name.startsWith("[") || !name.includes(":"))) {
    return {
      key: `ip:${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`,
      ip: true,
    };
  }
  if (name.startsWith("[")) return null;
  const lower = name.toLowerCase().replace(/\.$/, "");
  if (lower === "" || lower.startsWith(".") || lower.includes("..")) return null;
  return { key: `name:${lower}`, ip: false };
}

/**
 * A Host header's host and port, or null when it is not `host[:port]` (a
 * name, an IPv4 address or a bracketed IPv6 address, and an optional port
 * from 1 to 65535).
 */
export function parseHost(text: string): ParsedHost | null {
  const match = HOST.exec(text.trim());
  if (match === null) return null;
  const key = hostKey(match[1]!);
  if (key === null) return null;
  const port = match[2] === undefined ? null : Number(match[2]);
  if (port !== null && (port < 1 || port > 65_535)) return null;
  return { ...key, port };
}

function parseOrigin(text: string): ParsedOrigin | null {
  const match = ORIGIN.exec(text.trim());
  if (match === null) return null;
  const scheme = match[1]!.toLowerCase() as "http" | "https";
  const host = parseHost(match[2]!);
  if (host === null) return null;
  return { scheme, host, port: host.port ?? DEFAULT_PORT[scheme] };
}

/**
 * A `--public-origin` entry as the browser writes it in an Origin header
 * (`https://chat.school.example`, `http://10.0.0.5:8080`): lower case, no
 * default port, no trailing slash. Throws a TypeError that says what was
 * expected when it is not an http(s) origin.
 */
export function normalizePublicOrigin(text: string): string {
  const trimmed = text.trim().replace(/\/$/, "");
  const parsed = parseOrigin(trimmed);
  if (parsed === null) {
    throw new TypeError(
      `"${text}" is not an origin: expected http:// or https://, a host and an optional port, ` +
        `with no path (e.g. https://chat.school.example)`,
    );
  }
  const url = new URL(trimmed);
  return url.origin;
}

/** How {@linkcode HostPolicy.checkOrigin} judged an Origin header. */
export type OriginVerdict = "allowed" | "absent" | "refused";

/** What a {@linkcode HostPolicy} allows. */
export interface HostPolicyOptions {
  /** `--public-origin`: when not empty, the only names served. */
  publicOrigins: readonly string[];
  /** The machine's host name (`Deno.hostname()`), or null when unknown. */
  hostName: string | null;
}

/** The Host and Origin rules of one HTTP front (see the module doc). */
export class HostPolicy {
  #origins: ParsedOrigin[];
  #ownNames: Set<string>;

  /** Throws a TypeError when a public origin is not an origin. */
  constructor(options: HostPolicyOptions) {
    this.#origins = options.publicOrigins.map((text) => {
      const parsed = parseOrigin(normalizePublicOrigin(text));
      if (parsed === null) throw new TypeError(`"${text}" is not an origin`);
      return parsed;
    });
    this.#ownNames = new Set(["name:localhost"]);
    const own = options.hostName === null ? null : hostKey(options.hostName);
    if (own !== null && !own.ip) {
      this.#ownNames.add(own.key);
      if (!own.key.endsWith(".local")) this.#ownNames.add(`${own.key}.local`);
    }
  }

  /** Whether `--public-origin` was given (a 421's text says how to add a name). */
  get hasPublicOrigins(): boolean {
    return this.#origins.length > 0;
  }

  /** Whether a request whose Host is `host` is answered (false: 421). */
  hostAllowed(host: ParsedHost): boolean {
    if (this.#origins.length === 0) return host.ip || this.#ownNames.has(host.key);
    return this.#origins.some((origin) =>
      origin.host.key === host.key && origin.port === (host.port ?? DEFAULT_PORT[origin.scheme])
    );
  }

  /**
   * Whether a WebSocket with this Origin header (undefined: none) may open
   * on a request whose (allowed) Host is `host`: "absent" (no header, a
   * program: allowed), "allowed", or "refused" (`null`, malformed, foreign).
   */
  checkOrigin(header: string | undefined, host: ParsedHost): OriginVerdict {
    if (header === undefined) return "absent";
    const origin = parseOrigin(header);
    if (origin === null) return "refused";
    const matches = (other: ParsedOrigin) =>
      other.scheme === origin.scheme && other.host.key === origin.host.key &&
      other.port === origin.port;
    if (this.#origins.length > 0) return this.#origins.some(matches) ? "allowed" : "refused";
    const sameHost = origin.host.key === host.key &&
      origin.port === (host.port ?? DEFAULT_PORT[origin.scheme]);
    return sameHost ? "allowed" : "refused";
  }
}
