/**
 * The replay queue of the endpoint router: replay datagrams wait in one
 * queue per address (address_key.ts), and each flush takes them
 * round-robin across addresses, one datagram per address per turn, up to a
 * cap per flush. So an address that asked for thousands of replays delays
 * another address's replays by at most one datagram per turn, and live
 * traffic, which never waits here, by at most one flush's cap.
 *
 * Bounded, by refusing what does not fit (a refused datagram is dropped and
 * counted; the client asks again for what it still misses, as it would after
 * a loss): an address may hold so many datagrams and bytes, and past the
 * total bound an address over its fair share of it (total / the addresses
 * waiting) may add no more. An address under its share still may, so a
 * quiet address's repair is not refused because of loud ones, up to a hard
 * limit of twice the total (which only many addresses arriving one after
 * another, each under its shrinking share, can reach). Refusing the newest
 * rather than dropping the oldest keeps the order a replay was asked in (the
 * oldest events first, as the budget cuts), and the refused datagrams die
 * young, which costs the garbage collector far less than freeing ones that
 * waited long enough to be promoted.
 *
 * @module
 */
import type { ServerBody } from "../protocol/datagram.ts";
import type { Endpoint } from "./endpoint.ts";

/** How much may wait and leave. */
export interface ReplayQueueLimits {
  /** Most datagrams one flush takes. */
  flushDatagrams: number;
  /** Most bytes one flush takes (at least one datagram is always taken). */
  flushBytes: number;
  /** Most datagrams waiting for one address; more are refused. */
  addressDatagrams: number;
  /** Most bytes waiting for one address; more are refused. */
  addressBytes: number;
  /**
   * Datagrams waiting in all past which an address over its share is
   * refused more; twice this is a hard limit for every address.
   */
  totalDatagrams: number;
  /** Bytes waiting in all past which an address over its share is refused more; twice: hard. */
  totalBytes: number;
}

/**
 * The defaults. 256 datagrams a flush: well under a millisecond of sendmmsg
 * on loopback, so an ACK waits at most that behind replays. An address may
 * hold two whole 1024-event histories (2048 datagrams, 512 KiB); in all,
 * 8192 datagrams or 2 MiB (4 MiB at the hard limit), under a second's worth
 * at the default --replay-rate of 10,000: a replay that waits longer is one
 * the client has already asked for again.
 */
export const DEFAULT_REPLAY_QUEUE_LIMITS: ReplayQueueLimits = {
  flushDatagrams: 256,
  flushBytes: 256 * 1024,
  addressDatagrams: 2_048,
  addressBytes: 512 * 1024,
  totalDatagrams: 8_192,
  totalBytes: 2 * 1024 * 1024,
};

/**
 * One replay datagram, encoded only when a flush takes it (a queue past its
 * bounds drops many, and encoding is most of a replay's cost); its size is
 * known without encoding (protocol/datagram_size.ts).
 */
export interface ReplayDatagram {
  body: ServerBody;
  /** Its encoded length in bytes. */
  size: number;
  /** The encoding, once made (shared by every endpoint it goes to); null: it failed. */
  bytes?: Uint8Array | null;
}

/** One replay datagram for one endpoint. */
export interface QueuedReplay {
  datagram: ReplayDatagram;
  to: Endpoint;
}

/** Counters, in datagrams and bytes. */
export interface ReplayQueueStats {
  /** Waiting now. */
  waiting: number;
  waitingBytes: number;
  /** Taken by flushes so far. */
  taken: number;
  takenBytes: number;
  /** Refused (dropped) so far for a bound. */
  dropped: number;
  droppedBytes: number;
}

/** One address's datagrams, oldest first. */
class AddressQueue {
  #items: QueuedReplay[] = [];
  #head = 0;
  bytes = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: QueuedReplay): void {
    this.#items.push(item);
    this.bytes += item.datagram.size;
  }

  shift(): QueuedReplay {
    const item = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined as unknown as QueuedReplay; // let it be collected
    this.bytes -= item.datagram.size;
    // Compact now and then, so taking from the front stays O(1) on average.
    if (this.#head >= 1_024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  peekBytes(): number {
    return this.#items[this.#head]!.datagram.size;
  }
}

/** Replay datagrams per address, taken round-robin within bounds. */
export class ReplayQueue {
  readonly stats: ReplayQueueStats = {
    waiting: 0,
    waitingBytes: 0,
    taken: 0,
    takenBytes: 0,
    dropped: 0,
    droppedBytes: 0,
  };
  /** The bounds and caps in force. */
  readonly limits: Readonly<ReplayQueueLimits>;
  /** Addresses with datagrams waiting, in turn order: the first is served next. */
  #queues = new Map<string, AddressQueue>();

  /** An empty queue with `limits` (the defaults for any not given). */
  constructor(limits: Partial<ReplayQueueLimits> = {}) {
    this.limits = { ...DEFAULT_REPLAY_QUEUE_LIMITS, ...limits };
  }

  /** Addresses with datagrams waiting. */
  get addresses(): number {
    return this.#queues.size;
  }

  /** Adds one datagram for `addressKey`, or refuses it (false) past a bound. */
  push(addressKey: string, item: QueuedReplay): boolean {
    const size = item.datagram.size;
    let queue = this.#queues.get(addressKey);
    const length = (queue?.length ?? 0) + 1;
    const bytes = (queue?.bytes ?? 0) + size;
    const waiting = this.stats.waiting + 1;
    const waitingBytes = this.stats.waitingBytes + size;
    const share = 1 / (this.#queues.size + (queue === undefined ? 1 : 0));
    const limits = this.limits;
    if (
      length > limits.addressDatagrams || bytes > limits.addressBytes ||
      (waiting > limits.totalDatagrams && length > limits.totalDatagrams * share) ||
      (waitingBytes > limits.totalBytes && bytes > limits.totalBytes * share) ||
      waiting > 2 * limits.totalDatagrams || waitingBytes > 2 * limits.totalBytes
    ) {
      this.stats.dropped++;
      this.stats.droppedBytes += size;
      return false;
    }
    if (queue === undefined) {
      queue = new AddressQueue();
      this.#queues.set(addressKey, queue); // a newcomer takes its turn after those waiting
    }
    queue.push(item);
    this.stats.waiting = waiting;
    this.stats.waitingBytes = waitingBytes;
    return true;
  }

  /**
   * Takes the datagrams of one flush: one from each address in turn, until
   * none wait or the flush's cap (or `most`, if lower) is reached.
   */
  take(most = Infinity): QueuedReplay[] {
    const out: QueuedReplay[] = [];
    let bytes = 0;
    const { flushBytes } = this.limits;
    const flushDatagrams = Math.min(most, this.limits.flushDatagrams);
    while (out.length < flushDatagrams && this.#queues.size > 0) {
      const [key, queue] = this.#queues.entries().next().value!;
      if (out.length > 0 && bytes + queue.peekBytes() > flushBytes) break;
      const item = queue.shift();
      out.push(item);
      bytes += item.datagram.size;
      // Its turn is over: to the back of the line, or out of it when empty.
      this.#queues.delete(key);
      if (queue.length > 0) this.#queues.set(key, queue);
    }
    this.stats.waiting -= out.length;
    this.stats.waitingBytes -= bytes;
    this.stats.taken += out.length;
    this.stats.takenBytes += bytes;
    return out;
  }
}
