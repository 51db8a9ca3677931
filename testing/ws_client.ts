/**
 * A sealed member over a WebSocket made by hand for the server's tests: the
 * client's own sealed exchange (client/sealed_exchange.ts) over a frame
 * stream of binary messages, then sealed datagrams sealed and opened with
 * the codecs (server/sealed/sealed_client_test_util.ts), one per message.
 * The socket is a {@linkcode MessagePipe}: Deno's WebSocket
 * ({@linkcode openWebSocketPipe}), or a test's fake connection.
 */
import { nodeCrypto } from "../crypto/node_crypto.ts";
import {
  type FrameStream,
  sealedListExchange,
  sealedRoomExchange,
} from "../client/sealed_exchange.ts";
import { EventType, type ServerBody } from "../protocol/datagram.ts";
import type { SealedClientBody } from "../protocol/sealed_datagram.ts";
import type { ServerKeyCheck } from "../protocol/sealed_types.ts";
import {
  type ListRequest,
  Operation,
  type RoomList,
  type RoomRequest,
  type TcrpFrame,
  TcrpFrameParser,
} from "../protocol/tcrp.ts";
import { bodyOf, type Opened, SealedTestClient } from "../server/sealed/sealed_client_test_util.ts";

/** How a socket closed. */
export interface PipeClose {
  code: number;
  reason: string;
}

/** Binary messages both ways over one socket. */
export interface MessagePipe {
  send(bytes: Uint8Array): void;
  /** The next message from the server, or null once the socket closed (or after `timeoutMs`). */
  receive(timeoutMs?: number): Promise<Uint8Array | null>;
  /** Resolves when the socket has closed, with the code the server sent. */
  readonly closed: Promise<PipeClose>;
  close(code?: number, reason?: string): void;
}

/** The subprotocol bots and tests offer. */
export const TEST_SUBPROTOCOL = "chat.ws.1";

/** Messages of a socket, in order, with a receive that waits. */
export class MessageQueue {
  #messages: Uint8Array[] = [];
  #waiters: ((message: Uint8Array | null) => void)[] = [];
  #ended = false;

  /** A message arrived. */
  push(message: Uint8Array): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(message);
    else this.#messages.push(message);
  }

  /** No more will come. */
  end(): void {
    this.#ended = true;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
  }

  /** The next message, or null when the socket closed or `timeoutMs` passed. */
  receive(timeoutMs = 5_000): Promise<Uint8Array | null> {
    const message = this.#messages.shift();
    if (message !== undefined) return Promise.resolve(message);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter = (m: Uint8Array | null) => {
        clearTimeout(timer);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(null);
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Messages waiting now. */
  get length(): number {
    return this.#messages.length;
  }
}

/** Deno's WebSocket to `url` as a pipe, once it is open (rejects if it closes first). */
export function openWebSocketPipe(
  url: string,
  protocols: string | string[] = TEST_SUBPROTOCOL,
): Promise<MessagePipe> {
  const socket = new WebSocket(url, protocols);
  socket.binaryType = "arraybuffer";
  const queue = new MessageQueue();
  const closed = new Promise<PipeClose>((resolve) => {
    socket.onclose = (event) => {
      queue.end();
      resolve({ code: event.code, reason: event.reason });
    };
  });
  socket.onmessage = (event) => {
    queue.push(
      typeof event.data === "string"
        ? new TextEncoder().encode(event.data)
        : new Uint8Array(event.data as ArrayBuffer),
    );
  };
  const pipe: MessagePipe = {
    send: (bytes) => socket.send(bytes),
    receive: (timeoutMs) => queue.receive(timeoutMs),
    closed,
    close: (code, reason) => socket.close(code, reason),
  };
  return new Promise((resolve, reject) => {
    socket.onopen = () => resolve(pipe);
    socket.onerror = () => {};
    closed.then((info) => reject(new Error(`closed before open: ${info.code} ${info.reason}`)));
  });
}

/** The pipe as the frame stream of a sealed exchange: one TCRP frame per message. */
export function frameStreamOf(pipe: MessagePipe): FrameStream {
  return {
    write(bytes) {
      pipe.send(bytes);
      return Promise.resolve();
    },
    async read(): Promise<TcrpFrame | null> {
      const message = await pipe.receive();
      if (message === null) return null;
      const frames = new TcrpFrameParser({ maxPayloadBytes: 1 << 20 }).push(message);
      if (frames.length !== 1) throw new Error("a server message that is not one TCRP frame");
      return frames[0]!;
    },
  };
}

/** Trusts exactly `key`. */
export function trustingKey(key: Uint8Array): ServerKeyCheck {
  return (proved) => {
    if (proved.length !== key.length || proved.some((b, i) => b !== key[i])) {
      throw new Error("not the server's key");
    }
  };
}

/** A sealed room list over a fresh socket. */
export async function listOverWebSocket(
  pipe: MessagePipe,
  serverKey: Uint8Array,
  request: ListRequest = { operation: Operation.LIST_ROOMS },
): Promise<RoomList> {
  const { list } = await sealedListExchange(frameStreamOf(pipe), request, {
    crypto: nodeCrypto,
    checkServerKey: trustingKey(serverKey),
  });
  return list;
}

/** A sealed member whose socket is a pipe. */
export class WsTestMember {
  readonly client: SealedTestClient;
  pipe: MessagePipe;
  /** Every server body opened so far, in order (EVENTs, ACKs, WELCOMEs...). */
  readonly bodies: ServerBody[] = [];

  /** A member holding `client`'s keys on `pipe`. */
  constructor(client: SealedTestClient, pipe: MessagePipe) {
    this.client = client;
    this.pipe = pipe;
  }

  /** Creates or joins with a sealed exchange over `pipe`; the member, not yet welcomed. */
  static async admit(
    pipe: MessagePipe,
    request: RoomRequest,
    serverKey: Uint8Array,
  ): Promise<WsTestMember> {
    const { session } = await sealedRoomExchange(frameStreamOf(pipe), request, {
      crypto: nodeCrypto,
      checkServerKey: trustingKey(serverKey),
    });
    return new WsTestMember(new SealedTestClient(nodeCrypto, session, session.signingKey), pipe);
  }

  /** Seals `body` with the next counter and sends it. */
  send(body: SealedClientBody): void {
    this.pipe.send(this.client.seal(body));
  }

  /**
   * Opens messages until `wanted` matches a body (kept in `bodies`) or the
   * socket closes or goes quiet for `timeoutMs`: the match, or null.
   */
  async until(
    wanted: (body: ServerBody) => boolean,
    timeoutMs = 5_000,
  ): Promise<ServerBody | null> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return null;
      const message = await this.pipe.receive(left);
      if (message === null) return null;
      const body = bodyOf(this.open(message));
      if (body === null) continue;
      this.bodies.push(body);
      if (wanted(body)) return body;
    }
  }

  /** What one server message means to this member (null: not for it). */
  open(message: Uint8Array): Opened | null {
    return this.client.open(message);
  }

  /** HELLO, then its WELCOME. */
  async hello(lastSeq = 0): Promise<void> {
    this.send({ kind: "hello", lastSeq });
    if (await this.until((b) => b.kind === "welcome") === null) throw new Error("no WELCOME");
  }

  /** The texts of the message EVENTs received so far, in order. */
  get texts(): string[] {
    return this.bodies.flatMap((b) =>
      b.kind === "event" && b.type === EventType.MESSAGE ? [b.text] : []
    );
  }
}
