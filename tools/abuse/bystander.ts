/**
 * The bystander: a room elsewhere on the server under abuse, with a sender
 * that says a numbered message every `intervalMs` and a receiver that records
 * when each one arrives. It uses the real client session, sealed as the
 * project's clients are (retransmission, RESEND, the sealed channels), so
 * "delivered" means what a person in that room would have seen.
 */
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import type { HostPort } from "../../protocol/host_port.ts";
import { sameBytes } from "../../protocol/sealed_datagram.ts";
import { type ServerKeyCheck, ServerKeyMismatchError } from "../../protocol/sealed_types.ts";
import type { ChatSession, SessionEvent } from "../../client/session.ts";
import { openChatSession } from "../../client/tcp_udp_connector.ts";

/**
 * Trust on first use, in memory, shared by every session of one scenario:
 * the first key the suite's server proves is the only one accepted after.
 */
export function trustFirstKey(): ServerKeyCheck {
  let pinned: Uint8Array | null = null;
  return (key) => {
    pinned ??= key.slice();
    if (!sameBytes(pinned, key)) {
      throw new ServerKeyMismatchError(pinned, key, "the server under abuse changed its key");
    }
  };
}

/** Opens a sealed session with the server at `server`. */
export function openSealed(
  server: HostPort,
  o: { room: string; name: string; create: boolean; checkServerKey?: ServerKeyCheck },
): Promise<ChatSession> {
  return openChatSession({
    server,
    create: o.create,
    room: o.room,
    username: o.name,
    sealed: { crypto: nodeCrypto, checkServerKey: o.checkServerKey ?? trustFirstKey() },
  });
}

/** A sealed session and every event it handed out. */
export class SealedMember {
  readonly session: ChatSession;
  readonly events: SessionEvent[] = [];
  #reading: Promise<void>;

  private constructor(session: ChatSession) {
    this.session = session;
    this.#reading = (async () => {
      for await (const event of session) this.events.push(event);
    })();
  }

  /** Creates or joins `room` as `name`. */
  static async open(
    server: HostPort,
    o: { room: string; name: string; create: boolean; checkServerKey?: ServerKeyCheck },
  ): Promise<SealedMember> {
    return new SealedMember(await openSealed(server, o));
  }

  /** Whether a message with `text` was shown within `timeoutMs` (polled). */
  async waitForMessage(text: string, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    const shown = () => this.events.some((e) => e.type === "message" && e.text === text);
    while (!shown() && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return shown();
  }

  /** Leaves and waits for the event stream to end. */
  async close(): Promise<void> {
    await this.session.leave();
    await this.#reading;
  }
}

/** What the bystander room saw. */
export interface BystanderFigures {
  sent: number;
  /** Distinct messages the receiver was shown. */
  delivered: number;
  /** Messages the receiver was shown more than once. */
  duplicates: number;
  /** Messages the sender's session gave up on. */
  undelivered: number;
  /** Send-to-show latency, milliseconds: median, 99th percentile, worst. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const ROOM = "bystander";

/** A sender and a receiver in their own room, talking while something else happens. */
export class Bystander {
  #sender: ChatSession;
  #receiver: ChatSession;
  #sentAt: number[] = [];
  #latencies = new Map<number, number>();
  #duplicates = 0;
  #undelivered = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #readers: Promise<void>[];

  private constructor(sender: ChatSession, receiver: ChatSession, intervalMs: number) {
    this.#sender = sender;
    this.#receiver = receiver;
    this.#readers = [this.#readSender(), this.#readReceiver()];
    this.#timer = setInterval(() => this.#say(), intervalMs);
  }

  /** Creates the room, joins it, and starts talking. */
  static async start(server: HostPort, intervalMs: number): Promise<Bystander> {
    const checkServerKey = trustFirstKey();
    const sender = await openSealed(server, {
      room: ROOM,
      name: "sender",
      create: true,
      checkServerKey,
    });
    try {
      const receiver = await openSealed(server, {
        room: ROOM,
        name: "receiver",
        create: false,
        checkServerKey,
      });
      return new Bystander(sender, receiver, intervalMs);
    } catch (error) {
      await sender.leave();
      throw error;
    }
  }

  #say(): void {
    const n = this.#sentAt.length;
    this.#sentAt.push(performance.now());
    this.#sender.send(`bystander ${n}`);
  }

  async #readSender(): Promise<void> {
    for await (const event of this.#sender) {
      if (event.type === "undelivered") this.#undelivered++;
    }
  }

  async #readReceiver(): Promise<void> {
    for await (const event of this.#receiver) {
      if (event.type !== "message" || event.name !== "sender" || event.replay) continue;
      const n = Number(event.text.split(" ")[1]);
      const sentAt = this.#sentAt[n];
      if (sentAt === undefined) continue;
      if (this.#latencies.has(n)) this.#duplicates++;
      else this.#latencies.set(n, performance.now() - sentAt);
    }
  }

  /**
   * Stops sending, waits up to `timeoutMs` for the last messages, leaves,
   * and returns the figures.
   */
  async finish(timeoutMs: number): Promise<BystanderFigures> {
    clearInterval(this.#timer);
    const deadline = performance.now() + timeoutMs;
    while (this.#latencies.size < this.#sentAt.length && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // The receiver first: the sender is the host, and its leaving closes the room.
    await this.#receiver.leave();
    await this.#sender.leave();
    await Promise.all(this.#readers);
    const sorted = [...this.#latencies.values()].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return {
      sent: this.#sentAt.length,
      delivered: this.#latencies.size,
      duplicates: this.#duplicates,
      undelivered: this.#undelivered,
      p50Ms: at(0.5) ?? NaN,
      p99Ms: at(0.99) ?? NaN,
      maxMs: sorted.at(-1) ?? NaN,
    };
  }
}
