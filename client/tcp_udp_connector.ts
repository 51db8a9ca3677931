/**
 * The session library's connector for Deno: the membership over TCRP (TCP),
 * then the chat datagrams over a UDP socket bound to the IP address the
 * token is bound to and connected to the server's UDP endpoint. This is where the Deno socket APIs live, outside the
 * library; front ends and tools open real sessions with
 * {@linkcode openChatSession}.
 */
import dgram from "node:dgram";
import { formatHostPort, type HostPort } from "../protocol/host_port.ts";
import { fingerprintText } from "../protocol/fingerprint.ts";
import type { CryptoProvider, ServerKeyCheck } from "../protocol/sealed_types.ts";
import type { RoomRequest } from "../protocol/tcrp.ts";
import {
  type Connection,
  type ConnectOptions,
  type Connector,
  type DatagramChannel,
  keepFirstServerKey,
} from "./connector.ts";
import { ChatTransportError } from "./errors.ts";
import { ChatSession, type SessionOptions } from "./session.ts";
import { requestMembership, requestSealedMembership } from "./tcrp_client.ts";

/** Options of {@linkcode TcpUdpConnector}. */
export interface TcpUdpConnectorOptions {
  /**
   * Send datagrams here instead of to the server's host on the UDP port it
   * announces (a fault proxy in tests and the chaos suites).
   */
  udpTarget?: HostPort;
  /** Ask for sealed memberships (docs/protocol.md 6); absent: plain ones. */
  sealed?: SealedConnectorOptions;
}

/** What a sealed {@linkcode TcpUdpConnector} needs. */
export interface SealedConnectorOptions {
  crypto: CryptoProvider;
  /**
   * Judges the server's key on first contact (a pin store: it may pin on
   * first use). The connector calls it once, for the first key it meets,
   * and holds every later request to that key.
   */
  checkServerKey: ServerKeyCheck;
}

/**
 * Connects over TCP + UDP: one TCRP request per membership, then a new UDP
 * socket for its datagrams. UDP loses and reorders, so the channel is not
 * reliable. With `sealed`, each request is a sealed exchange, and the
 * server key first accepted is the only one any later request (a rejoin)
 * accepts: a changed key stops it before the request goes out.
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
  #sealed: SealedConnectorOptions | undefined;

  /** A connector for the server whose TCRP port is at `server`. */
  constructor(server: HostPort, options: TcpUdpConnectorOptions = {}) {
    this.server = server;
    this.#udpTarget = options.udpTarget;
    const sealed = options.sealed;
    this.#sealed = sealed && {
      crypto: sealed.crypto,
      checkServerKey: keepFirstServerKey(
        sealed.checkServerKey,
        (kept, actual) => describeChangedKey(formatHostPort(server), kept, actual, sealed.crypto),
      ),
    };
  }

  /** Sends the request over TCP; on success opens the UDP channel. */
  async connect(request: RoomRequest, options: ConnectOptions): Promise<Connection> {
    if (this.#sealed !== undefined) {
      const answer = await requestSealedMembership(this.server, request, {
        ...options,
        ...this.#sealed,
      });
      const target = this.#udpTarget ??
        { hostname: this.server.hostname, port: answer.accepted.udpPort };
      return {
        accepted: answer.accepted,
        token: new Uint8Array(0),
        channel: await openUdpChannel(answer.localHostname, target),
        reliable: false,
        sealed: answer.session,
      };
    }
    const membership = await requestMembership(this.server, request, options);
    const target = this.#udpTarget ??
      { hostname: this.server.hostname, port: membership.accepted.udpPort };
    return {
      accepted: membership.accepted,
      token: membership.token,
      channel: await openUdpChannel(membership.localHostname, target),
      reliable: false,
    };
  }
}

/** {@linkcode SessionOptions} for a real server: its address instead of a connector. */
export type ServerSessionOptions = Omit<SessionOptions, "connector" | "crypto"> & {
  /** The server's TCRP address. */
  server: HostPort;
  /** Datagrams go here instead of to the server (a fault proxy). */
  udpTarget?: HostPort;
  /** A sealed session (its provider seals the datagrams too); absent: plain. */
  sealed?: SealedConnectorOptions;
};

/** Opens a session with a real server over TCP + UDP. */
export function openChatSession(options: ServerSessionOptions): Promise<ChatSession> {
  const { server, udpTarget, sealed, ...rest } = options;
  return ChatSession.open({
    ...rest,
    crypto: sealed?.crypto,
    connector: new TcpUdpConnector(server, { udpTarget, sealed }),
  });
}

/** How long a closed channel waits at most for sends still on their way before the socket closes. */
const CLOSE_LINGER_MS = 1_000;

/** Datagrams kept for a slow reader; past this, new ones are dropped like lost ones. */
const RECEIVE_QUEUE_DATAGRAMS = 4_096;

/**
 * A UDP socket bound to `localHostname` (the IP our token is bound to) on
 * an ephemeral port and connected (node:dgram `connect`) to one server
 * endpoint: datagrams go there, and only datagrams from exactly that
 * address and port are received.
 *
 * Deno 2.9.6's node:dgram `connect` does not connect the kernel socket (it
 * stays unconnected, `ss` shows no peer, and a datagram from another port
 * is delivered), so the kernel does not filter: this channel drops every
 * datagram whose source is not the connected address and port itself.
 * Before, only the port was compared, so any host could send from the
 * server's port.
 */
export async function openUdpChannel(
  localHostname: string,
  server: HostPort,
): Promise<DatagramChannel> {
  const socket = dgram.createSocket(localHostname.includes(":") ? "udp6" : "udp4");
  const queue: Uint8Array[] = [];
  let waiting: ((bytes: Uint8Array | null) => void) | null = null;
  let closed = false;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, localHostname, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.connect(server.port, server.hostname, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    socket.close();
    throw new ChatTransportError(
      `cannot open a UDP socket to ${server.hostname}:${server.port}: ${describe(error)}`,
      { cause: error },
    );
  }
  let inFlight = 0;
  let lingering: ReturnType<typeof setTimeout> | undefined;
  let socketClosed = false;
  const closeSocket = () => {
    clearTimeout(lingering);
    if (socketClosed) return;
    socketClosed = true;
    try {
      socket.close();
    } catch { /* already closed */ }
  };
  const remote = socket.remoteAddress();
  const local = socket.address();
  socket.on("message", (message: Uint8Array, from: { address: string; port: number }) => {
    if (closed || from.port !== remote.port || from.address !== remote.address) return;
    const bytes = new Uint8Array(message); // a copy: the session may keep it
    if (waiting !== null) {
      const wake = waiting;
      waiting = null;
      wake(bytes);
    } else if (queue.length < RECEIVE_QUEUE_DATAGRAMS) {
      queue.push(bytes);
    }
  });
  // ICMP "port unreachable" and the like: UDP loss, which the session handles by retrying.
  socket.on("error", () => {});
  return {
    local: { hostname: local.address, port: local.port },
    send(bytes) {
      if (closed) return;
      try {
        inFlight++;
        // Loss is retransmission's business; the callback only says the send is done.
        socket.send(bytes, () => {
          inFlight--;
          if (closed && inFlight === 0) closeSocket();
        });
      } catch {
        inFlight--; // the socket is closing
      }
    },
    receive() {
      const next = queue.shift();
      if (next !== undefined) return Promise.resolve(next);
      if (closed) return Promise.resolve(null);
      return new Promise((resolve) => (waiting = resolve));
    },
    close() {
      if (closed) return;
      closed = true;
      queue.length = 0;
      const wake = waiting;
      waiting = null;
      wake?.(null);
      // node:dgram sends asynchronously, and closing the socket cancels what
      // is still on its way: the LEAVE sent just before a close was lost.
      if (inFlight === 0) closeSocket();
      else lingering = setTimeout(closeSocket, CLOSE_LINGER_MS);
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What a rejoin says when the server proves a key other than the one this
 * session first accepted: both fingerprints, and the command that accepts the
 * new key on purpose (a rejoin never does so by itself).
 */
export function describeChangedKey(
  address: string,
  kept: Uint8Array,
  actual: Uint8Array,
  crypto: CryptoProvider,
): string {
  const now = fingerprintText(crypto, actual);
  // One line: it ends up in a close event, which front ends print made safe (a
  // newline would show as U+FFFD).
  return `the server at ${address} proved a key other than the one this session first ` +
    `connected with (before ${fingerprintText(crypto, kept)}, now ${now}); nothing was sent. ` +
    "Someone may be posing as the server; if its operator changed the key on purpose, accept " +
    `the new one with \`chat trust ${address} ${now}\` and join again.`;
}
