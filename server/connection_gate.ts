/**
 * Counts open TCRP connections per address (address_key.ts) and in all, so
 * that one address cannot hold every handshake slot (slowloris) and many
 * addresses together cannot exhaust the server's file descriptors.
 *
 * The per-address ceiling counts only connections still reading their
 * request: a connection whose request is in (waiting for a password check,
 * writing its answer) no longer counts against its address, so a class
 * behind one NAT whose joins all wait for scrypt does not lock itself out.
 *
 * When the total is reached, the oldest connection still reading its
 * request is evicted (its `evict` callback closes it) to make room, so idle
 * or trickling connections from many addresses cannot keep a prompt client
 * out: a client that sends its request at once finishes reading long before
 * it becomes the oldest. Only when every open connection has its request in
 * is a new one refused (503).
 */

/** Limits of a {@linkcode ConnectionGate}. */
export interface ConnectionGateOptions {
  /** Most connections still reading their request at once from one address. */
  maxPerIp: number;
  /** Most connections open at once in all. */
  maxTotal: number;
}

/** Why a connection was not let in. */
export type GateRefusal = "per-ip" | "total";

/** One connection let in; hand it back to {@linkcode ConnectionGate.close}. */
export interface GateTicket {
  /** The address key it counts against. */
  readonly key: string;
}

interface Ticket extends GateTicket {
  reading: boolean;
  open: boolean;
  evict: () => void;
}

/** Open-connection counts with a per-address and a total ceiling. */
export class ConnectionGate {
  #options: ConnectionGateOptions;
  /** Connections still reading, per address key. */
  #readingPerIp = new Map<string, number>();
  /** Connections still reading, oldest first (a Set keeps insertion order). */
  #reading = new Set<Ticket>();
  #total = 0;

  /** No connections yet. */
  constructor(options: ConnectionGateOptions) {
    this.#options = options;
  }

  /** Connections open now. */
  get total(): number {
    return this.#total;
  }

  /** Connections still reading their request now. */
  get reading(): number {
    return this.#reading.size;
  }

  /**
   * Counts a new connection from address key `key` and returns its ticket,
   * or returns why it is refused (and counts nothing). When the total is
   * full, the oldest connection still reading is evicted first: its `evict`
   * is called and its slot is freed at once.
   */
  open(key: string, evict: () => void = () => {}): GateTicket | GateRefusal {
    const count = this.#readingPerIp.get(key) ?? 0;
    if (count >= this.#options.maxPerIp) return "per-ip";
    if (this.#total >= this.#options.maxTotal) {
      const oldest = this.#reading.values().next();
      if (oldest.done) return "total";
      this.close(oldest.value);
      oldest.value.evict();
    }
    const ticket: Ticket = { key, reading: true, open: true, evict };
    this.#reading.add(ticket);
    this.#readingPerIp.set(key, count + 1);
    this.#total++;
    return ticket;
  }

  /** The connection has read its whole request: it no longer counts against its address. */
  requestRead(ticket: GateTicket): void {
    const entry = ticket as Ticket;
    if (!entry.open || !entry.reading) return;
    entry.reading = false;
    this.#reading.delete(entry);
    this.#uncountReading(entry.key);
  }

  /** Uncounts a connection `open` let in; a second close does nothing. */
  close(ticket: GateTicket): void {
    const entry = ticket as Ticket;
    if (!entry.open) return;
    this.requestRead(entry);
    entry.open = false;
    this.#total--;
  }

  /** Addresses with a connection reading now. */
  get addresses(): number {
    return this.#readingPerIp.size;
  }

  #uncountReading(key: string): void {
    const count = this.#readingPerIp.get(key) ?? 0;
    // Addresses with nothing reading are forgotten, so memory follows open connections.
    if (count <= 1) this.#readingPerIp.delete(key);
    else this.#readingPerIp.set(key, count - 1);
  }
}
