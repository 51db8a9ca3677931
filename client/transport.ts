/**
 * How a session reaches the server's UDP port. The session speaks only to
 * this interface, so its protocol logic can run over a fake in tests.
 */
export interface DatagramTransport {
  /** Sends one datagram to the server; never waits, never throws for loss. */
  send(bytes: Uint8Array): void;
  /** The next datagram from the server, or null once closed. */
  receive(): Promise<Uint8Array | null>;
  /** Closes the socket; a pending receive resolves null. */
  close(): void;
  /** Our end of the socket, when there is one (a fault proxy can single it out). */
  readonly local?: { hostname: string; port: number };
}

// Larger than any legal datagram, so an oversized one is seen (and rejected) whole.
const RECEIVE_BUFFER_BYTES = 65_536;

/**
 * A UDP socket bound to `localHostname` (the IP our token is bound to) on
 * an ephemeral port, talking to one server endpoint. Datagrams from any
 * other source are ignored.
 */
export function openUdpTransport(
  localHostname: string,
  server: { hostname: string; port: number },
): DatagramTransport {
  const conn = Deno.listenDatagram({ hostname: localHostname, port: 0, transport: "udp" });
  const target = { transport: "udp" as const, hostname: server.hostname, port: server.port };
  const buffer = new Uint8Array(RECEIVE_BUFFER_BYTES);
  let closed = false;
  const local = conn.addr as Deno.NetAddr;
  return {
    local: { hostname: local.hostname, port: local.port },
    send(bytes) {
      if (closed) return;
      conn.send(bytes, target).catch(() => {/* loss is handled by retransmission */});
    },
    async receive() {
      while (!closed) {
        try {
          const [bytes, addr] = await conn.receive(buffer);
          const from = addr as Deno.NetAddr;
          if (from.port !== server.port) continue;
          return bytes.slice();
        } catch (error) {
          if (closed || error instanceof Deno.errors.BadResource) return null;
          // ICMP "port unreachable" can surface as a receive error; the session retries.
        }
      }
      return null;
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* already closed */ }
    },
  };
}
