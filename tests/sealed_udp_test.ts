/**
 * Sealed datagrams against a real server on loopback sockets, with members
 * made by hand from the codecs (server/sealed/sealed_client_test_util.ts),
 * not the project's client. Most members are admitted the way the sealed
 * handshake admits them (the registry, then the session issuer) without
 * the TCRP exchange, which tests/sealed_handshake_test.ts covers; the last
 * test admits them through the real exchange.
 *
 * Nothing here sleeps to wait for silence: a test that expects no answer to
 * some datagrams sends a HEARTBEAT after them and waits for its
 * heartbeatAck. The server handles one socket's datagrams in order, so when
 * that ack arrives every earlier datagram has been handled (and answered,
 * if it ever would be).
 */
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { encodeServerDatagram } from "../protocol/datagram.ts";
import {
  encodeSealedClientBody,
  openRoomDatagram,
  peekSealedHeader,
  RESET_DATAGRAM_BYTES,
  sealMemberDatagram,
  sealRoomDatagram,
} from "../protocol/sealed_datagram.ts";
import { bodyOf, SealedTestClient } from "../server/sealed/sealed_client_test_util.ts";
import { kindOf, Member, Scene, type Socket } from "../server/sealed/sealed_loopback_test_util.ts";
import { requestSealedMembership } from "../client/tcrp_client.ts";
import { ask, server, trusting } from "../testing/sealed_tcrp.ts";
import { waitUntil } from "../testing/wait.ts";

Deno.test("sealed udp: every bit flip of a captured datagram, from the member's address and from another, is dropped and counted, unanswered but for resets, and moves nothing", async () => {
  const scene = new Scene();
  try {
    const ann = await scene.member("lab", "ann", true);
    const front = scene.server.sealed.front;
    const session = scene.server.sealed.sessions.byId(ann.client.session.sessionId)!;
    const captured = ann.client.seal({ kind: "message", msgId: 1, text: "tamper with me" });
    const stranger = scene.socket("127.0.0.2");
    for (const socket of [ann.socket, stranger]) {
      const before = {
        dispatched: front.stats.dispatched,
        highest: session.window.highest,
        endpoint: `${session.endpoint!.hostname}:${session.endpoint!.port}`,
      };
      const received = socket.received.length;
      let barriers = 0;
      for (let bit = 0; bit < captured.length * 8; bit++) {
        const flipped = captured.slice();
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        await socket.send(flipped);
        // Paced, so the server's receive buffer (small on the "deno" socket) drops none.
        if (bit % 32 === 31) {
          await ann.barrier();
          barriers++;
        }
      }
      await ann.barrier(); // (the stranger's datagrams come first: the server reads in order)
      barriers++;
      assert.equal(front.stats.dispatched, before.dispatched + barriers, "only the barriers");
      assert.equal(session.window.highest, ann.client.counter - 1);
      assert.equal(`${session.endpoint!.hostname}:${session.endpoint!.port}`, before.endpoint);
      // The only answers: stateless resets for the flipped session ids, shorter than a trigger.
      const answers = socket.received.slice(received).filter((bytes) =>
        socket !== ann.socket || ann.client.open(bytes)?.channel === "reset"
      );
      for (const bytes of answers) {
        assert.equal(bytes.length, RESET_DATAGRAM_BYTES);
        assert.ok(bytes.length < captured.length);
        const header = peekSealedHeader(bytes);
        assert.ok(header.type === "reset");
        assert.notDeepEqual(header.sessionId, ann.client.session.sessionId);
      }
      assert.ok(answers.length <= 10, "resets are rate limited (5 a second, bursts of 10)");
    }
    const { stats } = front;
    // A flipped marker bit makes a plain datagram: dropped unanswered by a sealed-only server.
    assert.equal(
      stats.malformed + stats.unknownSession + stats.failedOpen + stats.overBudget + stats.replayed,
      2 * 8 * (captured.length - 1),
    );
    // The original, never sent before, still goes through.
    await ann.socket.send(captured);
    await ann.expect((o) => kindOf(o) === "ack", "the ACK of the original");
  } finally {
    await scene.close();
  }
});

Deno.test("sealed udp: replayed datagrams, from the same address and new ones, are dropped unanswered and move nothing", async () => {
  const scene = new Scene();
  try {
    const ann = await scene.member("lab", "ann", true);
    const bob = await scene.member("lab", "bob");
    const message = bob.client.seal({ kind: "message", msgId: 1, text: "only once" });
    await bob.socket.send(message);
    await ann.expect(
      (o) => bodyOf(o)?.kind === "event" && bodyOf(o)!.kind === "event",
      "the EVENT",
    );
    await bob.barrier();
    const front = scene.server.sealed.front;
    const replayed = front.stats.replayed;
    const dispatched = front.stats.dispatched;
    const elsewhere = [scene.socket(), scene.socket("127.0.0.2")];
    for (const socket of [bob.socket, ...elsewhere]) {
      await socket.send(message);
      await socket.send(message);
    }
    await bob.barrier();
    await ann.barrier();
    assert.equal(front.stats.replayed, replayed + 6);
    assert.equal(front.stats.dispatched, dispatched + 2);
    for (const socket of elsewhere) assert.equal(socket.received.length, 0);
    const events = ann.opened.filter((o) => bodyOf(o)?.kind === "event" && o.channel === "room");
    assert.equal(
      events.filter((o) => (bodyOf(o) as { text: string }).text === "only once").length,
      1,
    );
    assert.equal(scene.server.sealed.front.stats.moved, 0);
  } finally {
    await scene.close();
  }
});

Deno.test("sealed udp: insiders: no member opens another's channel, forges the room, or reads it after leaving", async () => {
  const scene = new Scene();
  try {
    const ann = await scene.member("lab", "ann", true);
    const bob = await scene.member("lab", "bob");
    const carol = await scene.member("lab", "carol");
    await ann.send({ kind: "message", msgId: 1, text: "for the room" });
    await ann.expect((o) => kindOf(o) === "ack", "ann's ACK");
    // Ann's ACK, WELCOME and the rest of her channel are hers alone.
    const annsMember = ann.socket.received.filter((b) => peekSealedHeader(b).type === "member");
    assert.ok(annsMember.length >= 2);
    for (const bytes of annsMember) assert.equal(bob.client.open(bytes), null);
    // Bob holds the epoch key but not the server's signing key: a forged EVENT opens for nobody,
    // and the server drops a room datagram from a client unanswered.
    const forged = sealRoomDatagram(nodeCrypto, {
      key: bob.client.epochs.get(1)!,
      epoch: 1,
      counter: 1 << 20,
      inner: encodeServerDatagram({
        kind: "event",
        seq: 99,
        timeMs: 0,
        type: 1,
        name: "ann",
        text: "forged",
      }),
      signer: nodeCrypto.ed25519Signer(),
    });
    assert.equal(ann.client.open(forged), null);
    // Nor can he forge ann's CLOSED or ERROR: her channel's key is not his.
    const closed = sealMemberDatagram(nodeCrypto, {
      key: bob.client.session.serverKey,
      sessionId: ann.client.session.sessionId,
      counter: 1 << 20,
      inner: encodeServerDatagram({ kind: "closed", reason: 1, text: "bye" }),
    });
    assert.equal(ann.client.open(closed), null);
    const malformed = scene.server.sealed.front.stats.malformed;
    await bob.socket.send(forged);
    await bob.barrier();
    assert.equal(scene.server.sealed.front.stats.malformed, malformed + 1);
    assert.equal(
      ann.drain().filter((o) => (bodyOf(o) as { text?: string }).text === "forged").length,
      0,
    );
    // Carol leaves; bob and ann get a KEY, then the room moves on without her.
    const carolKey = carol.client.epochs.get(1)!;
    await carol.send({ kind: "leave" });
    await carol.expect((o) => kindOf(o) === "closed", "carol's CLOSED");
    await bob.expect((o) => kindOf(o) === "key", "bob's KEY");
    await ann.send({ kind: "message", msgId: 2, text: "after carol" });
    const after = await bob.expect(
      (o) => o.channel === "room" && (bodyOf(o) as { text?: string }).text === "after carol",
      "the message after carol left",
    );
    assert.equal(after.channel === "room" && after.epoch, 2);
    const roomAfter = bob.socket.received.filter((b) => {
      const header = peekSealedHeader(b);
      return header.type === "room" && header.epoch >= 2;
    });
    assert.ok(roomAfter.length >= 2); // "left" and the message
    for (const bytes of roomAfter) {
      assert.equal(openRoomDatagram(nodeCrypto, carolKey, bytes), null);
    }
  } finally {
    await scene.close();
  }
});

Deno.test("sealed udp: amplification: a stranger gets fewer bytes than it sent; a member at a new IP at most 3x until it answers the challenge", async () => {
  const scene = new Scene();
  try {
    const ann = await scene.member("lab", "ann", true);
    const bob = await scene.member("lab", "bob");
    for (let i = 1; i <= 50; i++) await ann.send({ kind: "message", msgId: i, text: `event ${i}` });
    await ann.expect((o) => (bodyOf(o) as { msgId?: number }).msgId === 50, "the 50th ACK");
    // A stranger: unknown sessions and garbage.
    const stranger = scene.socket("127.0.0.2");
    for (let i = 0; i < 40; i++) {
      const sessionId = nodeCrypto.randomBytes(8);
      await stranger.send(sealMemberDatagram(nodeCrypto, {
        key: nodeCrypto.randomBytes(32),
        sessionId,
        counter: i,
        inner: encodeSealedClientBody({ kind: "hello", lastSeq: 0 }),
      }));
      await stranger.send(new Uint8Array([0, 1, 2, 3, 4, 5]));
    }
    // Bob at a new IP asks for the last 50 events, 4 times, before answering any challenge.
    const roamed = scene.socket("127.0.0.2");
    for (let i = 0; i < 4; i++) await roamed.send(bob.client.seal({ kind: "hello", lastSeq: 0 }));
    const seen = await bob.barrier(roamed);
    await ann.barrier();
    assert.ok(stranger.bytesIn <= stranger.bytesOut, `${stranger.bytesIn} > ${stranger.bytesOut}`);
    assert.ok(roamed.bytesIn <= 3 * roamed.bytesOut, `${roamed.bytesIn} > 3 x ${roamed.bytesOut}`);
    const challenge = seen.find((o) => kindOf(o) === "pathChallenge");
    assert.ok(challenge?.channel === "member" && challenge.control.kind === "pathChallenge");
    // Answered: the path is validated and bob moves; now the replay comes whole.
    bob.socket = roamed;
    await bob.send({ kind: "pathResponse", challenge: challenge.control.challenge });
    await waitUntil(() => scene.server.sealed.front.stats.moved === 1, "bob moved");
    const before = roamed.received.length;
    await bob.send({ kind: "hello", lastSeq: 0 });
    await waitUntil(() => roamed.received.length - before >= 51, "WELCOME and 50 events");
  } finally {
    await scene.close();
  }
});

Deno.test("sealed udp: an unknown session gets a stateless reset shorter than its trigger, at most 10 at once per source", async () => {
  const scene = new Scene();
  try {
    const ann = await scene.member("lab", "ann", true);
    const bob = await scene.member("lab", "bob");
    const session = ann.client.session;
    // The server forgets ann (as after a restart with the same key): her datagrams earn resets.
    const { sessions } = scene.server.sealed;
    sessions.onRemoved({ tokenKey: sessions.byId(session.sessionId)!.tokenKey });
    const before = ann.socket.received.length;
    const started = performance.now();
    for (let i = 0; i < 30; i++) await ann.send({ kind: "heartbeat", lastSeq: 0 });
    await bob.barrier();
    const seconds = (performance.now() - started) / 1000;
    const resets = ann.drain().filter((o) => o.channel === "reset");
    assert.equal(ann.socket.received.length - before, resets.length);
    // Bursts of 10, then 5 a second: a slow machine earns a few more meanwhile.
    const most = 10 + Math.ceil(5 * seconds);
    assert.ok(resets.length >= 10 && resets.length <= most, `${resets.length} resets`);
    assert.ok(resets.length < 30);
    for (const reset of resets) {
      assert.ok(reset.channel === "reset");
      assert.deepEqual(reset.token, session.resetToken);
    }
    assert.ok(ann.socket.received.slice(before).every((b) => b.length === RESET_DATAGRAM_BYTES));
    assert.ok(RESET_DATAGRAM_BYTES < ann.client.seal({ kind: "leave" }).length);
  } finally {
    await scene.close();
  }
});

Deno.test("sealed udp: a MESSAGE resent with a fresh counter is ACKed again with the same seq and relayed once", async () => {
  const scene = new Scene();
  try {
    const ann = await scene.member("lab", "ann", true);
    const bob = await scene.member("lab", "bob");
    for (let i = 0; i < 3; i++) await bob.send({ kind: "message", msgId: 1, text: "lost ACK?" });
    await bob.barrier();
    await ann.barrier();
    const acks = bob.opened.filter((o) => kindOf(o) === "ack").map(bodyOf);
    assert.equal(acks.length, 3);
    assert.ok(acks.every((ack) => JSON.stringify(ack) === JSON.stringify(acks[0])));
    const texts = ann.opened.filter((o) => o.channel === "room").map((o) =>
      (bodyOf(o) as { text: string }).text
    );
    assert.equal(texts.filter((text) => text === "lost ACK?").length, 1);
  } finally {
    await scene.close();
  }
});

Deno.test("sealed udp: roaming: a new port on the same IP moves at once; a new IP only after PATH_RESPONSE, the room staying on the old endpoint meanwhile", async () => {
  const scene = new Scene();
  try {
    const ann = await scene.member("lab", "ann", true);
    const bob = await scene.member("lab", "bob");
    const oldSocket = bob.socket;
    const say = async (msgId: number) => {
      await ann.send({ kind: "message", msgId, text: `m${msgId}` });
      await ann.expect((o) => (bodyOf(o) as { msgId?: number }).msgId === msgId, `ACK ${msgId}`);
    };
    const heard = (socket: Socket, msgId: number) =>
      bob.drain(socket).some((o) =>
        o.channel === "room" && (bodyOf(o) as { text: string }).text === `m${msgId}`
      );
    // A NAT rebinding: same IP, new port.
    bob.socket = scene.socket();
    await bob.barrier();
    await say(1);
    await waitUntil(() => heard(bob.socket, 1), "m1 at bob's new port");
    // A new IP: a challenge, and the room stays on the last validated endpoint.
    const portSocket = bob.socket;
    bob.socket = scene.socket("127.0.0.2");
    const challenged = await bob.barrier();
    const challenge = challenged.find((o) => kindOf(o) === "pathChallenge");
    assert.ok(challenge?.channel === "member" && challenge.control.kind === "pathChallenge");
    await say(2);
    await waitUntil(() => heard(portSocket, 2), "m2 at the old endpoint");
    await bob.send({ kind: "pathResponse", challenge: challenge.control.challenge });
    await waitUntil(() => scene.server.sealed.front.stats.moved === 2, "the move");
    await say(3);
    await waitUntil(() => heard(bob.socket, 3), "m3 at the new IP");
    assert.equal(heard(portSocket, 3), false);
    assert.equal(heard(oldSocket, 2), false);
  } finally {
    await scene.close();
  }
});

Deno.test("sealed udp: the nonce audit sees every seal over joins, leaves, rekeys, replays and retransmissions, and no (key, nonce) repeats", async () => {
  const scene = new Scene();
  try {
    const host = await scene.member("lab", "host", true);
    const members: Member[] = [];
    for (let round = 0; round < 6; round++) {
      for (let j = 0; j < 3; j++) members.push(await scene.member("lab", `m${round}${j}`));
      for (const [i, member] of members.entries()) {
        await member.send({ kind: "message", msgId: round + 1, text: `r${round}` });
        if (i % 2 === 0) {
          await member.send({ kind: "message", msgId: round + 1, text: `r${round}` });
        }
        if (i % 3 === 0) await member.send({ kind: "resend", fromSeq: 1, toSeq: 30 });
      }
      const keys = scene.server.sealed.sessions.byId(host.client.session.sessionId)!.channel.keys;
      const epoch = keys.epoch;
      for (let j = 0; j < 2; j++) {
        const gone = members.shift()!;
        await gone.send({ kind: "leave" });
        await gone.expect((o) => kindOf(o) === "closed", "CLOSED");
      }
      // The "left" events wait for a rekey (at most 2 a second): let it happen each round.
      await waitUntil(() => keys.epoch > epoch, "the rekey");
    }
    await host.barrier();
    const { transport } = scene.server.sealed;
    assert.ok(transport.stats.keysSent >= 6 * 3, `${transport.stats.keysSent} KEYs`);
    assert.ok(transport.stats.cacheHits > 10, `${transport.stats.cacheHits} cache hits`);
    await waitUntil(
      () => scene.nonces.length === transport.stats.roomSeals + transport.stats.memberSeals,
      "every seal audited",
    );
    assert.equal(new Set(scene.nonces).size, scene.nonces.length, "a (key, nonce) repeated");
  } finally {
    await scene.close();
  }
});

Deno.test("sealed udp: members admitted by the real sealed handshake talk over sealed datagrams with the keys of its answer", async () => {
  const scene = new Scene();
  try {
    const s = scene.server;
    const admit = async (operation: "create" | "join", username: string) => {
      const answer = await requestSealedMembership(
        server(s),
        ask(operation, "real", username),
        trusting(s),
      );
      assert.deepEqual(answer.session.signingKey, s.sealed.sessions.signingKey);
      const member = new Member(
        new SealedTestClient(nodeCrypto, answer.session, answer.session.signingKey),
        scene.socket(),
      );
      await member.send({ kind: "hello", lastSeq: 0 });
      await member.expect((o) => kindOf(o) === "welcome", `${username}'s WELCOME`);
      return member;
    };
    const ann = await admit("create", "ann");
    const bob = await admit("join", "bob");
    await bob.send({ kind: "message", msgId: 1, text: "sealed end to end" });
    const event = await ann.expect(
      (o) => o.channel === "room" && (bodyOf(o) as { text?: string }).text === "sealed end to end",
      "bob's message at ann",
    );
    assert.equal((bodyOf(event) as { name: string }).name, "bob");
    // The server remembers a session's reset token as the answer gave it.
    const session = s.sealed.sessions.byId(bob.client.session.sessionId)!;
    assert.deepEqual(session.resetToken, bob.client.session.resetToken);
  } finally {
    await scene.close();
  }
});
