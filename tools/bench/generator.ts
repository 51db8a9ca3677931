/**
 * The load generator's members in one process: joins them, keeps them alive
 * with heartbeats, paces the senders and counts what the receivers get.
 * tools/bench/loadgen.ts drives it from its stdin.
 */
import { nowMicros } from "./clock.ts";
import { LatencyHistogram } from "./histogram.ts";
import {
  isStalled,
  type LoadgenSpec,
  type OwnedMember,
  ownedMembers,
  type ReconnectReport,
  type StepReport,
} from "./layout.ts";
import type { BenchSocket, BenchSockets } from "./socket.ts";
import { openBenchSockets } from "./open_bench_sockets.ts";
import { paddedStampText, type Stamp, stampText } from "./stamp.ts";
import type { MemberWire, Target } from "./target.ts";
import { closeTarget } from "./ws_wire.ts";

interface Member {
  owned: OwnedMember;
  socket: BenchSocket;
  wire: MemberWire;
  welcomed: () => void;
  msgId: number;
  /** Per sender slot of its room: bit `seq` set once that message was received. */
  seen: Uint8Array[];
  nextHeartbeatMs: number;
  receiving: Promise<void>;
  /** A stalled reader: not counted as a receiver (its deliveries are not expected). */
  stalled: boolean;
}

const HELLO_RETRY_MS = 500;
const WELCOME_TIMEOUT_MS = 10_000;
const NO_REPLAY = 0xffff_ffff;
const STALLED_WRITE_MS = 1000;
/** A member not back by then fails the reconnect measurement. */
const RECONNECT_LIMIT_MS = 120_000;

/** All members of one generator process. */
export class Generator {
  #spec: LoadgenSpec;
  #target: Target;
  #owned: OwnedMember[];
  #members: Member[] = [];
  #sockets: BenchSockets;
  #heartbeats: ReturnType<typeof setInterval>;
  // The step being counted, and its counters.
  #step = -1;
  #received = 0;
  #duplicates = 0;
  #late = 0;
  #histogram = new LatencyHistogram();
  #stamp: Stamp = { eventSeq: 0, step: 0, sender: 0, seq: 0, sentMicros: 0 };
  #lastHeardAt = 0;
  #closing = false;
  /** For each stalled reader the server dropped: ms from the stall to its socket closing. */
  #stalledClosedAfterMs: number[] = [];

  /** Members are joined by {@linkcode join}. */
  constructor(spec: LoadgenSpec, target: Target) {
    this.#spec = spec;
    this.#target = target;
    this.#owned = ownedMembers(spec, spec.proc);
    this.#sockets = openBenchSockets(spec.io);
    this.#heartbeats = setInterval(() => this.#heartbeat(), 100);
  }

  /** Joins the owned room hosts (`hosts`) or the other owned members; returns how many. */
  async join(hosts: boolean): Promise<number> {
    const todo = this.#owned.filter((o) => (o.member === 0) === hosts);
    let next = 0;
    const worker = async () => {
      while (next < todo.length) await this.#joinOne(todo[next++]!);
    };
    const workers = Math.max(1, Math.min(this.#spec.handshakeConcurrency, todo.length));
    await Promise.all(Array.from({ length: workers }, worker));
    return todo.length;
  }

  async #joinOne(owned: OwnedMember): Promise<void> {
    const wire = await this.#target.join(owned);
    const member: Member = {
      owned,
      socket: wire.socket ?? this.#sockets.open(wire.to.hostname),
      wire,
      welcomed: () => {},
      msgId: 0,
      seen: [],
      nextHeartbeatMs: 0,
      receiving: Promise.resolve(),
      stalled: isStalled(owned, this.#spec),
    };
    this.#members.push(member);
    await this.#attach(member, wire);
    // A stalled reader stops reading once it is in (ws_stall_proxy.ts). Its socket closes
    // only when the server drops it (a slow reader, 4008) and the proxy notices.
    if (member.stalled) {
      wire.stall?.();
      const stalledAt = performance.now();
      member.receiving.then(() => {
        if (!this.#closing) {
          this.#stalledClosedAfterMs.push(Math.round(performance.now() - stalledAt));
        }
      });
    }
  }

  /** Puts `wire` (and its socket) under `member`; sends HELLO until a WELCOME comes. */
  async #attach(member: Member, wire: MemberWire): Promise<void> {
    member.wire = wire;
    member.socket = wire.socket ?? member.socket;
    member.nextHeartbeatMs = performance.now() + Math.random() * (wire.heartbeatMs / 2);
    const welcome = new Promise<void>((resolve) => (member.welcomed = resolve));
    const socket = member.socket;
    member.receiving = socket.receiveLoop((bytes) => this.#onDatagram(member, bytes));
    const deadline = performance.now() + WELCOME_TIMEOUT_MS;
    let done = false;
    welcome.then(() => (done = true));
    while (!done) {
      if (performance.now() > deadline) throw new Error(`no WELCOME for m${member.owned.member}`);
      socket.send(wire.hello(), wire.to);
      await Promise.race([welcome, new Promise((r) => setTimeout(r, HELLO_RETRY_MS))]);
    }
  }

  /**
   * After the server restarted: every member waits for its socket to close,
   * then comes back as a page does (Target.reconnect: resume, or a fresh
   * join after a stateless reset), retrying at once and then after 0.5 s,
   * doubling to 10 s (docs/protocol.md 7.5), until it has a WELCOME.
   */
  async reconnect(): Promise<ReconnectReport> {
    const target = this.#target;
    if (target.reconnect === undefined) throw new Error("this target cannot reconnect");
    const started = performance.now();
    const report: ReconnectReport = {
      back: 0,
      resumed: 0,
      rejoined: 0,
      attempts: 0,
      lastBackMs: 0,
      lastBackAt: 0,
      backAt: [],
      errors: [],
    };
    await Promise.all(this.#members.map(async (member) => {
      await member.receiving;
      for (let backoff = 500;; backoff = Math.min(backoff * 2, 10_000)) {
        report.attempts++;
        try {
          const back = await target.reconnect!(member.owned, member.wire);
          await this.#attach(member, back.wire);
          report[back.how]++;
          report.back++;
          report.lastBackMs = Math.max(report.lastBackMs, performance.now() - started);
          report.lastBackAt = Math.max(report.lastBackAt, Date.now());
          report.backAt.push(Date.now());
          return;
        } catch (error) {
          // The kinds of failure, counted (ports and numbers blanked so that alike ones add up).
          const kind = String(error).replace(/\d+/g, "#").slice(0, 120);
          const seen = report.errors.findIndex((e) => e.endsWith(` × ${kind}`) || e === kind);
          if (seen < 0) report.errors.push(`1 × ${kind}`);
          else {
            report.errors[seen] = report.errors[seen]!.replace(
              /^(\d+) × /,
              (_, n) => `${Number(n) + 1} × `,
            );
          }
          // An attempt whose WELCOME never came leaves a socket open: not that one again.
          member.wire.socket?.close();
          if (performance.now() - started > RECONNECT_LIMIT_MS) {
            throw new Error(
              `m${member.owned.global} not back after ${RECONNECT_LIMIT_MS} ms: ${error}`,
            );
          }
          await new Promise((r) => setTimeout(r, backoff * (0.75 + Math.random() / 2)));
        }
      }
    }));
    report.lastBackMs = Math.round(report.lastBackMs);
    const retries = (target as { rejoinRetries?: Record<string, number> }).rejoinRetries;
    if (retries !== undefined) report.rejoinRetries = { ...retries };
    return report;
  }

  #onDatagram(member: Member, bytes: Uint8Array): void {
    const stamp = this.#stamp;
    if (member.stalled) {
      // What reaches it before the stall (and the kernel's buffers) is not counted or checked.
      if (member.wire.isWelcome(bytes)) member.welcomed();
      return;
    }
    const kind = member.wire.readStamp(bytes, stamp);
    if (kind === null) {
      if (member.wire.isWelcome(bytes)) member.welcomed();
      return;
    }
    if (kind !== "stamp") return;
    this.#lastHeardAt = performance.now();
    const room = member.owned.room;
    if (stamp.step !== this.#step) {
      this.#late++;
      return;
    }
    const slot = stamp.sender - room * this.#spec.members;
    const seen = member.seen[slot];
    if (seen === undefined) return; // not a sender of this room: nothing the bench sent
    const byte = stamp.seq >>> 3;
    const bit = 1 << (stamp.seq & 7);
    if (byte >= seen.length) return;
    if ((seen[byte]! & bit) !== 0) {
      this.#duplicates++;
      return;
    }
    seen[byte] = seen[byte]! | bit;
    this.#received++;
    this.#histogram.record(nowMicros() - stamp.sentMicros);
  }

  /**
   * Heartbeats every half period, as the reference client. lastSeq is the
   * largest u32, so the server never replays a tail: no retransmission in the
   * bench (a real lastSeq under a flood is always behind the events in flight,
   * and the replay would count as duplicates). The server's cost of a
   * heartbeat is the same: a real client's lastSeq is usually the head.
   */
  #heartbeat(): void {
    const now = performance.now();
    for (const member of this.#members) {
      const period = member.wire.heartbeatMs;
      if (period <= 0 || now < member.nextHeartbeatMs) continue;
      // A stalled reader writes every second: its proxy notices that the server closed the
      // socket only when a write fails (it reads nothing from the server).
      member.nextHeartbeatMs = now + (member.stalled ? STALLED_WRITE_MS : period / 2);
      const bytes = member.wire.heartbeat(NO_REPLAY);
      if (bytes !== null) member.socket.send(bytes, member.wire.to);
    }
  }

  /**
   * One measured step: every owned sender sends `ratePerSender` messages a
   * second for `durationMs`, paced in batches on a 1 ms tick; then waits
   * `settleMs` for late deliveries and reports.
   */
  async run(
    step: number,
    ratePerSender: number,
    durationMs: number,
    settleMs: number,
  ): Promise<StepReport> {
    const perSender = Math.round((ratePerSender * durationMs) / 1000);
    const textBytes = this.#spec.textBytes ?? 0;
    this.#step = step;
    this.#received = 0;
    this.#duplicates = 0;
    this.#late = 0;
    this.#histogram.reset();
    this.#target.startStep?.();
    for (const member of this.#members) {
      member.seen = Array.from(
        { length: this.#spec.senders },
        () => new Uint8Array((perSender >> 3) + 1),
      );
    }
    const senders = this.#members.filter((m) => m.owned.member < this.#spec.senders);
    // Each sender starts at its own phase of the message period, so that
    // many slow senders do not all fire on the same tick.
    const phases = senders.map((s) => ((s.owned.global * 0.618034) % 1));
    const sent = senders.map(() => 0);
    let done = perSender === 0 ? senders.length : 0;
    let maxTickGapMs = 0;
    const start = performance.now();
    let lastTick = start;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        maxTickGapMs = Math.max(maxTickGapMs, now - lastTick);
        lastTick = now;
        const owed = (ratePerSender * (now - start)) / 1000;
        const sentMicros = nowMicros();
        for (let i = 0; i < senders.length; i++) {
          const sender = senders[i]!;
          const due = Math.min(perSender, Math.floor(owed + phases[i]!));
          for (let seq = sent[i]!; seq < due; seq++) {
            const text = textBytes === 0
              ? stampText(step, sender.owned.global, seq, sentMicros)
              : paddedStampText(textBytes, step, sender.owned.global, seq, sentMicros);
            sender.socket.send(sender.wire.message(++sender.msgId, text), sender.wire.to);
            if (seq + 1 === perSender) done++;
          }
          sent[i] = Math.max(sent[i]!, due);
        }
        if (done >= senders.length) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(tick, 1);
      tick();
    });
    // A process with no senders (or done early) still counts for the whole
    // window: with 2 processes and even room sizes every sender is in one of
    // them, and the other one stopped counting after the settle time alone
    // (37.6% of 1,000 × 10 reported lost).
    const left = durationMs - (performance.now() - start);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, left) + settleMs));
    return {
      sent: sent.reduce((a, n) => a + n, 0),
      received: this.#received,
      duplicates: this.#duplicates,
      late: this.#late,
      latency: this.#histogram.toSparse(),
      maxTickGapMs,
      sendErrors: this.#members.reduce((sum, m) => sum + m.socket.sendErrors, 0),
      ...(this.#members.some((m) => m.stalled)
        ? { stalledClosedAfterMs: [...this.#stalledClosedAfterMs] }
        : {}),
      ...(this.#target.checks === undefined ? {} : { checks: { ...this.#target.checks } }),
    };
  }

  /**
   * Waits until nothing has arrived for `quietMs` (at most `maxMs`); returns
   * how long it waited. Over a reliable transport an overloaded step leaves a
   * backlog in the server's and the sockets' buffers, which would otherwise
   * arrive in the next step, late.
   */
  async drain(quietMs: number, maxMs: number): Promise<number> {
    const started = performance.now();
    while (performance.now() - started < maxMs) {
      const quiet = performance.now() - this.#lastHeardAt;
      if (quiet >= quietMs) break;
      await new Promise((resolve) => setTimeout(resolve, quietMs - quiet));
    }
    return Math.round(performance.now() - started);
  }

  /** Stops heartbeats and closes every socket. */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#heartbeats);
    for (const member of this.#members) member.wire.socket?.close();
    await this.#sockets.close();
    await closeTarget(this.#target);
    await Promise.all(this.#members.map((m) => m.receiving));
  }
}
