/**
 * A chat member for the chaos suites: a real sealed ChatSession (optionally
 * sending its datagrams through a fault proxy) that trusts only the suite's
 * server key and records every event it hands out, and the checks every
 * suite makes on what a member was shown.
 */
import type { Connector } from "../../client/connector.ts";
import { ChatSession, type SessionEvent, type SessionTimings } from "../../client/session.ts";
import { TcpUdpConnector } from "../../client/tcp_udp_connector.ts";
import type { HostPort } from "../../protocol/host_port.ts";
import { sameBytes } from "../../protocol/sealed_datagram.ts";
import {
  type CryptoProvider,
  type ServerKeyCheck,
  ServerKeyMismatchError,
} from "../../protocol/sealed_types.ts";
import type { FaultProxy } from "../fault_proxy.ts";

/** A key check that accepts `serverKey` only: the suite started that server itself. */
export function trustOnly(serverKey: Uint8Array): ServerKeyCheck {
  return (proved) => {
    if (!sameBytes(proved, serverKey)) {
      throw new ServerKeyMismatchError(
        serverKey,
        proved,
        "the chaos server proved a key other than the one the suite gave it",
      );
    }
  };
}

/** How a member gets in. */
export interface ChaosMemberOptions {
  tcpPort: number;
  room: string;
  name: string;
  create: boolean;
  /** Datagrams go through this proxy when given. */
  proxy?: FaultProxy;
  timings?: Partial<SessionTimings>;
  /** Seals with this provider (the suite's audited one)... */
  crypto: CryptoProvider;
  /** ...and trusts this server key only. */
  serverKey: Uint8Array;
}

/** What one member was shown, judged against what was sent. */
export interface DeliveryCheck {
  /** Distinct expected messages shown. */
  received: number;
  /** Expected messages never shown. */
  missing: number;
  /** Messages shown more than once (extra showings). */
  duplicates: number;
  /** Events shown out of seq order within one connection to a server. */
  outOfOrder: number;
  /** Each of the above that is not zero, and own messages not delivered and gaps given up on, in words. */
  problems: string[];
}

/** What {@linkcode checkSenderOrder} looks at: a member's name, what it sent, what it was shown. */
export interface SenderRecord {
  readonly name: string;
  readonly sent: readonly string[];
  readonly events: readonly SessionEvent[];
}

/** Per-sender order across members: what {@linkcode checkSenderOrder} found. */
export interface SenderOrderCheck {
  /** (receiver, sender) pairs looked at. */
  pairs: number;
  /** Pairs whose messages were all shown in the order sent, none twice. */
  inOrder: number;
  /** Messages shown before one sent earlier by the same sender (or again). */
  outOfOrder: number;
  /** Messages a receiver never saw whose sender was not told "undelivered". */
  missingUnreported: number;
  /** Each of the above that is wrong, in words. */
  problems: string[];
}

/** A session plus the record of what it handed out. */
export class ChaosMember {
  readonly name: string;
  readonly session: ChatSession;
  readonly events: SessionEvent[] = [];
  /** Texts sent through {@linkcode send}, in order. */
  readonly sent: string[] = [];
  readonly done: Promise<void>;
  #local: () => HostPort | undefined;

  private constructor(name: string, session: ChatSession, local: () => HostPort | undefined) {
    this.name = name;
    this.session = session;
    this.#local = local;
    this.done = (async () => {
      for await (const event of session) this.events.push(event);
    })();
  }

  /** Creates or joins the room. */
  static async open(options: ChaosMemberOptions): Promise<ChaosMember> {
    let local: HostPort | undefined;
    // Set once the member exists; the connector tells it of the channels that come after.
    const made: { member?: ChaosMember } = {};
    const tcpUdp = new TcpUdpConnector(
      { hostname: "127.0.0.1", port: options.tcpPort },
      {
        udpTarget: options.proxy?.addr,
        sealed: { crypto: options.crypto, checkServerKey: trustOnly(options.serverKey) },
      },
    );
    // Notes each new channel's address, which the fault proxy can silence.
    const connector: Connector = {
      connect: async (request, connectOptions) => {
        const connection = await tcpUdp.connect(request, connectOptions);
        local = connection.channel.local;
        if (local !== undefined) made.member?.onChannel?.(local);
        return connection;
      },
    };
    const session = await ChatSession.open({
      connector,
      create: options.create,
      room: options.room,
      username: options.name,
      timings: options.timings,
      crypto: options.crypto,
    });
    made.member = new ChaosMember(options.name, session, () => local);
    return made.member;
  }

  /**
   * Told the address of every new UDP channel after the first (a rejoin
   * opens one), so a suite can keep a member's whole network silent.
   */
  onChannel: ((local: HostPort) => void) | null = null;

  /** Our current UDP endpoint (it changes when the session rejoins). */
  get local(): HostPort {
    const local = this.#local();
    if (local === undefined) throw new Error(`${this.name} has no UDP socket`);
    return local;
  }

  /** Events of one type. */
  of<T extends SessionEvent["type"]>(type: T): (SessionEvent & { type: T })[] {
    return this.events.filter((e): e is SessionEvent & { type: T } => e.type === type);
  }

  /** Sends a message, remembering its text and place for {@linkcode checkSenderOrder}. */
  send(text: string): number {
    this.sent.push(text);
    return this.session.send(text);
  }

  /** Texts of the messages shown, in order. */
  texts(): string[] {
    return this.of("message").map((m) => m.text);
  }

  /** Compares what this member was shown with the texts everyone sent. */
  check(expected: Iterable<string>): DeliveryCheck {
    const shown = new Map<string, number>();
    for (const text of this.texts()) shown.set(text, (shown.get(text) ?? 0) + 1);
    let received = 0;
    let missing = 0;
    for (const text of expected) {
      if (shown.has(text)) received++;
      else missing++;
    }
    let duplicates = 0;
    for (const count of shown.values()) duplicates += count - 1;
    let outOfOrder = 0;
    let lastSeq = 0;
    for (const event of this.events) {
      if (event.type === "welcome") lastSeq = 0; // a new server's seqs start again
      if (!("seq" in event) || event.type === "delivered") continue;
      if (event.seq <= lastSeq) outOfOrder++;
      lastSeq = event.seq;
    }
    const undelivered = this.of("undelivered").length;
    const missed = this.of("missed").length;
    const problems = [
      missing > 0 && `${missing} messages never shown`,
      duplicates > 0 && `${duplicates} shown twice`,
      outOfOrder > 0 && `${outOfOrder} out of seq order`,
      undelivered > 0 && `${undelivered} of its own reported not delivered`,
      missed > 0 && `gaps given up on: ${missed}`,
    ].filter((p): p is string => typeof p === "string");
    return { received, missing, duplicates, outOfOrder, problems };
  }

  /** Leaves (if still in) and waits for the event stream to end. */
  async close(): Promise<void> {
    await this.session.leave();
    await this.done;
  }
}

/**
 * Revision 2's promise, for every (receiver, sender) pair: the sender's
 * messages are shown in the order it sent them (so in msgId order), none
 * twice, and any never shown was reported "undelivered" to its sender.
 * Texts must be unique per sender. Meant for runs without a rejoin: across
 * one there is no order or de-duplication guarantee.
 */
export function checkSenderOrder(members: readonly SenderRecord[]): SenderOrderCheck {
  const of = <T extends SessionEvent["type"]>(member: SenderRecord, type: T) =>
    member.events.filter((e): e is SessionEvent & { type: T } => e.type === type);
  let pairs = 0;
  let inOrder = 0;
  let outOfOrder = 0;
  let missingUnreported = 0;
  for (const sender of members) {
    const place = new Map(sender.sent.map((text, i) => [text, i]));
    const undelivered = new Set(of(sender, "undelivered").map((u) => u.text));
    for (const receiver of members) {
      pairs++;
      let last = -1;
      let wrong = 0;
      const shown = new Set<string>();
      for (const m of of(receiver, "message")) {
        const at = m.name === sender.name ? place.get(m.text) : undefined;
        if (at === undefined) continue;
        if (at <= last) wrong++;
        else last = at;
        shown.add(m.text);
      }
      for (const text of sender.sent) {
        if (!shown.has(text) && !undelivered.has(text)) missingUnreported++;
      }
      outOfOrder += wrong;
      if (wrong === 0) inOrder++;
    }
  }
  const problems = [
    outOfOrder > 0 && `${outOfOrder} shown out of their sender's order`,
    missingUnreported > 0 && `${missingUnreported} never shown and not reported undelivered`,
  ].filter((p): p is string => typeof p === "string");
  return { pairs, inOrder, outOfOrder, missingUnreported, problems };
}

/** Waits until `condition` holds, polling; false if `timeoutMs` passed first. */
export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
