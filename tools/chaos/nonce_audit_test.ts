import assert from "node:assert/strict";
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import {
  datagramNonce,
  sealMemberDatagram,
  sealRoomDatagram,
} from "../../protocol/sealed_datagram.ts";
import { auditingCrypto, describeAudit, NonceAudit, type SealKind } from "./nonce_audit.ts";

const KEY = new Uint8Array(32).fill(7);
const OTHER_KEY = new Uint8Array(32).fill(8);

Deno.test("NonceAudit: the same (key, nonce) twice is a repeat, whoever sealed it; the parent sees it too", () => {
  const run = new NonceAudit();
  const suite = new NonceAudit(run);
  suite.record("server", "member", KEY, datagramNonce(0));
  suite.record("server", "member", KEY, datagramNonce(1));
  suite.record("client", "member", OTHER_KEY, datagramNonce(0));
  assert.equal(suite.figures.repeats, 0);
  suite.record("client", "member", KEY, datagramNonce(1)); // another party, the same pair
  assert.deepEqual([suite.figures.pairs, suite.figures.repeats], [3, 1]);
  assert.deepEqual([run.figures.pairs, run.figures.repeats], [3, 1]);
  // A pair new to this suite but seen by the run's audit before is a repeat of the run.
  const next = new NonceAudit(run);
  next.record("server", "room", KEY, datagramNonce(0));
  assert.deepEqual([next.figures.repeats, run.figures.repeats], [0, 2]);
  assert.match(
    describeAudit(suite.figures),
    /^nonce audit: 3 \(key, nonce\) pairs .*, 1 repeated$/,
  );
});

Deno.test("auditingCrypto: every seal is told, with its kind from the header, before it is made", () => {
  const told: { kind: SealKind; nonce: Uint8Array }[] = [];
  const crypto = auditingCrypto(nodeCrypto, (kind, _key, nonce) => told.push({ kind, nonce }));
  sealMemberDatagram(crypto, {
    key: KEY,
    sessionId: new Uint8Array(8),
    counter: 5,
    inner: new Uint8Array([1]),
  });
  sealRoomDatagram(crypto, {
    key: KEY,
    epoch: 1,
    counter: 6,
    inner: new Uint8Array(20),
    signer: nodeCrypto.ed25519Signer(),
  });
  crypto.aeadSeal(KEY, new Uint8Array(12), new Uint8Array(0), new Uint8Array(32)); // Noise's
  assert.deepEqual(told.map((t) => t.kind), ["member", "room", "handshake"]);
  assert.deepEqual(told[0]!.nonce, datagramNonce(5));
  // Sealing still works: the wrapper changes nothing else.
  const sealed = crypto.aeadSeal(KEY, datagramNonce(9), new Uint8Array([42]), new Uint8Array(0));
  assert.deepEqual(
    crypto.aeadOpen(KEY, datagramNonce(9), sealed, new Uint8Array(0)),
    new Uint8Array([42]),
  );
});
