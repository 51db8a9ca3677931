/**
 * Revision 2 end to end, through real sockets: a burst far over the
 * message rate arrives whole and in order with no ERROR 429 (the client
 * paces, the server shapes), and over a lossy, reordering link every
 * member still sees each sender's messages in the order they were sent.
 */
import assert from "node:assert/strict";
import { decodeServerDatagram, ServerKind } from "../protocol/datagram.ts";
import type { ChatSession, SessionEvent, SessionTimings } from "../client/session.ts";
import { openChatSession } from "../client/tcp_udp_connector.ts";
import { decodeJsonObject, Operation } from "../protocol/tcrp.ts";
import { requestFrame, roomRequest, tcrpRequest, UdpMember } from "../testing/raw_client.ts";
import { startTestServer, type TestServer } from "../testing/test_server.ts";
import { waitUntil } from "../testing/wait.ts";
import { type FaultProxy, startFaultProxy } from "../tools/fault_proxy.ts";

class Member {
  readonly events: SessionEvent[] = [];
  readonly done: Promise<void>;

  constructor(readonly name: string, readonly session: ChatSession) {
    this.done = (async () => {
      for await (const event of session) this.events.push(event);
    })();
  }

  of<T extends SessionEvent["type"]>(type: T): (SessionEvent & { type: T })[] {
    return this.events.filter((e): e is SessionEvent & { type: T } => e.type === type);
  }

  /** Texts of the messages from `sender`, in the order they were handed out. */
  textsFrom(sender: string): string[] {
    return this.of("message").filter((m) => m.name === sender).map((m) => m.text);
  }
}

async function join(
  server: TestServer,
  username: string,
  create: boolean,
  options: { relay?: FaultProxy; timings?: Partial<SessionTimings> } = {},
): Promise<Member> {
  const session = await openChatSession({
    server: { hostname: "127.0.0.1", port: server.tcpAddr.port },
    udpTarget: options.relay?.addr,
    create,
    room: "ordered",
    username,
    timings: options.timings,
  });
  return new Member(username, session);
}

/** Leaves in the reverse of joining (the host last), then stops the relay and the server. */
async function stopAll(members: Member[], relay: FaultProxy, server: TestServer): Promise<void> {
  for (const member of members.toReversed()) {
    await member.session.leave();
    await member.done;
  }
  await relay.close();
  await server.shutdown();
}

const texts = (who: string, n: number) => Array.from({ length: n }, (_, k) => `${who} #${k + 1}`);

Deno.test("60 messages sent at once at the default rate (20/s, bursts of 40) all arrive, in order, no 429", async () => {
  const server = startTestServer(); // the default --rate-limit 20
  // A relay that only watches: it counts every ERROR and REFUSED the server sends.
  const refusals: string[] = [];
  const relay = startFaultProxy({
    target: { hostname: "127.0.0.1", port: server.udpAddr.port },
    shouldDrop: (direction, bytes) => {
      if (
        direction === "toClient" &&
        (bytes[0] === ServerKind.ERROR || bytes[0] === ServerKind.REFUSED)
      ) {
        refusals.push(JSON.stringify(decodeServerDatagram(bytes)));
      }
      return false;
    },
  });
  const members: Member[] = [];
  try {
    const alice = await join(server, "alice", true);
    members.push(alice);
    const bob = await join(server, "bob", false, { relay });
    members.push(bob);
    assert.equal(bob.session.accepted.protocol, 2);
    assert.equal(bob.session.accepted.messageRate, 20);
    const sent = texts("bob", 60);
    const started = performance.now();
    for (const text of sent) bob.session.send(text);
    await waitUntil(
      () => alice.textsFrom("bob").length === 60 && bob.of("delivered").length === 60,
      "all 60 at alice, and bob's 60 ACKs",
      10_000,
    );
    const elapsed = performance.now() - started;
    assert.deepEqual(alice.textsFrom("bob"), sent);
    assert.deepEqual(bob.textsFrom("bob"), sent);
    assert.deepEqual(bob.of("error"), []);
    assert.deepEqual(bob.of("undelivered"), []);
    assert.deepEqual(refusals, [], "no ERROR or REFUSED from the server");
    // 40 at once, 20 more at 20 a second: about a second, not less.
    assert.ok(elapsed >= 900, `paced: ${elapsed} ms`);
  } finally {
    await stopAll(members, relay, server);
  }
});

Deno.test("over a lossy, reordering link each sender's messages arrive in the order sent", async () => {
  const server = startTestServer({ heartbeatSeconds: 0.5, rateLimit: 0 });
  const relay = startFaultProxy({
    target: { hostname: "127.0.0.1", port: server.udpAddr.port },
    seed: 20261202,
    lossToServer: 0.25,
    lossToClient: 0.25,
    maxDropStreak: 1,
    duplicate: 0.05,
    reorder: 0.3,
    maxDelayMs: 20,
  });
  const timings: Partial<SessionTimings> = {
    retryBaseMs: 5,
    sendTries: 14,
    resendIntervalMs: 100,
    helloIntervalMs: 100,
  };
  const NAMES = ["alice", "bob", "carol"];
  const PER_MEMBER = 40;
  const members: Member[] = [];
  try {
    for (const [i, name] of NAMES.entries()) {
      members.push(await join(server, name, i === 0, { relay, timings }));
    }
    for (const member of members) {
      for (const text of texts(member.name, PER_MEMBER)) {
        member.session.send(text);
      }
    }
    await waitUntil(
      () =>
        members.every((m) =>
          m.of("message").length >= NAMES.length * PER_MEMBER &&
          m.of("delivered").length + m.of("undelivered").length >= PER_MEMBER
        ),
      "every message at every member",
      15_000,
    );
    for (const receiver of members) {
      for (const sender of NAMES) {
        assert.deepEqual(
          receiver.textsFrom(sender),
          texts(sender, PER_MEMBER),
          `${receiver.name} has ${sender}'s messages in the order sent`,
        );
      }
      assert.deepEqual(receiver.of("undelivered"), []);
      assert.deepEqual(receiver.of("error"), []);
    }
    // The link really lost and reordered what the clients sent.
    assert.ok(relay.stats.toServer.dropped > 10, JSON.stringify(relay.stats));
    assert.ok(relay.stats.toServer.delayed > 10, JSON.stringify(relay.stats));
  } finally {
    await stopAll(members, relay, server);
  }
});

Deno.test("every state-1 answer says protocol 2; a protocol that is not a whole number from 1 is 400", async () => {
  const server = startTestServer();
  try {
    const answer = async (op: number, room: string, payload: string) => {
      const exchange = await tcrpRequest(server.tcpAddr, requestFrame(op, room, payload));
      return decodeJsonObject(exchange.frames[0]!.payload);
    };
    const missing = await answer(Operation.JOIN_ROOM, "nowhere", '{"username":"u","protocol":2}');
    assert.deepEqual([missing.status, missing.protocol], [404, 2]);
    const list = await answer(Operation.LIST_ROOMS, "", "");
    assert.deepEqual([list.status, list.protocol], [200, 2]);
    for (const bad of ["0", "1.5", '"2"', "-3"]) {
      const refused = await answer(
        Operation.CREATE_ROOM,
        "r",
        `{"username":"u","protocol":${bad}}`,
      );
      assert.deepEqual([refused.status, refused.protocol], [400, 2], bad);
    }
    const created = await answer(Operation.CREATE_ROOM, "r", '{"username":"u","protocol":1}');
    assert.deepEqual([created.status, created.protocol, created.messageWindow], [200, 2, 32]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("the server shapes a raw burst over the rate (no refusal) and skips a gap after --gap-timeout", async () => {
  const server = startTestServer({ gapTimeoutSeconds: 1 }); // --rate-limit 20, bursts of 40
  const members: UdpMember[] = [];
  try {
    const host = await roomRequest(server.tcpAddr, "create", { room: "raw", username: "ann" });
    const joined = await roomRequest(server.tcpAddr, "join", {
      room: "raw",
      username: "bob",
      protocol: 2,
    });
    const ann = new UdpMember(server.udpAddr, "raw", host.token!);
    const bob = new UdpMember(server.udpAddr, "raw", joined.token!);
    members.push(ann, bob);
    await ann.send({ kind: "hello", lastSeq: 0 });
    await bob.send({ kind: "hello", lastSeq: 0 });
    await ann.next("welcome");
    await bob.next("welcome");
    const started = performance.now();
    for (let msgId = 1; msgId <= 50; msgId++) {
      await bob.send({ kind: "message", msgId, text: `m${msgId}` });
    }
    const seqs: number[] = [];
    for (let msgId = 1; msgId <= 50; msgId++) {
      seqs.push((await bob.next("ack", 3_000, (ack) => ack.msgId === msgId)).seq);
    }
    const shapedMs = performance.now() - started;
    // 40 at once, 10 more at 20 a second, in msgId order.
    assert.deepEqual(seqs, seqs.toSorted((a, b) => a - b));
    assert.ok(shapedMs >= 400, `the last 10 waited for the rate: ${shapedMs} ms`);
    for (let msgId = 1; msgId <= 50; msgId++) {
      const event = await ann.next("event", 3_000, (e) => e.name === "bob" && e.type === 1);
      assert.equal(event.text, `m${msgId}`);
    }

    // msgId 51 never comes: 52 waits, then 51 is skipped.
    const gapStarted = performance.now();
    await bob.send({ kind: "message", msgId: 52, text: "m52" });
    const refused = await bob.next("refused", 3_000);
    assert.deepEqual([refused.msgId, refused.code], [51, 410]);
    assert.ok(performance.now() - gapStarted >= 900, "after the gap timeout");
    await bob.next("ack", 1_000, (ack) => ack.msgId === 52);
    assert.equal((await ann.next("event", 1_000, (e) => e.type === 1)).text, "m52");
    await bob.send({ kind: "message", msgId: 51, text: "late" });
    const again = await bob.next("refused", 1_000);
    assert.deepEqual([again.msgId, again.code], [51, 410], "the same answer again");
    await assert.rejects(bob.next("error", 200), "no ERROR at any point");
    assert.equal(server.registry.holdingMembers, 0);
  } finally {
    for (const member of members) await member.close();
    await server.shutdown();
  }
});
