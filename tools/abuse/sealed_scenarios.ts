/**
 * Abuse aimed at sealed sessions (issue 13), against a server that takes
 * sealed sessions only: datagrams for session ids that do not exist (each
 * may earn a stateless reset, shorter than what triggered it and within a
 * per-address rate), datagrams that fail to open for a real session sent
 * from other addresses (dropped and counted, never answered; the member
 * keeps talking), and a flood of Noise first messages (the request rate
 * applies before any Diffie-Hellman work).
 */
import net from "node:net";
import { encodeUtf8 } from "../../protocol/bytes.ts";
import {
  MEMBER_HEADER_BYTES,
  peekSealedHeader,
  RESET_DATAGRAM_BYTES,
  SealedType,
} from "../../protocol/sealed_datagram.ts";
import { encodeTcrpFrame, Operation, TcrpFrameParser } from "../../protocol/tcrp.ts";
import { startFaultProxy } from "../fault_proxy.ts";
import { readCpuSeconds } from "../proc_stat.ts";
import type { ChatSession } from "../../client/session.ts";
import { openChatSession } from "../../client/tcp_udp_connector.ts";
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import { SealedMember, trustFirstKey } from "./bystander.ts";
import { tally } from "./from_address.ts";
import type { AbuseOutcome, Scenario, Target } from "./harness.ts";
import { sources } from "./sources.ts";

const BATCH = 256;
/** The server's default --unauthenticated-rate (resets per address a second), and its burst. */
const RESET_RATE = 20;
/** The server's default --request-rate, and its burst (REQUEST_BURST_FACTOR seconds). */
const REQUEST_RATE = 20;
const REQUEST_BURST = REQUEST_RATE * 5;

function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** A member-channel datagram: marker, type, session id, counter, then `body` bytes (no valid tag). */
function memberDatagram(sessionId: Uint8Array, counter: bigint, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(MEMBER_HEADER_BYTES + body.length);
  out[0] = 0x00;
  out[1] = SealedType.MEMBER;
  out.set(sessionId, 2);
  new DataView(out.buffer).setBigUint64(10, counter);
  out.set(body, MEMBER_HEADER_BYTES);
  return out;
}

/** A UDP socket bound to `source` that counts what it is sent back. */
class Sender {
  readonly socket: Deno.DatagramConn;
  readonly answers: Uint8Array[] = [];
  answerBytes = 0;
  #loop: Promise<void>;
  #closed = false;

  constructor(source: string) {
    const socket = Deno.listenDatagram({ hostname: source, port: 0, transport: "udp" });
    this.socket = socket;
    this.#loop = (async () => {
      while (!this.#closed) {
        try {
          const [bytes] = await socket.receive();
          this.answerBytes += bytes.length;
          if (this.answers.length < 10_000) this.answers.push(bytes.slice());
        } catch {
          if (this.#closed) return;
        }
      }
    })();
  }

  /** Sends `total` datagrams made by `make`, BATCH at a time; returns the seconds taken. */
  async blast(to: Deno.NetAddr, total: number, make: (i: number) => Uint8Array): Promise<number> {
    const started = performance.now();
    for (let i = 0; i < total; i += BATCH) {
      const batch: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(total, i + BATCH); j++) {
        batch.push(this.socket.send(make(j), to).catch(() => {}));
      }
      await Promise.all(batch);
    }
    return (performance.now() - started) / 1000;
  }

  /** Waits a little for late answers, then stops. */
  async close(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 300));
    this.#closed = true;
    this.socket.close();
    await this.#loop;
  }
}

/** Sealed datagrams with random session ids: resets only, shorter, within the rate. */
export const unknownSessions: Scenario = {
  name: "sealed: unknown session ids",
  sealed: true,
  expectedKinds: ["sealed-unknown-session"],
  async run(target: Target): Promise<AbuseOutcome> {
    const total = target.scale === "full" ? 100_000 : 20_000;
    const size = 60;
    const sender = new Sender(sources(1)[0]!);
    let seconds = 0;
    try {
      const ids = crypto.getRandomValues(new Uint8Array(8 * 1024));
      const body = crypto.getRandomValues(new Uint8Array(size - MEMBER_HEADER_BYTES));
      seconds = await sender.blast(target.udpAddr, total, (i) => {
        const id = ids.subarray((i % 1024) * 8, (i % 1024) * 8 + 8);
        id[0] = i & 0xff;
        return memberDatagram(id, BigInt(i), body);
      });
    } finally {
      await sender.close();
    }
    const failures: string[] = [];
    const resets = sender.answers.filter((a) => {
      try {
        return a.length === RESET_DATAGRAM_BYTES && peekSealedHeader(a).type === "reset";
      } catch {
        return false;
      }
    });
    if (resets.length !== sender.answers.length) {
      failures.push(`${sender.answers.length - resets.length} answers that were not resets`);
    }
    const allowed = Math.ceil(RESET_RATE * (2 + seconds + 0.5)) + 5;
    if (sender.answers.length > allowed) {
      failures.push(`${sender.answers.length} resets, more than the rate allows (${allowed})`);
    }
    if (sender.answers.length === 0) failures.push("no stateless reset at all");
    return {
      sends: `${count(total)} sealed member datagrams of ${size} bytes with random session ids ` +
        `from ${sources(1)[0]}`,
      failures,
      notes: [
        `${resets.length} resets of ${RESET_DATAGRAM_BYTES} bytes in ${seconds.toFixed(1)} s ` +
        `(${sender.answerBytes} bytes back for ${count(total * size)} sent)`,
      ],
    };
  },
};

/**
 * A real session's id (public: it is in the clear), seen on the wire by a
 * pass-through proxy, then datagrams with it that do not open, from 8 other
 * addresses, while the member talks.
 */
export const forgedForSession: Scenario = {
  name: "sealed: datagrams that do not open, for a real session, from 8 other addresses",
  sealed: true,
  expectedKinds: ["sealed-forged", "sealed-budget"],
  async run(target: Target): Promise<AbuseOutcome> {
    const total = target.scale === "full" ? 80_000 : 16_000;
    const server = { hostname: target.tcpAddr.hostname, port: target.tcpAddr.port };
    let sessionId: Uint8Array | null = null;
    // An observer of the member's datagrams: it learns the session id and the counters.
    let highest = 0;
    const proxy = startFaultProxy({
      target: { hostname: "127.0.0.1", port: target.udpAddr.port },
      shouldDrop: (direction, bytes) => {
        if (direction === "toServer") {
          const header = peekSealedHeader(bytes);
          if (header.type === "member") {
            sessionId ??= header.sessionId;
            highest = Math.max(highest, header.counter);
          }
        }
        return false;
      },
    });
    const checkServerKey = trustFirstKey();
    let partner: SealedMember;
    let watched: ChatSession;
    try {
      partner = await SealedMember.open(server, {
        room: "victim",
        name: "partner",
        create: true,
        checkServerKey,
      });
      try {
        // The victim's datagrams pass the observing proxy (which changes nothing).
        watched = await openChatSession({
          server,
          udpTarget: proxy.addr,
          create: false,
          room: "victim",
          username: "victim",
          sealed: { crypto: nodeCrypto, checkServerKey },
        });
      } catch (error) {
        await partner.close();
        throw error;
      }
    } catch (error) {
      await proxy.close();
      throw error;
    }
    const delivered: number[] = [];
    const reading = (async () => {
      for await (const event of watched) {
        if (event.type === "delivered") delivered.push(event.msgId);
      }
    })();
    const senders = sources(8, 1).map((source) => new Sender(source));
    const failures: string[] = [];
    const said: string[] = [];
    let seconds = 0;
    try {
      const deadline = performance.now() + 2_000;
      while (sessionId === null && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      if (sessionId === null) throw new Error("the victim's session id was never seen");
      const id: Uint8Array = sessionId;
      const talking = setInterval(() => {
        said.push(`victim ${said.length}`);
        watched.send(said.at(-1)!);
      }, 50);
      const body = crypto.getRandomValues(new Uint8Array(60));
      const started = performance.now();
      try {
        await Promise.all(
          senders.map((sender, s) =>
            sender.blast(target.udpAddr, total / senders.length, (i) => {
              body[0] = i & 0xff;
              // Half above the highest counter seen (they reach the open), half replays of old ones.
              const counter = i % 2 === 0 ? highest + 1_000 + i * 8 + s : i % (highest + 1);
              return memberDatagram(id, BigInt(counter), body);
            })
          ),
        );
      } finally {
        seconds = (performance.now() - started) / 1000;
        clearInterval(talking);
      }
      for (const text of said) {
        if (!await partner.waitForMessage(text, 5_000)) {
          failures.push(`the partner was not shown "${text}"`);
          break;
        }
      }
      const answered = senders.reduce((n, s) => n + s.answers.length, 0);
      await Promise.all(senders.map((s) => s.close()));
      const answeredLate = senders.reduce((n, s) => n + s.answers.length, 0);
      if (answeredLate > 0) failures.push(`the forgers got ${answeredLate} datagrams back`);
      if (delivered.length < said.length) {
        failures.push(`${delivered.length}/${said.length} of the victim's messages acknowledged`);
      }
      return {
        sends: `${count(total)} member datagrams with the victim's session id that do not open ` +
          `(half above its highest counter, half old counters) from 8 addresses, while it says ` +
          `one thing every 50 ms`,
        failures,
        notes: [
          `flood took ${seconds.toFixed(1)} s; the victim: ${said.length} said, ` +
          `${delivered.length} acknowledged, all shown to its partner: ` +
          `${failures.length === 0 ? "yes" : "no"}; bytes back to the forgers: ${answered}`,
        ],
      };
    } finally {
      await Promise.allSettled(senders.map((s) => s.close()));
      await watched.leave();
      await reading;
      await partner.close();
      await proxy.close();
    }
  },
};

/** What the first frame back was. */
type FirstAnswer = "message 2" | "refused before DH" | "gate" | "other" | "none";

/** Sends one state-0 frame from `source` and tells what the first frame back was. */
function firstAnswer(addr: Deno.NetAddr, frame: Uint8Array, source: string): Promise<FirstAnswer> {
  const parser = new TcrpFrameParser({ maxPayloadBytes: 65_536 });
  return new Promise((resolve) => {
    const socket = net.connect({ host: addr.hostname, port: addr.port, localAddress: source });
    const finish = (answer: FirstAnswer) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish("none"), 2_000);
    socket.on("connect", () => socket.write(frame));
    socket.on("data", (chunk: Uint8Array) => {
      const first = parser.push(new Uint8Array(chunk))[0];
      if (first === undefined) return;
      if (first.operation === Operation.SEALED_JOIN_ROOM) {
        // State 1 is Noise message 2 (96 bytes: the server did its DH); state 2 a plain refusal.
        if (first.state === 1 && first.payload.length === 96) return finish("message 2");
        if (first.state === 2) return finish("refused before DH");
      }
      // The connection gate answers any connection at once as a LIST_ROOMS state 1 (no DH).
      if (first.operation === Operation.LIST_ROOMS && first.state === 1) return finish("gate");
      finish("other");
    });
    socket.on("end", () => finish("none"));
    socket.on("error", () => finish("none"));
  });
}

/** Noise first messages (state 0) as fast as 8 connections at a time allow. */
export const handshakeFlood: Scenario = {
  name: "sealed: handshake flood (Noise first messages)",
  sealed: true,
  /**
   * About 4,800 connections a second, each a few allocations the GC takes
   * back late: measured, the server's RSS goes from 68 to about 155 MiB in
   * the first 6 s and stays there over two more rounds (151, 157, 158 MiB
   * peak), like the plain connection floods (169 MiB). So this bound, not
   * BOUNDS.peakRssMiB (150), which is for scenarios of a few requests.
   */
  peakRssMiB: 200,
  expectedKinds: ["request-rate"],
  async run(target: Target): Promise<AbuseOutcome> {
    const seconds = target.scale === "full" ? 6 : 2;
    const source = sources(1)[0]!;
    const states: FirstAnswer[] = [];
    const pid = target.server.process.child.pid;
    const cpuBefore = await readCpuSeconds(pid);
    const started = performance.now();
    const room = encodeUtf8("bystander");
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (performance.now() - started < seconds * 1000) {
        const frame = encodeTcrpFrame({
          operation: Operation.SEALED_JOIN_ROOM,
          state: 0,
          roomName: room,
          payload: crypto.getRandomValues(new Uint8Array(32)),
        });
        states.push(await firstAnswer(target.tcpAddr, frame, source));
      }
    }));
    const took = (performance.now() - started) / 1000;
    const cpuAfter = await readCpuSeconds(pid);
    const failures: string[] = [];
    const message2 = states.filter((s) => s === "message 2").length;
    const allowed = Math.ceil(REQUEST_BURST + REQUEST_RATE * took) + 5;
    if (message2 > allowed) {
      failures.push(
        `${message2} Noise message 2 answers (DH done), more than the rate's ${allowed}`,
      );
    }
    if (!states.includes("refused before DH")) failures.push("no state-2 refusal (429) at all");
    if (states.includes("other")) failures.push("an answer that is no message 2 and no refusal");
    const cpu = cpuBefore !== null && cpuAfter !== null
      ? `; server CPU ${Math.round(((cpuAfter - cpuBefore) / took) * 100)}% of a core`
      : "";
    return {
      sends: `${count(states.length)} SEALED_JOIN_ROOM state-0 frames (random ephemeral keys) ` +
        `from ${source}, 8 connections at a time for ${seconds} s`,
      failures,
      notes: [
        `first answers: ${tally(states)} (a message 2 cost the server its DH; a refusal before ` +
        `DH is the request rate's state-2 429; the gate's is the per-address connection ` +
        `limit)${cpu}`,
      ],
    };
  },
};
