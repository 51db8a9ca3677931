/**
 * Abuse over UDP: junk, guessed tokens, a stolen token used from another
 * address, and a member flooding its own room. Each sends as fast as the
 * socket takes it, in batches that are awaited together, so the flood is
 * quick but its memory bounded.
 */
import { ClientKind } from "../../protocol/datagram.ts";
import { concatBytes, enterRoom, rawDatagram, u32, UdpMember } from "../../testing/raw_client.ts";
import type { AbuseOutcome, Scenario, Target } from "./harness.ts";

const BATCH = 256;
/** The server's default --unauthenticated-rate, and its burst. */
const UNAUTHENTICATED_RATE = 20;

/** Sends `count` datagrams made by `make` from `member`'s socket, BATCH at a time. */
async function blast(
  member: UdpMember,
  count: number,
  make: (i: number) => Uint8Array,
): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i += BATCH) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(count, i + BATCH); j++) batch.push(member.sendRaw(make(j)));
    await Promise.all(batch);
  }
  return (performance.now() - started) / 1000;
}

/**
 * What a stranger got back: only ERRORs, and no more than the per-address rate
 * allows (a burst of 2x, then the rate), so the server is no amplifier.
 */
async function judgeAnswers(stranger: UdpMember, seconds: number, what: string) {
  const answers = await stranger.drain(300);
  const failures: string[] = [];
  const other = answers.filter((body) => body.kind !== "error");
  if (other.length > 0) failures.push(`${what} got ${other.length} answers that were not ERROR`);
  const allowed = Math.ceil(UNAUTHENTICATED_RATE * (2 + seconds + 0.5)) + 5;
  if (answers.length > allowed) {
    failures.push(`${what} got ${answers.length} ERROR answers, more than ${allowed}`);
  }
  return { failures, note: `${answers.length} ERROR answers in ${seconds.toFixed(1)} s` };
}

/** The victim's room still works: its own message comes back as an EVENT at its address. */
async function judgeVictim(victim: UdpMember): Promise<string[]> {
  try {
    await victim.drain(0);
    await victim.say("am I still here?");
    await victim.next("ack", 2_000);
    await victim.next("event", 2_000, (e) => e.text === "am I still here?");
    return [];
  } catch (error) {
    return [`the victim's room was disturbed: ${error}`];
  }
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** 100,000 datagrams of junk: random bytes, wrong kinds, oversized ones. */
export const junkFlood: Scenario = {
  name: "junk datagram flood",
  expectedKinds: ["malformed-datagram", "unauthenticated-rate"],
  async run(target: Target): Promise<AbuseOutcome> {
    const total = 100_000;
    // A few hundred shapes, cycled: the cost is the server's, not the generator's.
    const shapes: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      if (i % 3 === 0) shapes.push(crypto.getRandomValues(new Uint8Array(1 + (i % 64))));
      else if (i % 3 === 1) shapes.push(rawDatagram("bystander", new Uint8Array(32), 0x7f, u32(i)));
      else shapes.push(new Uint8Array([0, 0, 1, 2, 3]));
    }
    shapes.push(new Uint8Array(5_000)); // over 4096 bytes: 413
    const junk = new UdpMember(target.udpAddr, "x", new Uint8Array(1));
    try {
      const seconds = await blast(junk, total, (i) => shapes[i % shapes.length]!);
      const { failures, note } = await judgeAnswers(junk, seconds, "the junk sender");
      return { sends: `${count(total)} junk datagrams from 127.0.0.1`, failures, notes: [note] };
    } finally {
      await junk.close();
    }
  },
};

/** Random 32-byte tokens for a room that exists. */
export const guessedTokens: Scenario = {
  name: "guessed tokens",
  expectedKinds: ["unknown-token", "unauthenticated-rate"],
  async run(target: Target): Promise<AbuseOutcome> {
    const total = target.scale === "full" ? 100_000 : 20_000;
    const victim = await enterRoom(target, "create", { room: "target", username: "victim" });
    const guesser = new UdpMember(target.udpAddr, "target", new Uint8Array(32));
    try {
      const tokens = crypto.getRandomValues(new Uint8Array(32 * 1024));
      const hello = u32(0);
      const seconds = await blast(guesser, total, (i) => {
        const offset = (i % 1024) * 32;
        const token = tokens.subarray(offset, offset + 32);
        token[0] = i & 0xff; // cycling 1024 random tokens, each varied 256 ways
        return rawDatagram("target", token, ClientKind.HELLO, hello);
      });
      const { failures, note } = await judgeAnswers(guesser, seconds, "the guesser");
      failures.push(...await judgeVictim(victim.member));
      return {
        sends: `${count(total)} HELLOs with random tokens for an existing room`,
        failures,
        notes: [note],
      };
    } finally {
      await Promise.all([guesser.close(), victim.member.close()]);
    }
  },
};

/** A real member's token, sent from 127.0.0.2. */
export const stolenToken: Scenario = {
  name: "token from another IP",
  expectedKinds: ["foreign-token", "unauthenticated-rate"],
  async run(target: Target): Promise<AbuseOutcome> {
    const total = target.scale === "full" ? 20_000 : 2_000;
    const victim = await enterRoom(target, "create", { room: "target", username: "victim" });
    const thief = new UdpMember(target.udpAddr, "target", victim.member.token, "127.0.0.2");
    try {
      const bodies = [
        [ClientKind.HELLO, u32(0)],
        [ClientKind.MESSAGE, new Uint8Array([0, 0, 0, 1, 0x68, 0x69])],
        [ClientKind.RESEND, new Uint8Array([0, 0, 0, 1, 0, 0, 0, 9])],
        [ClientKind.LEAVE, new Uint8Array(0)],
      ] as const;
      const datagrams = bodies.map(([kind, body]) =>
        rawDatagram("target", victim.member.token, kind, body)
      );
      const seconds = await blast(thief, total, (i) => datagrams[i % datagrams.length]!);
      const { failures, note } = await judgeAnswers(thief, seconds, "the thief");
      failures.push(...await judgeVictim(victim.member));
      return {
        sends: `${count(total)} datagrams (HELLO, MESSAGE, RESEND, LEAVE) with a member's token ` +
          "from 127.0.0.2",
        failures,
        notes: [note],
      };
    } finally {
      await Promise.all([thief.close(), victim.member.close()]);
    }
  },
};

/** One member sends MESSAGEs into its own room as fast as it can. */
export const roomFlood: Scenario = {
  name: "member floods its room",
  expectedKinds: ["member-flood"],
  async run(target: Target): Promise<AbuseOutcome> {
    const total = target.scale === "full" ? 20_000 : 2_000;
    const flooder = await enterRoom(target, "create", { room: "noisy", username: "flooder" });
    const listener = await enterRoom(target, "join", { room: "noisy", username: "listener" })
      .catch(async (error) => {
        await flooder.member.close();
        throw error;
      });
    try {
      const text = new TextEncoder().encode("spam");
      const seconds = await blast(
        flooder.member,
        total,
        (i) =>
          rawDatagram(
            "noisy",
            flooder.member.token,
            ClientKind.MESSAGE,
            concatBytes(u32(i + 1), text),
          ),
      );
      const heard = (await listener.member.drain(300)).filter((b) => b.kind === "event").length;
      const answers = await flooder.member.drain(0);
      const acked = answers.filter((b) => b.kind === "ack").length;
      const limited = answers.filter((b) => b.kind === "error" && b.code === 429).length;
      const failures: string[] = [];
      // The room's rate limit: a burst of 40, then 20 a second.
      const allowed = Math.ceil(40 + 20 * (seconds + 0.5)) + 2;
      if (heard > allowed) {
        failures.push(`the room relayed ${heard} messages, more than ${allowed}`);
      }
      return {
        sends: `${count(total)} MESSAGEs into one room as fast as possible`,
        failures,
        notes: [
          `room relayed ${heard} in ${seconds.toFixed(1)} s, flooder got ${acked} ACK, ` +
          `${limited} ERROR 429`,
        ],
      };
    } finally {
      await Promise.all([flooder.member.close(), listener.member.close()]);
    }
  },
};
