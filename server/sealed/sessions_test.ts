import assert from "node:assert/strict";
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import { resetTokenOf } from "../../protocol/sealed_datagram.ts";
import { tokenKey } from "../registry.ts";
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
