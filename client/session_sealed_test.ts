/**
 * A session over sealed connections, against a scripted sealed server built
 * from the codecs (fake_sealed_server_test_util.ts), on virtual time:
 * delivery and retransmission, epochs, forged and unknown-epoch room
 * datagrams, the path challenge, and the counter's end.
 */
import assert from "node:assert/strict";
import { encodeServerDatagram } from "../protocol/datagram.ts";
import { MAX_COUNTER } from "../protocol/sealed_datagram.ts";
import { encodeUtf8 } from "../protocol/bytes.ts";
import type { CryptoProvider } from "../protocol/sealed_types.ts";
import { nobleCrypto } from "../crypto/noble_crypto.ts";
import { message, welcome, withSession } from "./fake_network_test_util.ts";
import {
  FakeSealedServer,
  TEST_CRYPTO,
  withSealedSession,
} from "./fake_sealed_server_test_util.ts";
import { PREVIOUS_EPOCH_MS } from "./sealed_channel.ts";

Deno.test("sealed: messages and events go through, and nothing readable is on the wire", async () => {
  await withSealedSession({
    session: { password: "secret-password" },
  }, async ({ clock, fake, session, events, wire }) => {
    const id = session.send("a secret text");
    await clock.settle();
    assert.deepEqual(fake.of("message"), [{ kind: "message", msgId: 1, text: "a secret text" }]);
    fake.inject({ kind: "ack", msgId: 1, seq: 2 });
    fake.inject(message(1));
    fake.inject(message(2, "a secret text", "alice"));
    await clock.advance(6_000); // a heartbeat goes out too
    assert.deepEqual(events.of("delivered"), [{ type: "delivered", msgId: id, seq: 2 }]);
    assert.deepEqual(events.seqs(), [1, 2]);
    assert.ok(fake.of("heartbeat").length >= 1);
    const secrets = ["secret", "alice", "lobby"].map(encodeUtf8);
    for (const bytes of fake.onWire) {
      assert.equal(bytes[0], 0x00, "every datagram is sealed");
      for (const secret of secrets) {
        const text = new TextDecoder().decode(bytes);
        assert.ok(!text.includes(new TextDecoder().decode(secret)), "no plain text on the wire");
      }
    }
    assert.deepEqual(wire.clientCounters, wire.clientCounters.map((_, i) => i), "counters 0, 1...");
  });
});

Deno.test("sealed: with the first ACK lost, the retransmission (a fresh counter, the same msgId) is delivered exactly once", async () => {
  await withSealedSession({}, async ({ clock, fake, session, events, wire }) => {
    const id = session.send("hello");
    await clock.advance(350); // the first ACK never comes: a retransmission at 300 ms
    const tries = fake.sent.filter((s) => s.body.kind === "message");
    assert.equal(tries.length, 2);
    assert.deepEqual(tries.map((t) => t.body), [
      { kind: "message", msgId: 1, text: "hello" },
      { kind: "message", msgId: 1, text: "hello" },
    ]);
    const [first, second] = fake.onWire.filter((_, i) => fake.sent[i]!.body.kind === "message");
    assert.notDeepEqual(first, second, "sealed afresh: not a replay the server would drop");
    assert.equal(new Set(wire.clientCounters).size, wire.clientCounters.length);
    // The server ACKs the retransmission (a repeat msgId is acknowledged again), twice over.
    fake.inject({ kind: "ack", msgId: 1, seq: 1 });
    fake.inject({ kind: "ack", msgId: 1, seq: 1 });
    await clock.advance(5_000);
    assert.deepEqual(events.of("delivered"), [{ type: "delivered", msgId: id, seq: 1 }]);
    assert.equal(fake.of("message").length, 2, "no more tries after the ACK");
  });
});

Deno.test("sealed: after a KEY the previous epoch's datagrams open for 10 s, then are a gap RESEND repairs", async () => {
  await withSealedSession({}, async ({ clock, fake, events, wire }) => {
    const oldKey = wire.epochKey;
    fake.injectBytes(wire.rekey());
    fake.injectBytes(wire.room(encodeServerDatagram(message(1)), { epoch: 1, key: oldKey }));
    fake.inject(message(2)); // the new epoch
    await clock.advance(PREVIOUS_EPOCH_MS - 100);
    fake.injectBytes(wire.room(encodeServerDatagram(message(3)), { epoch: 1, key: oldKey }));
    await clock.settle();
    assert.deepEqual(events.seqs(), [1, 2, 3]);
    await clock.advance(200); // past 10 s: the old key is gone
    fake.injectBytes(wire.room(encodeServerDatagram(message(5)), { epoch: 1, key: oldKey }));
    fake.inject(message(6));
    await clock.settle();
    assert.deepEqual(events.seqs(), [1, 2, 3]);
    assert.deepEqual(fake.of("resend"), [{ kind: "resend", fromSeq: 4, toSeq: 5 }]);
    fake.inject(message(4));
    fake.inject(message(5)); // resent under the current epoch
    await clock.settle();
    assert.deepEqual(events.seqs(), [1, 2, 3, 4, 5, 6]);
  });
});

Deno.test("sealed: datagrams of an unknown newer epoch wait (64 at most), one HELLO a second asks for the key, even when the buffer is full", async () => {
  await withSealedSession({}, async ({ clock, fake, events, wire }) => {
    const key = wire.rekey(); // lost on its way: the client does not know epoch 2
    const hellosBefore = fake.of("hello").length;
    for (let seq = 1; seq <= 70; seq++) fake.inject(message(seq));
    await clock.advance(500);
    assert.deepEqual(events.seqs(), [], "nothing opens without the key");
    assert.equal(fake.of("hello").length, hellosBefore + 1, "one HELLO, not 64");
    await clock.advance(600);
    fake.inject(message(71)); // the buffer is full: not kept, but the key is asked for again
    await clock.settle();
    assert.equal(
      fake.of("hello").length,
      hellosBefore + 2,
      "the first HELLO or its WELCOME may have been lost: a full buffer still asks, once a second",
    );
    // The WELCOME answering HELLO brings the key (a KEY would do the same).
    fake.injectBytes(key);
    await clock.settle();
    assert.deepEqual(events.seqs(), Array.from({ length: 64 }, (_, i) => i + 1));
    // What did not fit is a gap: the next HEARTBEAT_ACK's head reveals it, and RESEND repairs it.
    fake.injectBytes(wire.heartbeatAck(71));
    await clock.advance(500);
    assert.deepEqual(fake.of("resend"), [{ kind: "resend", fromSeq: 65, toSeq: 71 }]);
  });
});

Deno.test("sealed: a room datagram not signed by the server is dropped, and the real one with its seq still comes through", async () => {
  await withSealedSession({}, async ({ clock, fake, events, wire }) => {
    const forger = TEST_CRYPTO.ed25519Signer(); // a member knows the epoch key, not the server's key
    fake.injectBytes(
      wire.room(encodeServerDatagram(message(1, "forged", "bob")), { signer: forger }),
    );
    // A member datagram under a key that is not ours: dropped too.
    fake.injectBytes(new Uint8Array(64));
    await clock.settle();
    assert.deepEqual(events.seqs(), []);
    fake.inject(message(1, "real"));
    await clock.settle();
    assert.deepEqual(events.of("message").map((m) => m.text), ["real"]);
  });
});

Deno.test("sealed: PATH_CHALLENGE is answered with PATH_RESPONSE carrying the challenge", async () => {
  await withSealedSession({}, async ({ clock, fake, wire }) => {
    const challenge = TEST_CRYPTO.randomBytes(16);
    fake.injectBytes(wire.pathChallenge(challenge));
    await clock.settle();
    assert.deepEqual(fake.of("pathResponse"), [{ kind: "pathResponse", challenge }]);
  });
});

Deno.test("sealed: plain datagrams are ignored, a sealed CLOSED ends the session", async () => {
  await withSealedSession({}, async ({ clock, fake, events, wire }) => {
    fake.injectBytes(encodeServerDatagram({ kind: "closed", reason: 1, text: "forged" }));
    fake.injectBytes(encodeServerDatagram({ kind: "error", code: 401, text: "forged" }));
    fake.injectBytes(encodeServerDatagram(message(1)));
    await clock.advance(1_000);
    assert.equal(events.ended, false);
    assert.deepEqual(events.of("rejoining"), []);
    assert.deepEqual(events.seqs(), []);
    fake.injectBytes(wire.member(encodeServerDatagram({ kind: "closed", reason: 1, text: "bye" })));
    await clock.settle();
    assert.equal(events.closedEvent().reason, 1);
  });
});

Deno.test("sealed: the member channel never goes past counter 2^53 - 1: the session closes", async () => {
  await withSealedSession({
    session: { firstCounter: MAX_COUNTER - 1 },
  }, async ({ clock, fake, session, events, wire }) => {
    // HELLO took MAX_COUNTER - 1; one more fits.
    session.send("the last one");
    await clock.settle();
    session.send("past the end");
    await clock.advance(1);
    assert.deepEqual(wire.clientCounters, [MAX_COUNTER - 1, MAX_COUNTER]);
    assert.equal(fake.of("message").length, 1);
    assert.match(events.closedEvent().text, /counter is used up/);
    assert.deepEqual(events.of("undelivered").map((u) => u.text), ["the last one", "past the end"]);
  });
});

Deno.test("sealed: a connection without a crypto provider fails the session with a clear error", async () => {
  const server = new FakeSealedServer();
  await assert.rejects(
    withSession({
      session: {},
      network: (connector) => (connector.sealed = server),
      beforeWelcome: () => {},
    }, () => {}),
    /needs the session's crypto option/,
  );
});

Deno.test("a forged huge seq neither freezes nor silences a session, plain or sealed", async () => {
  for (const sealed of [false, true]) {
    const run = sealed ? withSealedSession : withSession;
    await run({}, async ({ clock, fake, events }) => {
      fake.inject(message(1));
      // Plain: anyone can send these; sealed: only a server with a bug could.
      fake.inject(message(1_000_000, "forged"));
      fake.inject(message(0xffff_ffff, "forged"));
      const started = performance.now();
      await clock.advance(15_000); // RESEND rounds, heartbeats
      assert.ok(performance.now() - started < 2_000, "no scan over a huge range");
      assert.deepEqual(fake.of("resend"), [], "nothing to ask for: the forged seqs were dropped");
      assert.ok(fake.of("heartbeat").every((h) => h.lastSeq === 1), "heartbeats say what we have");
      for (const seq of [2, 3]) fake.inject(message(seq));
      await clock.settle();
      assert.deepEqual(
        events.seqs(),
        [1, 2, 3],
        `${sealed ? "sealed" : "plain"}: still delivering`,
      );
      assert.deepEqual(events.of("missed"), []);
    });
  }
});

Deno.test("sealed: a HEARTBEAT_ACK head far ahead moves delivery to the window below it; a plain one could not", async () => {
  await withSealedSession({}, async ({ clock, fake, events, wire }) => {
    fake.inject(message(1));
    fake.injectBytes(wire.heartbeatAck(5_000));
    await clock.settle();
    assert.deepEqual(events.of("missed"), [{ type: "missed", fromSeq: 2, toSeq: 3_976 }]);
    await clock.advance(500); // the tail below the head is asked for a round later, in runs
    const first = fake.of("resend")[0];
    assert.deepEqual(first, { kind: "resend", fromSeq: 3_977, toSeq: 5_000 });
    fake.inject(message(3_977));
    await clock.settle();
    assert.deepEqual(events.seqs(), [1, 3_977]);
  });
  // The same HEARTBEAT_ACK on the plain protocol is anyone's: it moves nothing.
  await withSession({}, async ({ clock, fake, events }) => {
    fake.inject(message(1));
    fake.inject({ kind: "heartbeatAck", headSeq: 5_000 });
    await clock.advance(15_000);
    assert.deepEqual(events.of("missed"), []);
    assert.deepEqual(fake.of("resend"), []);
    fake.inject(message(2));
    await clock.settle();
    assert.deepEqual(events.seqs(), [1, 2]);
  });
});

Deno.test("sealed: the session runs on the browser's provider (@noble) against a node:crypto server, with a verify that answers by promise", async () => {
  const crypto: CryptoProvider = {
    ...nobleCrypto,
    ed25519Verify: (...args) => Promise.resolve(nobleCrypto.ed25519Verify(...args)), // as WebCrypto
  };
  await withSealedSession({ session: { crypto } }, async ({ clock, fake, session, events }) => {
    const id = session.send("hi");
    await clock.settle();
    fake.inject({ kind: "ack", msgId: 1, seq: 1 });
    fake.inject(message(1, "hi", "alice"));
    fake.inject(message(2));
    await clock.settle();
    assert.deepEqual(events.of("delivered").map((d) => d.msgId), [id]);
    assert.deepEqual(events.seqs(), [1, 2]);
  });
});

Deno.test("sealed: room datagrams that overtake the WELCOME wait for its key, then are delivered in order", async () => {
  await withSealedSession({
    beforeWelcome: async (fake, clock) => {
      fake.inject(message(2));
      fake.inject(message(1));
      await clock.settle();
      fake.inject(welcome(1));
    },
  }, async ({ clock, events }) => {
    await clock.settle();
    assert.deepEqual(events.seqs(), [1, 2]);
    assert.deepEqual(events.of("message").map((m) => m.replay), [true, false]);
  });
});
