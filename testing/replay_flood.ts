/**
 * The replay flood of issue 11 and a bystander that measures it, on real
 * sockets: members from one or more local addresses send HEARTBEAT with
 * lastSeq 0 (each asks for the room's whole history), while a member of
 * another room, from another address, times the ACK of each MESSAGE it sends
 * and repairs a gap with RESEND. Used by tests/replay_flood_test.ts and
 * tools/replay_flood.ts.
 */
import {
  type ClientBody,
  decodeServerDatagram,
  encodeClientDatagram,
} from "../protocol/datagram.ts";
import {
  decodeTcrpResponse,
  encodeTcrpRequest,
  Operation,
  State,
  TOKEN_BYTES,
} from "../protocol/tcrp.ts";
import type { DatagramSocket } from "../server/datagram_socket.ts";
import { openDatagramSocket } from "../server/open_datagram_socket.ts";
import { tcrpRequestFrom } from "./tcp_from.ts";
import { sleep } from "./wait.ts";

/** Where the server listens. */
export interface FloodTarget {
  tcpAddr: Deno.NetAddr;
  udpAddr: Deno.NetAddr;
}

/** Creates or joins a room from `localAddress` and returns the token; throws when refused. */
export async function tokenFrom(
  target: FloodTarget,
  op: "create" | "join",
  room: string,
  username: string,
  localAddress: string,
): Promise<Uint8Array> {
  const request = encodeTcrpRequest({
    operation: op === "create" ? Operation.CREATE_ROOM : Operation.JOIN_ROOM,
    roomName: room,
    username,
    password: null,
    capacity: null,
  });
  const exchange = await tcrpRequestFrom(target.tcpAddr, request, localAddress, 5_000);
  const [answer, completion] = exchange.frames;
  if (answer === undefined) throw new Error(`${op} "${room}" from ${localAddress}: no answer`);
  const response = decodeTcrpResponse(answer);
  if (
    response.status !== 200 || completion?.state !== State.COMPLETE ||
    completion.payload.length !== TOKEN_BYTES
  ) {
    throw new Error(`${op} "${room}" from ${localAddress} refused: ${JSON.stringify(response)}`);
  }
  return completion.payload;
}

/** How the flood is made. */
export interface FloodOptions {
  /** The local addresses it comes from (127.0.1.1, ...); each is one "address" to the server. */
  addresses: string[];
  /** Memberships per address, in rooms of at most `roomSize` members hosted by that address. */
  membersPerAddress: number;
  /** HEARTBEATs a second from each address, spread over its memberships. */
  heartbeatsPerSecond: number;
  /** Their lastSeq: 0 (the default) asks for everything; 2^32 - 1 for nothing, as a control. */
  lastSeq?: number;
  /** Members per flood room (default 250, within the default 256 per room). */
  roomSize?: number;
  /**
   * MESSAGEs each room's host says before the flood (the server's rate limit
   * must let them through at once: --rate-limit of half this or more), so
   * that every HEARTBEAT lastSeq 0 asks for a long history; default 0.
   */
  fillMessages?: number;
}

/** One membership of the flood. */
interface Flooder {
  room: string;
  token: Uint8Array;
}

/** What the flooding addresses received since the flood started. */
export interface FloodReceived {
  /** EVENT datagrams: the replays the flood caused (and any live events). */
  events: number;
  /** ERROR datagrams (429 once an address's replay budget is spent). */
  errors: number;
  /** Anything else (WELCOME, ACK). */
  other: number;
}

/**
 * Memberships from each address sharing one UDP socket per address, and a
 * timer that sends the HEARTBEATs. The sockets are the server's own kind
 * (recvmmsg and sendmmsg where they work), so that the flood costs this
 * process little: what is measured is the server, not the attacker. They
 * count what the server sends them by kind, without decoding it.
 */
export class ReplayFlood {
  #target: FloodTarget;
  #options: FloodOptions;
  #sockets: DatagramSocket[] = [];
  #readers: Promise<void>[] = [];
  #members: Flooder[][] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastReceivedAt = 0;
  /** HEARTBEATs sent since {@linkcode start}. */
  sent = 0;
  /** What the flooding sockets received since {@linkcode start}. */
  received: FloodReceived = { events: 0, errors: 0, other: 0 };

  private constructor(target: FloodTarget, options: FloodOptions) {
    this.#target = target;
    this.#options = options;
  }

  /**
   * Makes every membership: TCRP from each address, then per room the
   * host's HELLO and `fillMessages` from the host (before the others have an
   * endpoint, so nobody else gets them), then everyone else's HELLO. Floods
   * only after {@linkcode start}.
   */
  static async prepare(target: FloodTarget, options: FloodOptions): Promise<ReplayFlood> {
    const flood = new ReplayFlood(target, options);
    try {
      await Promise.all(options.addresses.map((address, i) => flood.#enter(address, i)));
    } catch (error) {
      await flood.stop();
      throw error;
    }
    return flood;
  }

  /** The memberships made. */
  get memberCount(): number {
    return this.#members.reduce((sum, list) => sum + list.length, 0);
  }

  async #enter(address: string, index: number): Promise<void> {
    const socket = openDatagramSocket("auto", {
      hostname: address,
      port: 0,
      receiveBufferBytes: 4 << 20,
    });
    this.#sockets[index] = socket;
    this.#readers[index] = this.#count(socket);
    const members: Flooder[] = [];
    this.#members[index] = members;
    const roomSize = this.#options.roomSize ?? 250;
    for (let n = 0; n < this.#options.membersPerAddress; n++) {
      const room = `flood-${index}-${Math.floor(n / roomSize)}`;
      const op = n % roomSize === 0 ? "create" : "join";
      members.push({ room, token: await tokenFrom(this.#target, op, room, `f${n}`, address) });
    }
    for (const [host, ...others] of Map.groupBy(members, (member) => member.room).values()) {
      this.#send(index, host!, { kind: "hello", lastSeq: 0 });
      for (let n = 1; n <= (this.#options.fillMessages ?? 0); n++) {
        this.#send(index, host!, { kind: "message", msgId: n, text: `fill ${n}` });
        // A few at a time, so that the server's receive buffer takes them all.
        if (n % 50 === 0) {
          socket.flush();
          await sleep(5);
        }
      }
      for (const member of others) this.#send(index, member, { kind: "hello", lastSeq: 0 });
      socket.flush();
    }
  }

  async #count(socket: DatagramSocket): Promise<void> {
    while (true) {
      const batch = await socket.receive();
      if (batch.count === 0) return; // closed
      this.#lastReceivedAt = performance.now();
      for (let i = 0; i < batch.count; i++) {
        const kind = batch.bytes(i)[0];
        if (kind === 0x81) this.received.events++;
        else if (kind === 0x85) this.received.errors++;
        else this.received.other++;
      }
    }
  }

  /** Waits until nothing has arrived for 200 ms (what `prepare` caused is over), or 10 s. */
  async settle(): Promise<void> {
    const deadline = performance.now() + 10_000;
    while (performance.now() - this.#lastReceivedAt < 200 && performance.now() < deadline) {
      await sleep(20);
    }
  }

  /**
   * Starts sending HEARTBEAT lastSeq 0 from each address at its rate (a
   * share every 10 ms), and counting afresh what comes back.
   */
  start(): void {
    this.sent = 0;
    this.received = { events: 0, errors: 0, other: 0 };
    const { heartbeatsPerSecond } = this.#options;
    const next = this.#members.map(() => 0);
    const started = performance.now();
    let due = 0;
    this.#timer = setInterval(() => {
      // Catch up by elapsed time, so a late timer does not lower the rate.
      const target = Math.floor(((performance.now() - started) / 1000) * heartbeatsPerSecond);
      for (; due < target; due++) {
        this.#members.forEach((members, index) => {
          const member = members[next[index]! % members.length]!;
          next[index]!++;
          this.sent++;
          this.#send(index, member, { kind: "heartbeat", lastSeq: this.#options.lastSeq ?? 0 });
        });
      }
      for (const socket of this.#sockets) socket.flush();
    }, 10);
  }

  /** Stops sending HEARTBEATs; the sockets still count what arrives. */
  pause(): void {
    clearInterval(this.#timer);
  }

  /** Queues one datagram on the address's socket (it leaves on the socket's flush). */
  #send(index: number, member: Flooder, body: ClientBody): void {
    const bytes = encodeClientDatagram({ roomName: member.room, token: member.token, body });
    this.#sockets[index]!.send(bytes, [this.#target.udpAddr]);
  }

  /** Stops flooding and closes every socket. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.#sockets.map((socket) => socket?.close()));
    await Promise.all(this.#readers);
  }
}

/** Round trips of the bystander's MESSAGEs, milliseconds. */
export interface RoundTrips {
  sent: number;
  /** ACKs received. */
  acked: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * A member of its own room from `localAddress` that sends a MESSAGE every
 * `intervalMs` (once each, no retransmission: a lost ACK counts as an endless
 * round trip) and records when each ACK comes back; it also keeps every seq
 * it receives, for gap repair.
 */
export class AckProbe {
  #socket: Deno.DatagramConn;
  #server: Deno.NetAddr;
  #room: string;
  #token: Uint8Array;
  /** Send times of this round's MESSAGEs, whose msgIds start after `#msgIdBase`. */
  #sentAt: number[] = [];
  #msgIdBase = 0;
  /** Round trips by index into `#sentAt`. */
  #roundTrips = new Map<number, number>();
  #seqs = new Set<number>();
  #welcomed = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #pump: Promise<void>;

  private constructor(target: FloodTarget, room: string, token: Uint8Array, localAddress: string) {
    this.#server = target.udpAddr;
    this.#room = room;
    this.#token = token;
    this.#socket = Deno.listenDatagram({ hostname: localAddress, port: 0, transport: "udp" });
    this.#pump = this.#receive();
  }

  /** Creates room `room` from `localAddress` and waits for its WELCOME. */
  static async open(target: FloodTarget, room: string, localAddress: string): Promise<AckProbe> {
    const token = await tokenFrom(target, "create", room, "probe", localAddress);
    const probe = new AckProbe(target, room, token, localAddress);
    try {
      const deadline = performance.now() + 5_000;
      while (!probe.#welcomed) {
        if (performance.now() > deadline) throw new Error("the probe got no WELCOME in 5 s");
        await probe.#send({ kind: "hello", lastSeq: 0 });
        await sleep(50);
      }
    } catch (error) {
      await probe.close();
      throw error;
    }
    return probe;
  }

  async #receive(): Promise<void> {
    while (true) {
      let data: Uint8Array;
      try {
        [data] = await this.#socket.receive();
      } catch {
        return; // closed
      }
      const now = performance.now();
      let body;
      try {
        body = decodeServerDatagram(data);
      } catch {
        continue; // not this probe's business: tests judge the server elsewhere
      }
      if (body.kind === "welcome") this.#welcomed = true;
      else if (body.kind === "event") this.#seqs.add(body.seq);
      else if (body.kind === "ack") {
        const index = body.msgId - this.#msgIdBase - 1;
        const sentAt = this.#sentAt[index];
        if (sentAt !== undefined && !this.#roundTrips.has(index)) {
          this.#roundTrips.set(index, now - sentAt);
        }
      }
    }
  }

  #send(body: ClientBody): Promise<void> {
    const bytes = encodeClientDatagram({ roomName: this.#room, token: this.#token, body });
    const { hostname, port } = this.#server;
    return this.#socket.send(bytes, { transport: "udp", hostname, port }).then(() => {});
  }

  /** Sends a MESSAGE every `intervalMs` until {@linkcode stopSending}. */
  startSending(intervalMs: number): void {
    this.#timer = setInterval(() => {
      this.#sentAt.push(performance.now());
      const msgId = this.#msgIdBase + this.#sentAt.length;
      this.#send({ kind: "message", msgId, text: "ping" }).catch(() => {});
    }, intervalMs);
  }

  /**
   * Stops sending, waits up to `graceMs` for the ACKs still due, and returns
   * the round trips of this round (since {@linkcode startSending}).
   */
  async stopSending(graceMs: number): Promise<RoundTrips> {
    clearInterval(this.#timer);
    const deadline = performance.now() + graceMs;
    while (this.#roundTrips.size < this.#sentAt.length && performance.now() < deadline) {
      await sleep(10);
    }
    const sorted = this.#sentAt.map((_, i) => this.#roundTrips.get(i) ?? Infinity)
      .sort((a, b) => a - b);
    const acked = this.#roundTrips.size;
    this.#msgIdBase += this.#sentAt.length;
    this.#sentAt = [];
    this.#roundTrips.clear();
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return {
      sent: sorted.length,
      acked,
      p50Ms: at(0.5) ?? NaN,
      p99Ms: at(0.99) ?? NaN,
      maxMs: sorted.at(-1) ?? NaN,
    };
  }

  /**
   * Forgets the seqs received, asks for fromSeq..toSeq with RESEND, from the
   * oldest still missing every 500 ms (as the reference client asks for what
   * is still missing), and returns how long it took until every one of them
   * arrived; throws after `timeoutMs`.
   */
  async repair(fromSeq: number, toSeq: number, timeoutMs: number): Promise<number> {
    this.#seqs.clear();
    const started = performance.now();
    let oldestMissing = fromSeq;
    let askedAt = -Infinity;
    while (true) {
      while (oldestMissing <= toSeq && this.#seqs.has(oldestMissing)) oldestMissing++;
      if (oldestMissing > toSeq) return performance.now() - started;
      const now = performance.now();
      if (now - started > timeoutMs) {
        throw new Error(
          `RESEND ${fromSeq}-${toSeq} incomplete after ${timeoutMs} ms (${oldestMissing} missing)`,
        );
      }
      if (now - askedAt >= 500) {
        askedAt = now;
        await this.#send({ kind: "resend", fromSeq: oldestMissing, toSeq });
      }
      await sleep(5);
    }
  }

  /** Closes the socket and waits for the receive loop. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    try {
      this.#socket.close();
    } catch { /* already closed */ }
    await this.#pump;
  }
}

/** "p50 3.1 ms, p99 8.0 ms, max 9.2 ms, 150/150 ACKed". */
export function describeRoundTrips(r: RoundTrips): string {
  const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : "never");
  return `p50 ${ms(r.p50Ms)}, p99 ${ms(r.p99Ms)}, max ${ms(r.maxMs)}, ${r.acked}/${r.sent} ACKed`;
}
