/** The in-branch session issuer: fresh keys per member, the reset token as the design derives it. */
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { RandomSessionIssuer } from "./session_issuer.ts";

Deno.test("session issuer: fresh random ids and keys; reset token = HMAC(HMAC(static, label), id)[0..16]", () => {
  const staticKey = nodeCrypto.x25519KeyPair();
  const issuer = new RandomSessionIssuer(nodeCrypto, staticKey.privateKey);
  const a = issuer.issue(new Uint8Array(32), "r");
  const b = issuer.issue(new Uint8Array(32), "r");
  assert.deepEqual([a.sessionId.length, a.clientKey.length, a.serverKey.length], [8, 32, 32]);
  assert.notDeepEqual(a.sessionId, b.sessionId);
  assert.notDeepEqual(a.clientKey, b.clientKey);
  assert.notDeepEqual(a.clientKey, a.serverKey);
  const resetKey = nodeCrypto.hmacSha256(
    staticKey.privateKey,
    new TextEncoder().encode("chat stateless reset v1"),
  );
  for (const session of [a, b]) {
    assert.deepEqual(
      session.resetToken,
      nodeCrypto.hmacSha256(resetKey, session.sessionId).slice(0, 16),
    );
  }
});
