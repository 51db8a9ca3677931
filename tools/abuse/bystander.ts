/**
 * The bystander: a room elsewhere on the server under abuse, with a sender
 * that says a numbered message every `intervalMs` and a receiver that records
 * when each one arrives. It uses the real client session (retransmission,
 * RESEND), so "delivered" means what a person in that room would have seen.
 */
import type { HostPort } from "../../protocol/host_port.ts";
import type { ChatSession } from "../../client/session.ts";
import { openChatSession } from "../../client/tcp_udp_connector.ts";

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
    const sender = await openChatSession({
      server,
      create: true,
      room: ROOM,
      username: "sender",
    });
    try {
      const receiver = await openChatSession({
        server,
        create: false,
        room: ROOM,
        username: "receiver",
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
