/**
 * How one connection's datagrams are protected on the wire, behind one
 * interface the session talks through: plain (room name and token in every
 * datagram, nothing authenticated: docs/protocol.md 4) or sealed (the
 * member and room channels of `sealed_channel.ts`: 6.3). The session picks
 * one per connection from its `sealed` params; the crypto provider is
 * injected, never imported.
 *
 * Before sealed sessions this file held a generic transform hook around
 * every datagram. Sealing needs more than a transform can know (which
 * channel a datagram came by, epoch keys arriving in WELCOME and KEY, a
 * fresh counter at each retransmission), so the hook gave way to this.
 */
import {
  type ClientBody,
  decodeServerDatagram,
  encodeClientDatagram,
  type ServerBody,
} from "../protocol/datagram.ts";
import { ProtocolError } from "../protocol/errors.ts";
import { encodeSealedClientBody, MEMBER_OVERHEAD_BYTES } from "../protocol/sealed_datagram.ts";
import type { CryptoProvider } from "../protocol/sealed_types.ts";
import type { Connection, DatagramChannel } from "./connector.ts";
import type { Scheduler } from "./scheduler.ts";
import { type EventBody, type MemberBody, SealedChannel } from "./sealed_channel.ts";

/**
 * What arrived: a plain datagram (anyone could have sent it), or an
 * authenticated one from the member or the room channel, or a stateless
 * reset for this session.
 */
export type Inbound =
  | { from: "plain"; body: ServerBody }
  | { from: "member"; body: MemberBody }
  | { from: "room"; body: EventBody }
  | { from: "reset" };

/** One connection's datagrams, as the session sees them. */
export interface DatagramLink {
  /** True when what {@linkcode receive} yields is authenticated (sealed). */
  readonly sealed: boolean;
  /**
   * The bytes {@linkcode send} takes for `body`: kept by the outbox and
   * passed again for each retransmission. Throws RangeError when the whole
   * datagram (for sealed: with marker, header and tag) would be over the
   * server's maxDatagramBytes.
   */
  encode(body: ClientBody): Uint8Array;
  /** Puts `encode`d bytes on the wire; sealed, under a fresh counter each time. */
  send(bytes: Uint8Array): void;
  /** The next datagram the session should look at, or null once closed; garbage is skipped. */
  receive(): Promise<Inbound | null>;
  /** When an authenticated datagram last arrived (sealed); -Infinity for plain. */
  readonly heardAt: number;
  /**
   * Carries on over `channel` (a new socket for the same membership, on a
   * reliable connection): counters, replay windows and epoch keys stay. The
   * channel before is not closed here; a {@linkcode receive} still waiting
   * on it resolves null once it closes, and what it brings after the
   * switch is dropped (the resume asks for it again).
   */
  switchTo(channel: DatagramChannel): void;
  close(): void;
}

/**
 * The channel a link talks through, which a resume replaces: one socket
 * after another for one membership.
 */
class ChannelSlot implements DatagramChannel {
  #current: DatagramChannel;
  #closed = false;

  constructor(channel: DatagramChannel) {
    this.#current = channel;
  }

  get local(): DatagramChannel["local"] {
    return this.#current.local;
  }

  get closeInfo(): DatagramChannel["closeInfo"] {
    return this.#current.closeInfo;
  }

  switchTo(channel: DatagramChannel): void {
    if (this.#closed) {
      channel.close();
      return;
    }
    this.#current = channel;
  }

  send(bytes: Uint8Array): void {
    this.#current.send(bytes);
  }

  async receive(): Promise<Uint8Array | null> {
    const channel = this.#current;
    const bytes = await channel.receive();
    // A late datagram of a socket already replaced: the new socket's resume covers it.
    return channel === this.#current ? bytes : null;
  }

  close(): void {
    this.#closed = true;
    this.#current.close();
  }
}

/** The plain link: every datagram names the room and carries the token. */
export function plainLink(connection: Connection, room: string): DatagramLink {
  const { token, accepted } = connection;
  const channel = new ChannelSlot(connection.channel);
  return {
    sealed: false,
    heardAt: -Infinity,
    encode(body) {
      const bytes = encodeClientDatagram({ roomName: room, token, body });
      checkSize(bytes.length, accepted.maxDatagramBytes);
      return bytes;
    },
    send: (bytes) => channel.send(bytes),
    async receive() {
      while (true) {
        const bytes = await channel.receive();
        if (bytes === null) return null;
        try {
          return { from: "plain", body: decodeServerDatagram(bytes) };
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error; // garbage is dropped, as the server does
        }
      }
    },
    switchTo: (next) => channel.switchTo(next),
    close: () => channel.close(),
  };
}

/** What a sealed link needs besides the connection (whose `sealed` params it uses). */
export interface SealedLinkOptions {
  crypto: CryptoProvider;
  scheduler: Scheduler;
  /** HELLO, to ask for an epoch key we missed (rate limited by the channel). */
  askForKey: () => void;
  /** The member channel's counter is used up. */
  exhausted: () => void;
  /** Tests: the first member counter. */
  firstCounter?: number;
}

/** The sealed link over `connection`, which must carry `sealed` params. */
export function sealedLink(connection: Connection, options: SealedLinkOptions): DatagramLink {
  const params = connection.sealed;
  if (params === undefined) throw new TypeError("a sealed link needs a sealed connection");
  const { maxDatagramBytes } = connection.accepted;
  const slot = new ChannelSlot(connection.channel);
  const channel = new SealedChannel({
    channel: slot,
    params,
    maxDatagramBytes,
    ...options,
  });
  return {
    sealed: true,
    get heardAt() {
      return channel.heardAt;
    },
    encode(body) {
      const inner = encodeSealedClientBody(body);
      checkSize(inner.length + MEMBER_OVERHEAD_BYTES, maxDatagramBytes);
      return inner;
    },
    send: (inner) => channel.send(inner),
    receive: () => channel.receive(),
    switchTo: (next) => slot.switchTo(next),
    close: () => channel.close(),
  };
}

function checkSize(size: number, maxDatagramBytes: number): void {
  if (size > maxDatagramBytes) {
    throw new RangeError(
      `message is ${size} bytes with headers; the server takes ${maxDatagramBytes}`,
    );
  }
}
