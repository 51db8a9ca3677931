/**
 * One log line per kind of abuse and source, not one per packet: the first
 * occurrence of (kind, address) is logged at once, later ones are only
 * counted, and the counts are summarized at most once per interval by the
 * server's sweep. A flood of junk therefore costs a counter increment, not a
 * write to stderr, and the log stays readable.
 */

/** What each kind of abuse is called in the log (plural: it is counted). */
export const ABUSE_KINDS = {
  "malformed-datagram": "malformed datagrams",
  "unknown-token": "datagrams with an unknown or guessed token",
  "foreign-token": "datagrams with a token bound to another IP address",
  "unauthenticated-rate":
    "unauthenticated datagrams over the per-address rate (dropped unanswered)",
  "member-flood": "datagrams over a member's rate limit",
  "oversized-request": "TCRP requests with an oversized size field",
  "bad-request": "malformed TCRP requests (header, JSON or names)",
  "request-rate": "TCRP requests over the per-address rate",
  "handshake-timeout": "TCRP connections not done within the handshake timeout",
  "handshake-limit": "TCRP connections over the per-address limit",
  "connection-limit": "TCRP connections over the server-wide limit",
  "handshake-evicted": "TCRP connections closed unfinished to admit newer ones (server full)",
  "room-limit": "room creations over the per-address limit",
  "member-limit": "memberships over the per-address limit",
  "password-guesses": "wrong room passwords over the limit (refused before hashing)",
  "bad-resume":
    "resume tickets naming no session of that room and name, or with a wrong proof (joined as usual)",
  "list-budget": "room lists over the per-address byte budget",
  "sealed-malformed": "sealed datagrams too long, with a bad header or a malformed inner body",
  "sealed-unknown-session":
    "sealed datagrams for an unknown session (a stateless reset within the rate)",
  "sealed-budget": "sealed datagrams dropped unopened: past the failed-open budget",
  "sealed-replayed": "sealed datagrams replayed or older than the replay window",
  "sealed-forged": "sealed datagrams that did not open (tampered, forged or another key)",
  "sealed-wrong-transport":
    "sealed datagrams of a WebSocket session by UDP, or of a UDP session by WebSocket (dropped)",
  "ws-bad-message": "WebSocket messages their phase does not take (closed 4400)",
  "plain-datagram": "plain datagrams to a server that takes sealed sessions only (dropped)",
} as const;

/** A kind of abuse. */
export type AbuseKind = keyof typeof ABUSE_KINDS;

/**
 * Reports one occurrence from `address` (its addressKey(): what one address is
 * for every per-address limit); `detail` says what was wrong with the first one.
 */
export type AbuseReporter = (kind: AbuseKind, address: string, detail: string) => void;

/** Options for {@linkcode AbuseLog}. */
export interface AbuseLogOptions {
  /** Milliseconds; tests pass a fake. */
  clock: () => number;
  /** Where lines go (the server's logger at warn level). */
  write: (line: string) => void;
  /** Shortest time between two summaries of one (kind, address). */
  intervalMs: number;
  /**
   * Most (kind, address) pairs tracked; past it, further addresses share
   * one entry per kind ("other addresses"), so memory stays bounded.
   */
  maxKeys?: number;
}

interface Entry {
  kind: AbuseKind;
  source: string;
  /** Occurrences since the last line about this entry. */
  count: number;
  /** When the last line about this entry was written. */
  since: number;
}

const OTHER_SOURCES = "other addresses";
// Details come from the network: no control characters (no fake log lines), and short.
// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f]/g;
const MAX_DETAIL_CHARS = 120;

/** Counts abuse per (kind, address) and writes a bounded number of lines about it. */
export class AbuseLog {
  #options: AbuseLogOptions;
  #entries = new Map<string, Entry>();

  /** An empty log. */
  constructor(options: AbuseLogOptions) {
    this.#options = options;
  }

  /** Pairs tracked now (bounded by `maxKeys` plus one per kind). */
  get size(): number {
    return this.#entries.size;
  }

  /** Records one occurrence; writes a line only for the first of its (kind, address). */
  report(kind: AbuseKind, address: string, detail: string): void {
    let entry = this.#entries.get(`${kind} ${address}`);
    if (entry === undefined && this.#entries.size >= (this.#options.maxKeys ?? 1024)) {
      entry = this.#entries.get(`${kind} ${OTHER_SOURCES}`);
      address = OTHER_SOURCES;
    }
    if (entry !== undefined) {
      entry.count++;
      return;
    }
    this.#entries.set(`${kind} ${address}`, {
      kind,
      source: address,
      count: 0,
      since: this.#options.clock(),
    });
    const first = clean(detail);
    this.#options.write(
      `abuse: ${ABUSE_KINDS[kind]} from ${address} (first: ${first}); further ones are counted`,
    );
  }

  /**
   * Writes a summary for each entry whose interval has passed and that saw
   * more occurrences; forgets entries quiet for a whole interval. Call it from
   * the server's sweep.
   */
  sweep(): void {
    const now = this.#options.clock();
    for (const [key, entry] of this.#entries) {
      if (now - entry.since < this.#options.intervalMs) continue;
      if (entry.count === 0) {
        this.#entries.delete(key);
      } else {
        this.#summarize(entry, now);
      }
    }
  }

  /** Writes every pending count now (on shutdown, so no count is lost). */
  flush(): void {
    const now = this.#options.clock();
    for (const entry of this.#entries.values()) {
      if (entry.count > 0) this.#summarize(entry, now);
    }
  }

  #summarize(entry: Entry, now: number): void {
    const seconds = Math.max(1, Math.round((now - entry.since) / 1000));
    this.#options.write(
      `abuse: ${entry.count.toLocaleString("en-US")} more ${ABUSE_KINDS[entry.kind]} ` +
        `from ${entry.source} in the last ${seconds} s`,
    );
    entry.count = 0;
    entry.since = now;
  }
}

function clean(detail: string): string {
  const printable = detail.replace(UNPRINTABLE, "\uFFFD");
  return printable.length > MAX_DETAIL_CHARS
    ? printable.slice(0, MAX_DETAIL_CHARS) + "…"
    : printable;
}
