/**
 * Counts open TCRP connections per address (address_key.ts) and in all, so that one address
 * cannot hold every handshake slot (slowloris) and many addresses together
 * cannot exhaust the server's file descriptors.
 */

/** Limits of a {@linkcode ConnectionGate}. */
export interface ConnectionGateOptions {
  /** Most connections open at once from one address. */
  maxPerIp: number;
  /** Most connections open at once in all. */
  maxTotal: number;
}

/** Why a connection was not let in. */
export type GateRefusal = "per-ip" | "total";

/** Open-connection counts with a per-address and a total ceiling. */
export class ConnectionGate {
  #options: ConnectionGateOptions;
  #perIp = new Map<string, number>();
  #total = 0;

  /** No connections yet. */
  constructor(options: ConnectionGateOptions) {
    this.#options = options;
  }

  /** Connections open now. */
  get total(): number {
    return this.#total;
  }

  /**
   * Counts a new connection from `ip` and returns null, or returns why it is
   * refused (and counts nothing).
   */
  open(ip: string): GateRefusal | null {
    const count = this.#perIp.get(ip) ?? 0;
    if (count >= this.#options.maxPerIp) return "per-ip";
    if (this.#total >= this.#options.maxTotal) return "total";
    this.#perIp.set(ip, count + 1);
    this.#total++;
    return null;
  }

  /** Uncounts a connection `open` let in. */
  close(ip: string): void {
    const count = this.#perIp.get(ip) ?? 0;
    if (count <= 0) return;
    // Addresses with nothing open are forgotten, so memory follows open connections.
    if (count === 1) this.#perIp.delete(ip);
    else this.#perIp.set(ip, count - 1);
    this.#total--;
  }

  /** Addresses with a connection open now. */
  get addresses(): number {
    return this.#perIp.size;
  }
}
