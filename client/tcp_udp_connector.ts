/**
 * The session library's connector for Deno: the membership over TCRP (TCP),
 * then the chat datagrams over a UDP socket bound to the IP address the
 * token is bound to. This is where the Deno socket APIs live, outside the
 * library; front ends and tools open real sessions with
 * {@linkcode openChatSession}.
 */
import type { HostPort } from "../protocol/host_port.ts";
import type { Connection, ConnectOptions, Connector, DatagramChannel } from "./connector.ts";
import type { RoomRequest } from "../protocol/tcrp.ts";
import { ChatSession, type SessionOptions } from "./session.ts";
import { requestMembership } from "./tcrp_client.ts";

/** Options of {@linkcode TcpUdpConnector}. */
export interface TcpUdpConnectorOptions {
  /**
   * Send datagrams here instead of to the server's host on the UDP port it
   * announces (a fault proxy in tests and the chaos suites).
   */
  udpTarget?: HostPort;
}

/**
 * Connects over TCP + UDP: one TCRP request per membership, then a new UDP
 * socket for its datagrams. UDP loses and reorders, so the channel is not
 * reliable.
 *
 * @example
 * ```ts
 * const connector = new TcpUdpConnector({ hostname: "127.0.0.1", port: 9001 });
 * const session = await ChatSession.open({ connector, create: true, room: "general", username: "ann" });
 * ```
 */
export class TcpUdpConnector implements Connector {
  /** The server's TCRP address. */
  readonly server: HostPort;
  #udpTarget: HostPort | undefined;

  /** A connector for the server whose TCRP port is at `server`. */
  constructor(server: HostPort, options: TcpUdpConnectorOptions = {}) {
    this.server = server;
    this.#udpTarget = options.udpTarget;
  }

  /** Sends the request over TCP; on success opens the UDP channel. */
  async connect(request: RoomRequest, options: ConnectOptions): Promise<Connection> {
    const membership = await requestMembership(this.server, request, options);
    const target = this.#udpTarget ??
      { hostname: this.server.hostname, port: membership.accepted.udpPort };
    return {
      accepted: membership.accepted,
      token: membership.token,
      channel: openUdpChannel(membership.localHostname, target),
      reliable: false,
    };
  }
}

/** {@linkcode SessionOptions} for a real server: its address instead of a connector. */
export type ServerSessionOptions = Omit<SessionOptions, "connector"> & {
  /** The server's TCRP address. */
  server: HostPort;
  /** Datagrams go here instead of to the server (a fault proxy). */
  udpTarget?: HostPort;
};

/** Opens a session with a real server over TCP + UDP. */
export function openChatSession(options: ServerSessionOptions): Promise<ChatSession> {
  const { server, udpTarget, ...rest } = options;
  return ChatSession.open({ ...rest, connector: new TcpUdpConnector(server, { udpTarget }) });
}

// Larger than any legal datagram, so an oversized one is seen (and rejected) whole.
const RECEIVE_BUFFER_BYTES = 65_536;

/**
 * A UDP socket bound to `localHostname` (the IP our token is bound to) on
 * an ephemeral port, talking to one server endpoint. Datagrams from any
 * other source port are ignored.
 */
export function openUdpChannel(localHostname: string, server: HostPort): DatagramChannel {
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
