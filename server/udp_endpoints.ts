/**
 * Plain UDP as an {@linkcode EndpointTransport}: an endpoint is a source IP
 * and port; a token acts only from the IP it was issued to; any
 * authenticated datagram moves the member's endpoint (a NAT that changes the
 * port heals itself); the kernel, not a queue of ours, drops what does not
 * fit, so every endpoint can always take more.
 *
 * @module
 */
import type { HostPort } from "../protocol/host_port.ts";
import type { DatagramSocket } from "./datagram_socket.ts";
import type { Endpoint, EndpointTransport } from "./endpoint.ts";

/** A UDP source or destination, as the registry sees it. */
export class UdpEndpoint implements Endpoint, HostPort {
  readonly transport: UdpTransport;
  readonly addressKey: string;
  readonly hostname: string;
  readonly port: number;

  /** An endpoint of `transport` at hostname:port. */
  constructor(transport: UdpTransport, hostname: string, port: number, addressKey: string) {
    this.transport = transport;
    this.hostname = hostname;
    this.port = port;
    this.addressKey = addressKey;
  }

  /** The IP: what a token is bound to. */
  get address(): string {
    return this.hostname;
  }
}

/** The server's UDP socket as a transport for the endpoint router. */
export class UdpTransport implements EndpointTransport {
  readonly name = "udp";
  #socket: DatagramSocket;
  #addressKeyOf: (ip: string) => string;
  #lastIp = "";
  #lastKey = "";

  /** Sends through `socket`; `addressKeyOf` gives each source IP its per-address key. */
  constructor(socket: DatagramSocket, addressKeyOf: (ip: string) => string) {
    this.#socket = socket;
    this.#addressKeyOf = addressKeyOf;
  }

  /** The endpoint a datagram came from. */
  endpointOf(from: HostPort): UdpEndpoint {
    // A batch usually holds runs from one source: skip recomputing its key.
    if (from.hostname !== this.#lastIp) {
      this.#lastIp = from.hostname;
      this.#lastKey = this.#addressKeyOf(from.hostname);
    }
    return new UdpEndpoint(this, from.hostname, from.port, this.#lastKey);
  }

  authenticates(boundAddress: string, candidate: Endpoint): boolean {
    return candidate.address === boundAddress;
  }

  movesTo(): boolean {
    return true;
  }

  canSend(): boolean {
    return true;
  }

  queue(bytes: Uint8Array, to: readonly Endpoint[]): void {
    // Only UdpEndpoints reach here: the router groups endpoints by their transport.
    this.#socket.send(bytes, to as readonly UdpEndpoint[]);
  }

  flush(): void {
    this.#socket.flush();
  }
}
