/** The receive side: what is dropped unanswered, resets, budgets, replays, roaming and its 3x. */
import assert from "node:assert/strict";
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import {
  encodeSealedClientBody,
  peekSealedHeader,
  RESET_DATAGRAM_BYTES,
  sealMemberDatagram,
} from "../../protocol/sealed_datagram.ts";
import { bodyOf, type SealedTestClient } from "./sealed_client_test_util.ts";
import { SealedHarness, type Sent } from "./sealed_harness_test_util.ts";
import { AMPLIFICATION_FACTOR } from "./paths.ts";

const ANN = "127.0.0.1:5001";
const BOB = "127.0.0.1:5002";
const BOB_NEW_PORT = "127.0.0.1:6002";
const BOB_NEW_IP = "127.0.0.2:7002";

function room(options = {}) {
  const h = new SealedHarness(options);
  const ann = h.create("lobby", "ann");
  const bob = h.join("lobby", "bob");
  for (const [client, at] of [[ann, ANN], [bob, BOB]] as const) {
    for (const s of h.receive(client.seal({ kind: "hello", lastSeq: 0 }), at)) {
      if (s.to === at) client.open(s.bytes);
    }
  }
  h.sent.length = 0;
  return { h, ann, bob };
}

const to = (sent: Sent[], at: string) => sent.filter((s) => s.to === at);
const bytesTo = (sent: Sent[], at: string) =>
  to(sent, at).reduce((sum, s) => sum + s.bytes.length, 0);
const roomDatagrams = (sent: Sent[]) =>
  sent.filter((s) => peekSealedHeader(s.bytes).type === "room");

/** What a session's state looks like from outside: for "nothing moved". */
function stateOf(h: SealedHarness, client: SealedTestClient) {
  const session = h.sessions.byId(client.session.sessionId)!;
  return {
    endpoint: `${session.endpoint?.hostname}:${session.endpoint?.port}`,
    highest: session.window.highest,
    dispatched: h.front.stats.dispatched,
    paths: session.paths.size,
  };
}

Deno.test("sealed front: every bit flip of a captured datagram is dropped and counted, unanswered but for resets of unknown ids, and moves nothing", () => {
  for (const from of [BOB, BOB_NEW_IP]) {
    const { h, bob } = room();
    const captured = bob.seal({ kind: "message", msgId: 1, text: "hello" });
    const before = stateOf(h, bob);
    const received = h.front.stats.received;
    let resets = 0;
    for (let bit = 0; bit < captured.length * 8; bit++) {
      const flipped = captured.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const dropped = Object.values(h.front.stats).reduce((a, b) => a + b, 0);
      const sent = h.receive(flipped, from);
      const inSessionId = bit >= 16 && bit < 80;
      for (const s of sent) {
        // An unknown session id earns a stateless reset: shorter than its trigger, and not ours.
        assert.ok(inSessionId, `bit ${bit} was answered`);
        assert.equal(s.to, from);
        assert.ok(s.bytes.length === RESET_DATAGRAM_BYTES && s.bytes.length < flipped.length);
        const reset = peekSealedHeader(s.bytes);
        assert.ok(reset.type === "reset");
        assert.notDeepEqual(reset.sessionId, bob.session.sessionId);
        resets++;
      }
      // Exactly one counter moved: received, plus the one reason it was dropped.
      const after = Object.values(h.front.stats).reduce((a, b) => a + b, 0);
      assert.equal(after - dropped, 2, `bit ${bit}`);
      assert.deepEqual(stateOf(h, bob), before, `bit ${bit}`);
    }
    assert.ok(resets > 0 && resets <= 64);
    const { stats } = h.front;
    assert.equal(stats.received - received, captured.length * 8);
    assert.equal(
      stats.malformed + stats.unknownSession + stats.failedOpen + stats.overBudget + stats.replayed,
      captured.length * 8,
    );
    if (from === BOB_NEW_IP) assert.ok(stats.overBudget > 0, "budgets stop the opens");
    // The original still opens afterwards: nothing was used up.
    const sent = h.receive(captured, BOB);
    assert.deepEqual(bodyOf(bob.open(to(sent, BOB)[0]!.bytes)), { kind: "ack", msgId: 1, seq: 3 });
  }
});

Deno.test("sealed front: a replayed datagram, from the same address or a new one, is dropped unanswered and moves nothing", () => {
  const { h, bob } = room();
  const heartbeat = bob.seal({ kind: "heartbeat", lastSeq: 0 });
  const message = bob.seal({ kind: "message", msgId: 1, text: "once" });
  assert.equal(h.receive(heartbeat, BOB).length > 0, true);
  const relayed = h.receive(message, BOB);
  assert.equal(roomDatagrams(relayed).length, 2);
  const before = stateOf(h, bob);
  for (const from of [BOB, BOB_NEW_PORT, BOB_NEW_IP]) {
    assert.deepEqual(h.receive(message, from), []);
    assert.deepEqual(h.receive(heartbeat, from), []);
  }
  assert.equal(h.front.stats.replayed, 6);
  assert.deepEqual(stateOf(h, bob), before);
  // Far below the window: dropped the same way, before any open.
  for (let i = 0; i < 2_100; i++) bob.seal({ kind: "leave" }); // (counters used up, not sent)
  h.receive(bob.seal({ kind: "heartbeat", lastSeq: 3 }), BOB);
  const failed = h.front.stats.failedOpen;
  assert.deepEqual(h.receive(bob.seal({ kind: "leave" }, 5), BOB), []);
  assert.equal(h.front.stats.failedOpen, failed);
  assert.equal(h.front.stats.replayed, 7);
});

Deno.test("sealed front: an unknown session gets a stateless reset shorter than its trigger, rate limited per source", () => {
  const h = new SealedHarness({ resetRate: 5 });
  const sessionId = new Uint8Array(8).fill(7);
  const trigger = sealMemberDatagram(nodeCrypto, {
    key: new Uint8Array(32),
    sessionId,
    counter: 0,
    inner: encodeSealedClientBody({ kind: "heartbeat", lastSeq: 0 }),
  });
  const sent = h.receive(trigger, "127.0.0.9:1000");
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.bytes.length, RESET_DATAGRAM_BYTES);
  assert.ok(sent[0]!.bytes.length < trigger.length);
  const reset = peekSealedHeader(sent[0]!.bytes);
  assert.ok(reset.type === "reset");
  assert.deepEqual(reset.sessionId, sessionId);
  assert.deepEqual(reset.token, h.sessions.resetTokenFor(sessionId));
  // 10 at once (burst 2 x 5/s), then nothing for that source; another source has its own.
  let answered = 1;
  for (let i = 0; i < 30; i++) answered += h.receive(trigger, "127.0.0.9:1000").length;
  assert.equal(answered, 10);
  assert.equal(h.receive(trigger, "127.0.0.10:1000").length, 1);
  h.advance(1_000);
  assert.equal(h.receive(trigger, "127.0.0.9:1000").length, 1);
  assert.equal(h.front.stats.unknownSession, 33);
  assert.equal(h.transport.stats.resetsSent, 12);
});

Deno.test("sealed front: a removed member's session is forgotten: its next datagram earns a reset", () => {
  const { h, bob } = room();
  h.receive(bob.seal({ kind: "leave" }), BOB);
  const sent = h.receive(bob.seal({ kind: "heartbeat", lastSeq: 0 }), BOB);
  assert.equal(sent.length, 1);
  const opened = bob.open(sent[0]!.bytes);
  assert.ok(opened?.channel === "reset");
  assert.deepEqual(opened.token, bob.session.resetToken);
});

Deno.test("sealed front: failed opens past a source's budget are dropped unopened; the member's own endpoint still gets in", () => {
  const { h, bob } = room();
  const forged = (counter: number) =>
    sealMemberDatagram(nodeCrypto, {
      key: new Uint8Array(32).fill(1),
      sessionId: bob.session.sessionId,
      counter,
      inner: encodeSealedClientBody({ kind: "leave" }),
    });
  for (let i = 0; i < 100; i++) h.receive(forged(1_000 + i), "127.0.0.66:1");
  // The session's budget (burst 20) ran out first; the rest were never opened.
  assert.equal(h.front.stats.failedOpen, 20);
  assert.equal(h.front.stats.overBudget, 80);
  // Another source is refused too (the session's budget), but bob's own path is not.
  h.receive(forged(2_000), "127.0.0.67:1");
  assert.equal(h.front.stats.overBudget, 81);
  const sent = h.receive(bob.seal({ kind: "message", msgId: 1, text: "still here" }), BOB);
  assert.equal(bodyOf(bob.open(to(sent, BOB)[0]!.bytes))?.kind, "ack");
  // Forgiven at 10 a second.
  h.advance(1_000);
  h.receive(forged(3_000), "127.0.0.68:1");
  assert.equal(h.front.stats.failedOpen, 21);
});

Deno.test("sealed front: a MESSAGE resent with a fresh counter is ACKed again with the same seq and relayed once", () => {
  const { h, ann, bob } = room();
  const first = h.receive(bob.seal({ kind: "message", msgId: 1, text: "again?" }), BOB);
  const events = roomDatagrams(first);
  assert.equal(events.length, 2);
  const seals = h.transport.stats.roomSeals;
  const again = h.receive(bob.seal({ kind: "message", msgId: 1, text: "again?" }), BOB);
  assert.deepEqual(again.map((s) => bodyOf(bob.open(s.bytes))), [{
    kind: "ack",
    msgId: 1,
    seq: 3,
  }]);
  assert.deepEqual(bodyOf(bob.open(to(first, BOB)[0]!.bytes)), { kind: "ack", msgId: 1, seq: 3 });
  assert.equal(h.transport.stats.roomSeals, seals);
  assert.equal(to(again, ANN).length, 0);
  // Two ACKs, two counters: the resent one is not a replay of the first.
  const [one, two] = [to(first, BOB)[0]!, again[0]!].map((s) => peekSealedHeader(s.bytes));
  assert.ok(one?.type === "member" && two?.type === "member");
  assert.ok(two.counter > one.counter);
  assert.ok(ann.epochs.size > 0);
});

Deno.test("sealed front: a port change on the same IP moves the member's endpoint (highest counter only)", () => {
  const { h, ann, bob } = room();
  const older = bob.seal({ kind: "heartbeat", lastSeq: 0 });
  h.receive(bob.seal({ kind: "heartbeat", lastSeq: 0 }), BOB_NEW_PORT);
  assert.equal(h.front.stats.moved, 1);
  const sent = h.receive(ann.seal({ kind: "message", msgId: 1, text: "where?" }), ANN);
  assert.deepEqual(roomDatagrams(sent).map((s) => s.to).sort(), [ANN, BOB_NEW_PORT]);
  // An older counter from the old port is answered there but does not move it back.
  const answered = h.receive(older, BOB);
  assert.ok(answered.every((s) => s.to === BOB));
  assert.equal(h.front.stats.moved, 1);
  const next = h.receive(ann.seal({ kind: "message", msgId: 2, text: "here" }), ANN);
  assert.deepEqual(roomDatagrams(next).map((s) => s.to).sort(), [ANN, BOB_NEW_PORT]);
});

Deno.test("sealed front: a new IP gets a PATH_CHALLENGE and at most 3x its bytes; fan-out stays on the old endpoint until PATH_RESPONSE", () => {
  const { h, ann, bob } = room({ registry: { rateLimit: 0 } });
  for (let i = 0; i < 60; i++) {
    h.receive(ann.seal({ kind: "message", msgId: i + 1, text: `m${i}` }), ANN);
  }
  h.sent.length = 0;
  // Bob "roams" to a new IP and asks for everything: a reflection attempt if it were not bob.
  let bytesIn = 0;
  let challenge: Uint8Array | null = null;
  for (let i = 0; i < 3; i++) {
    const hello = bob.seal({ kind: "hello", lastSeq: 0 });
    bytesIn += hello.length;
    for (const s of h.receive(hello, BOB_NEW_IP)) {
      const opened = bob.open(s.bytes);
      if (opened?.channel === "member" && opened.control.kind === "pathChallenge") {
        challenge = opened.control.challenge;
      }
    }
  }
  assert.ok(challenge !== null, "a PATH_CHALLENGE");
  assert.ok(bytesTo(h.sent, BOB_NEW_IP) <= AMPLIFICATION_FACTOR * bytesIn);
  assert.ok(bytesTo(h.sent, BOB_NEW_IP) > 0);
  assert.ok(h.transport.stats.amplificationDropped > 0);
  assert.equal(h.front.stats.moved, 0);
  // Meanwhile the room still reaches bob at his old endpoint.
  const meanwhile = h.receive(ann.seal({ kind: "message", msgId: 61, text: "x" }), ANN);
  assert.deepEqual(roomDatagrams(meanwhile).map((s) => s.to).sort(), [ANN, BOB]);
  // A response from anywhere else, or with the wrong bytes, validates nothing.
  h.receive(bob.seal({ kind: "pathResponse", challenge }), "127.0.0.3:7002");
  h.receive(bob.seal({ kind: "pathResponse", challenge: new Uint8Array(16) }), BOB_NEW_IP);
  assert.equal(h.front.stats.pathIgnored, 2);
  assert.equal(h.front.stats.moved, 0);
  // The right one, from the challenged address, with the highest counter: bob moves.
  h.receive(bob.seal({ kind: "pathResponse", challenge }), BOB_NEW_IP);
  assert.equal(h.front.stats.pathValidated, 1);
  assert.equal(h.front.stats.moved, 1);
  const after = h.receive(ann.seal({ kind: "message", msgId: 62, text: "y" }), ANN);
  assert.deepEqual(roomDatagrams(after).map((s) => s.to).sort(), [ANN, BOB_NEW_IP]);
  // And the validated address takes everything now: a full HELLO replay.
  const replay = h.receive(bob.seal({ kind: "hello", lastSeq: 0 }), BOB_NEW_IP);
  assert.equal(replay.length, 51);
});

Deno.test("sealed front: a 0x00 datagram that is no sealed layout goes to the plain rules when the server takes both, and is dropped when it takes sealed only", () => {
  const h = new SealedHarness();
  const junk = new Uint8Array([0, 1, 2]);
  const from = { hostname: "127.0.0.9", port: 9 };
  assert.equal(h.front.handle(junk, junk.length, from, true), null);
  assert.equal(h.front.stats.received, 0);
  assert.deepEqual(h.front.handle(junk, junk.length, from, false), []);
  assert.equal(h.front.stats.malformed, 1);
  // A well-formed sealed layout is never the plain rules' business.
  const { bob } = room();
  const forged = bob.seal({ kind: "leave" }).slice();
  forged[forged.length - 1]! ^= 1;
  assert.deepEqual(h.front.handle(forged, forged.length, from, true), []);
});
