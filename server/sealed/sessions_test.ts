import assert from "node:assert/strict";
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import { peekSealedHeader, resetTokenOf } from "../../protocol/sealed_datagram.ts";
import { tokenKey } from "../registry.ts";
import { SealedTestClient } from "./sealed_client_test_util.ts";
import { SealedHarness } from "./sealed_harness_test_util.ts";
import { SealedSessions } from "./sessions.ts";

const staticKey = nodeCrypto.x25519KeyPair();
const table = () =>
  new SealedSessions({
    crypto: nodeCrypto,
    staticPrivateKey: staticKey.privateKey,
    monotonic: () => 0,
  });
const token = (n: number) => new Uint8Array(32).fill(n);

Deno.test("sessions: each admission gets fresh keys, an id of its own and the reset token of that id", () => {
  const sessions = table();
  const a = sessions.issue(token(1), "lobby");
  const b = sessions.issue(token(2), "lobby");
  assert.notDeepEqual(a.sessionId, b.sessionId);
  assert.notDeepEqual(a.clientKey, b.clientKey);
  assert.notDeepEqual(a.clientKey, a.serverKey);
  assert.equal(a.sessionId.length, 8);
  assert.deepEqual(a.resetToken, resetTokenOf(nodeCrypto, staticKey.privateKey, a.sessionId));
  assert.deepEqual(sessions.resetTokenFor(a.sessionId), a.resetToken);
  assert.equal(sessions.byId(a.sessionId)?.tokenKey, tokenKey(token(1)));
  assert.equal(sessions.signingKey.length, 32);
});

Deno.test("sessions: one room channel per room instance, whatever the spelling; gone with its last member", () => {
  const sessions = table();
  sessions.issue(token(1), "Lobby");
  sessions.issue(token(2), "lobby");
  const channel = sessions.byTokenKey(tokenKey(token(1)))!.channel;
  assert.equal(sessions.byTokenKey(tokenKey(token(2)))!.channel, channel);
  assert.equal(sessions.channelCount, 1);
  sessions.onRemoved({ tokenKey: tokenKey(token(2)) });
  assert.equal(channel.keys.rekeyPending, true);
  assert.equal(sessions.size, 1);
  sessions.onRemoved({ tokenKey: tokenKey(token(1)) });
  assert.equal(sessions.channelCount, 0);
  // The room made again later is a new instance: a new channel, a new key.
  sessions.issue(token(3), "lobby");
  const next = sessions.byTokenKey(tokenKey(token(3)))!.channel;
  assert.notEqual(next, channel);
  assert.notDeepEqual(next.keys.key, channel.keys.key);
  // Members of plain rooms have no session.
  sessions.onRemoved({ tokenKey: tokenKey(token(9)) });
  assert.equal(sessions.size, 1);
});

Deno.test("sessions: issuing again for the same token replaces the old session", () => {
  const sessions = table();
  const old = sessions.issue(token(1), "lobby");
  const fresh = sessions.issue(token(1), "lobby");
  assert.equal(sessions.byId(old.sessionId), undefined);
  assert.ok(sessions.byId(fresh.sessionId));
  assert.equal(sessions.size, 1);
});

Deno.test("sessions: replace gives the member a new id and new keys, forgets the old session, rekeys the room and says so", () => {
  const replaced: string[] = [];
  const sessions = new SealedSessions({
    crypto: nodeCrypto,
    staticPrivateKey: staticKey.privateKey,
    monotonic: () => 0,
    onReplaced: (old) => replaced.push(old.idHex),
  });
  const a = sessions.issue(token(1), "lobby");
  sessions.issue(token(2), "lobby");
  const old = sessions.byId(a.sessionId)!;
  const channel = old.channel;
  const fresh = sessions.replace(old, "Lobby");
  assert.equal(old.closed, true);
  assert.equal(sessions.byId(a.sessionId), undefined, "its datagrams now earn stateless resets");
  assert.notDeepEqual(fresh.sessionId, a.sessionId);
  assert.notDeepEqual(fresh.clientKey, a.clientKey);
  assert.notDeepEqual(fresh.serverKey, a.serverKey);
  assert.deepEqual(fresh.resetToken, sessions.resetTokenFor(fresh.sessionId));
  const now = sessions.byTokenKey(tokenKey(token(1)))!;
  assert.deepEqual(now.id, fresh.sessionId);
  assert.equal(now.channel, channel, "the same room instance");
  assert.equal(channel.keys.rekeyPending, true, "the old holder's epoch key opens nothing newer");
  assert.deepEqual(replaced, [old.idHex]);
  assert.equal(sessions.size, 2);
  assert.throws(() => sessions.replace(old, "lobby"), /only a live session/);
});

Deno.test("sessions: after a takeover the old session earns a stateless reset and misses the new epoch; the new one carries on", () => {
  const h = new SealedHarness();
  const ANN = "127.0.0.1:5001";
  const BOB = "127.0.0.2:5002";
  const ann = h.create("lobby", "ann", "127.0.0.1");
  const bob = h.join("lobby", "bob", "127.0.0.2");
  for (const [client, at] of [[ann, ANN], [bob, BOB]] as const) {
    for (const sent of h.receive(client.seal({ kind: "hello", lastSeq: 0 }), at)) {
      if (sent.to === at) client.open(sent.bytes);
    }
  }
  const old = h.sessions.byId(ann.session.sessionId)!;
  const peer = { address: "127.0.0.1", addressKey: "127.0.0.1" };
  assert.ok(h.registry.takeOver(old.token, peer, { passwordProof: null, protocol: 2 }).ok);
  const again = new SealedTestClient(
    nodeCrypto,
    h.sessions.replace(old, "lobby"),
    h.sessions.signingKey,
  );
  // The old session: a reset carrying its own reset token, as for any forgotten session.
  const reset = h.receive(ann.seal({ kind: "heartbeat", lastSeq: 0 }), ANN);
  assert.equal(reset.length, 1);
  const opened = ann.open(reset[0]!.bytes);
  assert.ok(opened?.channel === "reset");
  assert.deepEqual(opened.token, ann.session.resetToken);
  // The new one is welcomed, and bob's next message reaches it in a new epoch (the room
  // rekeys before its next room datagram), which the old session's keys do not open.
  const NEW = "127.0.0.1:6001";
  for (const sent of h.receive(again.seal({ kind: "hello", lastSeq: 2 }), NEW)) {
    again.open(sent.bytes);
  }
  const oldEpoch = Math.max(...ann.epochs.keys());
  const toNew = h.receive(bob.seal({ kind: "message", msgId: 1, text: "hi" }), BOB)
    .filter((sent) => sent.to === NEW);
  const events = toNew.map((sent) => again.open(sent.bytes))
    .filter((o) => o?.channel === "room");
  assert.equal(events.length, 1);
  assert.ok(events[0]?.channel === "room" && events[0].event.kind === "event");
  assert.equal(events[0].event.name, "bob");
  assert.ok(events[0].epoch > oldEpoch, "the room rekeyed");
  const roomDatagram = toNew.find((sent) => peekSealedHeader(sent.bytes).type === "room")!;
  assert.equal(ann.open(roomDatagram.bytes), null);
});
