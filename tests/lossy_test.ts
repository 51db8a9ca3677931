/**
 * Sessions through real sockets and a lossy UDP relay: every message still
 * arrives exactly once and in order, and gaps are repaired with RESEND.
 */
import assert from "node:assert/strict";
import { type ClientBody, decodeClientDatagram, ServerKind } from "../protocol/datagram.ts";
import type { ChatSession, SessionEvent, SessionTimings } from "../client/session.ts";
import { openChatSession } from "../client/tcp_udp_connector.ts";
import type { ChatServer } from "../server/server.ts";
import { startTestServer } from "../testing/test_server.ts";
import { sleep, waitUntil } from "../testing/wait.ts";
import { type Direction, type FaultProxy, startFaultProxy } from "../tools/fault_proxy.ts";

/** A session and the events it has handed out so far. */
class Member {
  readonly events: SessionEvent[] = [];
  readonly done: Promise<void>;

  constructor(readonly session: ChatSession) {
    this.done = (async () => {
      for await (const event of session) this.events.push(event);
    })();
  }

  of<T extends SessionEvent["type"]>(type: T): (SessionEvent & { type: T })[] {
    return this.events.filter((e): e is SessionEvent & { type: T } => e.type === type);
  }

  async leave(): Promise<void> {
    await this.session.leave();
    await this.done;
  }
}

interface JoinOptions {
  server: ChatServer;
  room: string;
  username: string;
  create: boolean;
  timings: Partial<SessionTimings>;
  /** Relay to send datagrams through; direct to the server without one. */
  relay?: FaultProxy;
}

async function join(options: JoinOptions): Promise<Member> {
  const session = await openChatSession({
    server: { hostname: "127.0.0.1", port: options.server.tcpAddr.port },
    udpTarget: options.relay?.addr,
    create: options.create,
    room: options.room,
    username: options.username,
    timings: options.timings,
  });
  return new Member(session);
}

Deno.test("with ~20% loss both ways every message arrives once, in order, and is delivered", async () => {
  const NAMES = ["alice", "bob", "carol"];
  const PER_MEMBER = 30;
  // Heartbeats every 0.5 s repair a lost tail quickly; the server drops a
  // member after 3 silent heartbeats, which the relay's drop streak of 1 rules out.
  const server = startTestServer({ heartbeatSeconds: 0.5 });
  const relay = startFaultProxy({
    target: { hostname: "127.0.0.1", port: server.udpAddr.port },
    seed: 20240611,
    // A drop streak of at most 1 turns 25% into 0.25 / 1.25 = 20% dropped.
    lossToServer: 0.25,
    lossToClient: 0.25,
    maxDropStreak: 1,
    duplicate: 0.05,
    reorder: 0.1,
    maxDelayMs: 20,
  });
  // A send fails when the MESSAGE or its ACK is lost: 1 - 0.8 * 0.8 = 36% a try.
  // Retries double, so the base must be short for enough tries to fit in the
  // test: from 5 ms, 11 sends go out within 5.2 s (all lost: 0.36^11 = 1.3e-5
  // a message), and 14 tries take 80 s, so none is given up on in the test.
  const timings: Partial<SessionTimings> = {
    retryBaseMs: 5,
    sendTries: 14,
    resendIntervalMs: 100,
    resendTries: 20,
    helloIntervalMs: 100,
  };
  const members: Member[] = [];
  const started = performance.now();
  try {
    for (const [i, username] of NAMES.entries()) {
      members.push(
        await join({ server, room: "lossy", username, create: i === 0, timings, relay }),
      );
    }
    // Every member sends, paced a little, all at the same time.
    const sentIds = new Map<string, Map<number, string>>(NAMES.map((n) => [n, new Map()]));
    await Promise.all(members.map(async (member, i) => {
      for (let k = 1; k <= PER_MEMBER; k++) {
        const text = `${NAMES[i]} #${k}`;
        sentIds.get(NAMES[i]!)!.set(member.session.send(text), text);
        await sleep(5);
      }
    }));
    const total = NAMES.length * PER_MEMBER;
    await waitUntil(
      () =>
        members.every((m) =>
          m.of("message").length >= total &&
          m.of("delivered").length + m.of("undelivered").length >= PER_MEMBER
        ),
      "every message at every member",
      8_000,
    ).catch((error) => {
      // Say where each member got stuck.
      const state = members.map((m, i) =>
        `${NAMES[i]}: ${m.of("message").length} messages, ${m.of("delivered").length} delivered, ` +
        JSON.stringify(m.events.filter((e) => e.type !== "message" && e.type !== "delivered"))
      );
      throw new Error(`${error.message}\n${state.join("\n")}\n${JSON.stringify(relay.stats)}`);
    });
    await sleep(100); // time for a stray duplicate to show up, were any let through

    const expected = NAMES.flatMap((n) =>
      Array.from({ length: PER_MEMBER }, (_, k) => `${n} #${k + 1}`)
    );
    const seqOf = new Map<string, number>();
    for (const [i, member] of members.entries()) {
      const who = NAMES[i];
      const messages = member.of("message");
      assert.equal(messages.length, total, `${who} got each message exactly once`);
      assert.deepEqual(
        messages.map((m) => m.text).toSorted(),
        expected.toSorted(),
        `${who} got every message`,
      );
      for (let k = 1; k < messages.length; k++) {
        assert.ok(messages[k]!.seq > messages[k - 1]!.seq, `${who} got them in seq order`);
      }
      // Every member sees the same seq for the same message.
      for (const m of messages) {
        const seen = seqOf.get(m.text);
        if (seen === undefined) seqOf.set(m.text, m.seq);
        else assert.equal(m.seq, seen, `${who} numbers "${m.text}" like the others`);
      }
      assert.deepEqual(member.of("missed"), [], `${who} missed nothing`);
      assert.deepEqual(member.of("undelivered"), [], `${who} had no send fail`);
      const delivered = member.of("delivered");
      assert.equal(delivered.length, PER_MEMBER);
      for (const d of delivered) {
        const text = sentIds.get(who!)!.get(d.msgId);
        assert.ok(text !== undefined, `delivered msgId ${d.msgId} was sent by ${who}`);
        assert.equal(d.seq, seqOf.get(text), `the ACK's seq is the event's seq`);
      }
    }
    // The loss was real.
    for (const direction of ["toServer", "toClient"] as Direction[]) {
      const { received, dropped } = relay.stats[direction];
      const share = dropped / received;
      assert.ok(share > 0.12 && share < 0.3, `${direction}: dropped ${dropped} of ${received}`);
    }
    assert.ok(relay.stats.toClient.duplicated > 0 && relay.stats.toClient.delayed > 0);
  } finally {
    // Members first, the host last, so nobody is closed by the host leaving.
    for (const member of members.toReversed()) await member.leave();
    await relay.close();
    await server.shutdown();
  }
  assert.ok(performance.now() - started < 10_000, "took under 10 s");
});

Deno.test("RESEND repairs events lost in a blackout of server-to-client EVENTs", async () => {
  const server = startTestServer(); // heartbeats every 10 s: only RESEND can repair here
  let blackout = false;
  let dropNextResend = true;
  const resends: ClientBody[] = [];
  const relay = startFaultProxy({
    target: { hostname: "127.0.0.1", port: server.udpAddr.port },
    shouldDrop: (direction, bytes) => {
      if (direction === "toClient") return blackout && bytes[0] === ServerKind.EVENT;
      const { body } = decodeClientDatagram(bytes);
      if (body.kind !== "resend") return false;
      resends.push(body);
      // The first RESEND is lost too, so the session must ask again.
      const drop = dropNextResend;
      dropNextResend = false;
      return drop;
    },
  });
  const timings: Partial<SessionTimings> = { resendIntervalMs: 100, retryBaseMs: 100 };
  const members: Member[] = [];
  try {
    const alice = await join({
      server,
      room: "gappy",
      username: "alice",
      create: true,
      timings,
      relay,
    });
    members.push(alice);
    const bob = await join({ server, room: "gappy", username: "bob", create: false, timings });
    members.push(bob);
    await waitUntil(() => alice.of("joined").some((e) => e.name === "bob"), "bob's JOINED", 3_000);
    const bobJoinedSeq = alice.of("joined").find((e) => e.name === "bob")!.seq;

    blackout = true;
    for (let k = 1; k <= 5; k++) bob.session.send(`m${k}`);
    await waitUntil(() => bob.of("delivered").length === 5, "bob's five ACKs", 3_000);
    await waitUntil(() => relay.stats.toClient.dropped >= 5, "five EVENTs dropped", 3_000);
    assert.equal(alice.of("message").length, 0, "alice saw none of them");
    assert.equal(resends.length, 0, "no gap is visible yet");

    blackout = false;
    bob.session.send("m6");
    await waitUntil(() => alice.of("message").length === 6, "alice's repair", 5_000);

    const messages = alice.of("message");
    assert.deepEqual(messages.map((m) => m.text), ["m1", "m2", "m3", "m4", "m5", "m6"]);
    assert.deepEqual(
      messages.map((m) => m.seq),
      Array.from({ length: 6 }, (_, k) => bobJoinedSeq + 1 + k),
    );
    assert.deepEqual(alice.of("missed"), []);
    const gap = { kind: "resend", fromSeq: bobJoinedSeq + 1, toSeq: bobJoinedSeq + 5 };
    assert.ok(resends.length >= 2, `asked again after a lost RESEND (${resends.length})`);
    assert.deepEqual(resends.slice(0, 2), [gap, gap]);
    await sleep(250);
    assert.equal(alice.of("message").length, 6, "each repaired event once");
  } finally {
    for (const member of members.toReversed()) await member.leave();
    await relay.close();
    await server.shutdown();
  }
});
