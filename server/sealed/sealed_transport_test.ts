/** Sealing on the way out: the room channel, member channels, epochs and rekeys, caches, counters. */
import assert from "node:assert/strict";
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import { encodeServerDatagram, MAX_DATAGRAM_BYTES } from "../../protocol/datagram.ts";
import { welcomeMembers } from "../../protocol/datagram_size.ts";
import {
  openRoomDatagram,
  peekSealedHeader,
  ROOM_OVERHEAD_BYTES,
  sealRoomDatagram,
  verifyRoomDatagram,
} from "../../protocol/sealed_datagram.ts";
import { bodyOf, type SealedTestClient } from "./sealed_client_test_util.ts";
import { SealedHarness, type Sent } from "./sealed_harness_test_util.ts";
import { REKEY_INTERVAL_MS } from "./room_keys.ts";

const ANN = "127.0.0.1:5001";
const BOB = "127.0.0.1:5002";
const CAROL = "127.0.0.1:5003";
const DAVE = "127.0.0.1:5004";

/** HELLO from `client` at `at`; it reads its answers (and so learns the epoch key). */
function hello(h: SealedHarness, client: SealedTestClient, at: string): Sent[] {
  const sent = h.receive(client.seal({ kind: "hello", lastSeq: 0 }), at);
  for (const s of sent) if (s.to === at) client.open(s.bytes);
  return sent;
}

/** A sealed room "lobby" with ann (host), bob and carol, each past HELLO. */
function lobby() {
  const h = new SealedHarness();
  const ann = h.create("lobby", "ann");
  const bob = h.join("lobby", "bob");
  const carol = h.join("lobby", "carol");
  for (const [client, at] of [[ann, ANN], [bob, BOB], [carol, CAROL]] as const) {
    hello(h, client, at);
  }
  h.sent.length = 0;
  return { h, ann, bob, carol };
}

const epochOf = (bytes: Uint8Array) => {
  const header = peekSealedHeader(bytes);
  return header.type === "room" ? header.epoch : null;
};
const to = (sent: Sent[], at: string) => sent.filter((s) => s.to === at);
const kinds = (client: SealedTestClient, sent: Sent[]) =>
  sent.map((s) => {
    const opened = client.open(s.bytes);
    if (opened === null) return "unreadable";
    if (opened.channel === "member" && opened.control.kind !== "body") return opened.control.kind;
    return bodyOf(opened)?.kind ?? opened.channel;
  });

Deno.test("sealed transport: an EVENT is sealed and signed once for the room; every member opens the same bytes", () => {
  const { h, ann, bob, carol } = lobby();
  const roomSeals = h.transport.stats.roomSeals;
  const sent = h.receive(ann.seal({ kind: "message", msgId: 1, text: "hi" }), ANN);
  assert.equal(h.transport.stats.roomSeals, roomSeals + 1);
  const events = sent.filter((s) => peekSealedHeader(s.bytes).type === "room");
  assert.deepEqual(events.map((s) => s.to).sort(), [ANN, BOB, CAROL]);
  assert.ok(events.every((s) => s.bytes === events[0]!.bytes), "one sealed datagram for all");
  for (const client of [ann, bob, carol]) {
    const event = bodyOf(client.open(events[0]!.bytes));
    assert.equal(event?.kind, "event");
    assert.equal(event?.kind === "event" && event.text, "hi");
  }
  // The ACK is ann's alone: only her serverKey opens it.
  const [ack] = to(sent, ANN).filter((s) => peekSealedHeader(s.bytes).type === "member");
  assert.deepEqual(bodyOf(ann.open(ack!.bytes)), { kind: "ack", msgId: 1, seq: 4 });
  assert.equal(bob.open(ack!.bytes), null);
  assert.equal(carol.open(ack!.bytes), null);
});

Deno.test("sealed transport: a WELCOME carries the room's epoch and key; a HEARTBEAT gets a sealed heartbeatAck", () => {
  const h = new SealedHarness();
  const ann = h.create("lobby", "ann");
  const sent = h.receive(ann.seal({ kind: "hello", lastSeq: 0 }), ANN);
  const opened = ann.open(sent[0]!.bytes);
  assert.equal(opened?.channel === "member" && opened.control.kind, "welcome");
  assert.deepEqual([...ann.epochs.keys()], [1]);
  // The replay after it (ann's "joined") opens with that key.
  assert.equal(bodyOf(ann.open(sent[1]!.bytes))?.kind, "event");
  const acked = h.receive(ann.seal({ kind: "heartbeat", lastSeq: 1 }), ANN);
  assert.deepEqual(acked.map((s) => bodyOf(ann.open(s.bytes))), [{
    kind: "heartbeatAck",
    headSeq: 1,
  }]);
});

Deno.test("sealed transport: a departure rekeys before the next room datagram: KEY to the others first, and the departed key opens nothing sent after", () => {
  const { h, ann, bob, carol } = lobby();
  const sent = h.receive(carol.seal({ kind: "leave" }), CAROL);
  assert.deepEqual(kinds(carol, to(sent, CAROL)), ["closed"]);
  assert.deepEqual(kinds(ann, to(sent, ANN)), ["key", "event"]);
  assert.deepEqual(kinds(bob, to(sent, BOB)), ["key", "event"]);
  assert.deepEqual([...ann.epochs.keys()], [1, 2]);
  const left = to(sent, ANN)[1]!.bytes;
  assert.equal(epochOf(left), 2);
  // Carol kept epoch 1's key: it opens nothing sent after she left.
  const carolKey = carol.epochs.get(1)!;
  assert.equal(carol.open(left), null);
  assert.equal(openRoomDatagram(nodeCrypto, carolKey, left), null);
  const later = h.receive(ann.seal({ kind: "message", msgId: 1, text: "secret" }), ANN);
  for (const s of later.filter((s) => peekSealedHeader(s.bytes).type === "room")) {
    assert.equal(openRoomDatagram(nodeCrypto, carolKey, s.bytes), null);
    assert.equal(bodyOf(bob.open(s.bytes))?.kind, "event");
  }
  assert.equal(to(later, CAROL).length, 0);
});

Deno.test("sealed transport: rekeys are at most 2 a second; room datagrams due meanwhile are held and leave after the KEY", () => {
  const h = new SealedHarness();
  const ann = h.create("lobby", "ann");
  const clients = [ann, h.join("lobby", "bob"), h.join("lobby", "carol"), h.join("lobby", "dave")];
  const at = [ANN, BOB, CAROL, DAVE];
  clients.forEach((c, i) => hello(h, c, at[i]!));
  const [, bob, carol, dave] = clients;
  h.receive(bob!.seal({ kind: "leave" }), BOB); // the first rekey: at once
  h.advance(100);
  const held = h.receive(carol!.seal({ kind: "leave" }), CAROL);
  // Carol's CLOSED goes; the room's "left" waits for the cap, and so does ann's message.
  assert.deepEqual(held.map((s) => s.to), [CAROL]);
  const message = h.receive(ann.seal({ kind: "message", msgId: 1, text: "after" }), ANN);
  assert.deepEqual(kinds(ann, message), ["ack"]);
  assert.equal(h.advance(REKEY_INTERVAL_MS - 200).length, 0);
  const released = h.advance(100);
  assert.deepEqual(kinds(dave!, to(released, DAVE)), ["key", "event", "event"]);
  assert.deepEqual(
    to(released, DAVE).slice(1).map((s) => {
      const event = bodyOf(dave!.open(s.bytes));
      return event?.kind === "event" ? [event.type, event.name] : null;
    }),
    [[3, "carol"], [1, "ann"]],
  );
  const epochs = to(released, DAVE).slice(1).map((s) => peekSealedHeader(s.bytes));
  assert.ok(epochs.every((header) => header.type === "room" && header.epoch === 3));
  assert.equal(to(released, CAROL).length, 0);
  assert.equal(h.timers.pending, 0);
});

Deno.test("sealed transport: no rekey on join", () => {
  const { h, ann } = lobby();
  const dave = h.join("lobby", "dave");
  const sent = hello(h, dave, DAVE);
  assert.deepEqual([...dave.epochs.keys()], [1]);
  assert.ok(!kinds(ann, to(sent, ANN)).includes("key"));
  const message = h.receive(ann.seal({ kind: "message", msgId: 1, text: "hi" }), ANN);
  const event = message.find((s) => peekSealedHeader(s.bytes).type === "room")!;
  assert.equal(epochOf(event.bytes), 1);
});

Deno.test("sealed transport: replays of recent events come from the cache: no seal, no signature", () => {
  const { h } = lobby();
  const dave = h.join("lobby", "dave");
  const eve = h.join("lobby", "eve");
  h.receive(dave.seal({ kind: "hello", lastSeq: 0 }), DAVE);
  const seals = h.transport.stats.roomSeals;
  const hits = h.transport.stats.cacheHits;
  const sent = h.receive(eve.seal({ kind: "hello", lastSeq: 0 }), "127.0.0.1:5005");
  // WELCOME, then seqs 1-5 replayed, all from the cache (each was fanned out or replayed before).
  assert.equal(to(sent, "127.0.0.1:5005").length, 6);
  assert.equal(h.transport.stats.roomSeals, seals);
  assert.equal(h.transport.stats.cacheHits, hits + 5);
  // And RESEND of one of them too.
  h.receive(eve.seal({ kind: "resend", fromSeq: 2, toSeq: 2 }), "127.0.0.1:5005");
  assert.equal(h.transport.stats.roomSeals, seals);
});

Deno.test("sealed transport: a room rekeys before its counter limit; a member channel past its limit goes silent", () => {
  const h = new SealedHarness({
    sessions: { memberCounterLimit: 3, roomKeys: { counterLimit: 2 } },
  });
  const ann = h.create("lobby", "ann");
  const sent = h.receive(ann.seal({ kind: "hello", lastSeq: 0 }), ANN); // WELCOME (0) + replay of seq 1
  assert.equal(sent.length, 2);
  for (let msgId = 1; msgId <= 2; msgId++) {
    h.receive(ann.seal({ kind: "message", msgId, text: `m${msgId}` }), ANN); // ACK 1, 2; EVENT 1, 2
  }
  const third = h.receive(ann.seal({ kind: "message", msgId: 3, text: "m3" }), ANN);
  // ACK 3 (counter 3, the last), then KEY is over ann's limit; EVENT 3 goes under epoch 2, counter 0.
  assert.deepEqual(kinds(ann, third), ["ack", "unreadable"]);
  const header = peekSealedHeader(third[1]!.bytes);
  assert.deepEqual(header.type === "room" && [header.epoch, header.counter], [2, 0]);
  assert.equal(h.transport.stats.exhausted, 1);
  assert.equal(h.receive(ann.seal({ kind: "heartbeat", lastSeq: 9 }), ANN).length, 0);
  assert.equal(new Set(h.sealedNonces).size, h.sealedNonces.length);
});

Deno.test("sealed transport: a sealed room refuses (413) a message whose sealed EVENT would pass 4096 bytes", () => {
  const { h, ann } = lobby();
  const fits = "x".repeat(MAX_DATAGRAM_BYTES - ROOM_OVERHEAD_BYTES - 15 - "ann".length);
  const ok = h.receive(ann.seal({ kind: "message", msgId: 1, text: fits }), ANN);
  const event = ok.find((s) => peekSealedHeader(s.bytes).type === "room")!;
  assert.equal(event.bytes.length, MAX_DATAGRAM_BYTES);
  const refused = h.receive(ann.seal({ kind: "message", msgId: 2, text: fits + "x" }), ANN);
  assert.deepEqual(refused.map((s) => bodyOf(ann.open(s.bytes))?.kind), ["refused"]);
  const body = bodyOf(ann.open(refused[0]!.bytes));
  assert.equal(body?.kind === "refused" && body.code, 413);
});

Deno.test("sealed transport: a sealed WELCOME of the longest room, host and member names fits in a datagram", () => {
  const members = Array.from({ length: 200 }, (_, i) => `${"名".repeat(28)}${i}`.slice(0, 32));
  const plain = encodeServerDatagram({
    kind: "welcome",
    headSeq: 1,
    room: "\\".repeat(255),
    host: "名".repeat(32),
    members: welcomeMembers(members),
  });
  // 0x80, epoch 4, key 32 replace the kind byte; then the member channel's 34.
  assert.ok(plain.length - 1 + 37 + 34 <= MAX_DATAGRAM_BYTES, `${plain.length}`);
});

Deno.test("sealed transport: a member cannot forge a room EVENT: without the server's signature no member opens it", () => {
  const { h, ann, bob } = lobby();
  // Bob holds the epoch key, so he can seal an EVENT; he cannot sign it as the server.
  const forged = sealRoomDatagram(nodeCrypto, {
    key: bob.epochs.get(1)!,
    epoch: 1,
    counter: 1_000,
    inner: encodeServerDatagram({
      kind: "event",
      seq: 9,
      timeMs: 0,
      type: 1,
      name: "ann",
      text: "I resign",
    }),
    signer: nodeCrypto.ed25519Signer(),
  });
  assert.equal(verifyRoomDatagram(nodeCrypto, h.sessions.signingKey, forged), false);
  assert.equal(ann.open(forged), null);
  // Nor can he sneak it through the server: room datagrams from a client are dropped unanswered.
  assert.equal(h.receive(forged, BOB).length, 0);
  assert.equal(h.front.stats.malformed, 1);
});

Deno.test("sealed transport: every (key, nonce) sealed over churn is unique (the nonce audit)", () => {
  const h = new SealedHarness({ registry: { rateLimit: 0 } });
  const host = h.create("lobby", "host");
  h.receive(host.seal({ kind: "hello", lastSeq: 0 }), "127.0.0.1:4000");
  let port = 4001;
  const members: { client: SealedTestClient; at: string }[] = [];
  for (let round = 0; round < 30; round++) {
    // Joins, messages (and their retransmissions with fresh counters), replays, leaves.
    for (let j = 0; j < 3; j++) {
      const client = h.join("lobby", `m${round}-${j}`);
      const at = `127.0.0.1:${port++}`;
      h.receive(client.seal({ kind: "hello", lastSeq: 0 }), at);
      members.push({ client, at });
    }
    for (const [i, { client, at }] of members.entries()) {
      const msgId = round + 1;
      h.receive(client.seal({ kind: "message", msgId, text: `r${round} ${i}` }), at);
      if (i % 2 === 0) {
        h.receive(client.seal({ kind: "message", msgId, text: `r${round} ${i}` }), at);
      }
      if (i % 3 === 0) h.receive(client.seal({ kind: "resend", fromSeq: 1, toSeq: 40 }), at);
      if (i % 5 === 0) h.receive(client.seal({ kind: "heartbeat", lastSeq: 0 }), at);
    }
    for (let j = 0; j < 2; j++) {
      const gone = members.shift()!;
      h.receive(gone.client.seal({ kind: "leave" }), gone.at);
    }
    h.advance(round % 2 === 0 ? 200 : 700);
  }
  assert.ok(h.transport.stats.roomSeals > 500, `${h.transport.stats.roomSeals}`);
  assert.ok(h.transport.stats.keysSent > 100, `${h.transport.stats.keysSent}`);
  assert.ok(h.transport.stats.cacheHits > 100, `${h.transport.stats.cacheHits}`);
  assert.equal(h.sealedNonces.length, h.transport.stats.roomSeals + h.transport.stats.memberSeals);
  assert.equal(new Set(h.sealedNonces).size, h.sealedNonces.length, "a (key, nonce) repeated");
});
