/**
 * Sealed members on loopback sockets against a real test server, made by
 * hand from the codecs (sealed_client_test_util.ts): a socket that counts
 * bytes both ways, a member that can change sockets to roam, and a scene
 * (server, members, teardown) that admits members the way the sealed
 * handshake does (the registry, then the session issuer).
 */
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import type { SealedClientBody } from "../../protocol/sealed_datagram.ts";
import { startTestServer, type TestServer } from "../../testing/test_server.ts";
import { waitUntil } from "../../testing/wait.ts";
import { bodyOf, type Opened, SealedTestClient } from "./sealed_client_test_util.ts";

/** A UDP socket of a test member, counting bytes both ways, receiving in the background. */
export class Socket {
  readonly received: Uint8Array[] = [];
  bytesIn = 0;
  bytesOut = 0;
  #conn: Deno.DatagramConn;
  #server: Deno.NetAddr;
  #loop: Promise<void>;

  constructor(server: TestServer, hostname = "127.0.0.1") {
    this.#server = server.udpAddr;
    const conn = this.#conn = Deno.listenDatagram({ hostname, port: 0, transport: "udp" });
    this.#loop = (async () => {
      try {
        for (;;) {
          const [bytes] = await conn.receive();
          this.bytesIn += bytes.length;
          this.received.push(bytes.slice());
        }
      } catch { /* closed */ }
    })();
  }

  get address(): string {
    const addr = this.#conn.addr as Deno.NetAddr;
    return `${addr.hostname}:${addr.port}`;
  }

  async send(bytes: Uint8Array): Promise<void> {
    this.bytesOut += bytes.length;
    await this.#conn.send(bytes, {
      transport: "udp",
      hostname: "127.0.0.1",
      port: this.#server.port,
    });
  }

  async close(): Promise<void> {
    this.#conn.close();
    await this.#loop;
  }
}

/** A member: its keys and a socket (which it may change, to roam). */
export class Member {
  readonly client: SealedTestClient;
  socket: Socket;
  /** Everything opened so far, in arrival order, per socket read. */
  readonly opened: Opened[] = [];
  #read = new Map<Socket, number>();

  constructor(client: SealedTestClient, socket: Socket) {
    this.client = client;
    this.socket = socket;
  }

  send(body: SealedClientBody): Promise<void> {
    return this.socket.send(this.client.seal(body));
  }

  /** Opens what arrived on `socket` since the last look; unreadable datagrams are skipped. */
  drain(socket = this.socket): Opened[] {
    const from = this.#read.get(socket) ?? 0;
    const fresh = socket.received.slice(from);
    this.#read.set(socket, socket.received.length);
    const opened = fresh.map((bytes) => this.client.open(bytes)).filter((o) => o !== null);
    this.opened.push(...opened);
    return opened;
  }

  /** Waits until a datagram that `match` accepts has arrived (on `socket`); returns it. */
  async expect(
    match: (opened: Opened) => boolean,
    what: string,
    socket: Socket = this.socket,
  ): Promise<Opened> {
    let found: Opened | undefined;
    await waitUntil(() => {
      found ??= this.drain(socket).find(match);
      return found !== undefined;
    }, what);
    return found!;
  }

  /**
   * HEARTBEAT, then its heartbeatAck: everything sent to the server before
   * it (from any socket) has been handled. Returns what was opened meanwhile.
   */
  async barrier(socket = this.socket): Promise<Opened[]> {
    await socket.send(this.client.seal({ kind: "heartbeat", lastSeq: 1_000_000 }));
    const seen: Opened[] = [];
    await waitUntil(() => {
      seen.push(...this.drain(socket));
      return seen.some((o) => bodyOf(o)?.kind === "heartbeatAck");
    }, "a heartbeatAck");
    return seen;
  }
}

/** What an opened datagram is, in a word ("welcome", "key", "ack", "event", "reset"...). */
export const kindOf = (opened: Opened): string =>
  opened.channel === "member" && opened.control.kind !== "body"
    ? opened.control.kind
    : bodyOf(opened)?.kind ?? opened.channel;

/** A server, sealed rooms and members, and their teardown. */
export class Scene {
  readonly server: TestServer;
  readonly sockets: Socket[] = [];
  readonly nonces: string[] = [];

  constructor() {
    this.server = startTestServer(
      { unauthenticatedRate: 5, allowPlaintext: false, rateLimit: 0 },
      {
        onSeal: (key, nonce) =>
          this.nonces.push(`${Array.from(key).join(",")}/${Array.from(nonce).join(",")}`),
      },
    );
  }

  socket(hostname = "127.0.0.1"): Socket {
    const socket = new Socket(this.server, hostname);
    this.sockets.push(socket);
    return socket;
  }

  /** Admits `username` to the sealed room (creating it), as the sealed handshake would. */
  async member(room: string, username: string, create = false): Promise<Member> {
    const { registry, sealed } = this.server;
    const peer = { address: "127.0.0.1", addressKey: "127.0.0.1" };
    const request = { roomName: room, username, peer, protocol: 2, sealed: true };
    const result = create
      ? registry.create({ ...request, password: null, capacity: null })
      : registry.join({ ...request, passwordProof: null });
    if (!result.ok) throw new Error(result.error);
    const issued = sealed.sessions.issue(result.token, room);
    const member = new Member(
      new SealedTestClient(nodeCrypto, issued, sealed.sessions.signingKey),
      this.socket(),
    );
    await member.send({ kind: "hello", lastSeq: 0 });
    await member.expect((o) => kindOf(o) === "welcome", `${username}'s WELCOME`);
    return member;
  }

  async close(): Promise<void> {
    await this.server.shutdown();
    for (const socket of this.sockets) await socket.close();
  }
}
