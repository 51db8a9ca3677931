/**
 * The resume ticket: its proof against an HMAC computed here independently
 * (node:crypto's createHmac), for both providers, and its strict JSON form.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { nobleCrypto } from "../crypto/noble_crypto.ts";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { bytesToHex } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
import {
  decodeResumeTicket,
  encodeResumeTicket,
  RESUME_PROOF_LABEL,
  resumeProof,
} from "./resume.ts";

const clientKey = Uint8Array.from({ length: 32 }, (_, i) => i);
const sessionId = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03]);

/** HMAC-SHA256(clientKey, "chat resume v1" || sessionId), computed without the code under test. */
const expected = createHmac("sha256", clientKey)
  .update(Buffer.from("chat resume v1", "utf8"))
  .update(sessionId)
  .digest("hex");

Deno.test("resume proof: HMAC-SHA256(clientKey, 'chat resume v1' || sessionId), the same from both providers", () => {
  assert.equal(RESUME_PROOF_LABEL, "chat resume v1");
  for (const crypto of [nodeCrypto, nobleCrypto]) {
    assert.equal(bytesToHex(resumeProof(crypto, clientKey, sessionId)), expected, crypto.name);
  }
  // Bound to the session and the key: another of either gives another proof.
  const otherId = sessionId.slice();
  otherId[7] = 0x04;
  assert.notEqual(bytesToHex(resumeProof(nodeCrypto, clientKey, otherId)), expected);
  const otherKey = clientKey.slice();
  otherKey[0] = 0xff;
  assert.notEqual(bytesToHex(resumeProof(nodeCrypto, otherKey, sessionId)), expected);
  assert.throws(() => resumeProof(nodeCrypto, clientKey.subarray(1), sessionId), RangeError);
  assert.throws(() => resumeProof(nodeCrypto, clientKey, sessionId.subarray(1)), RangeError);
});

Deno.test("resume ticket: lowercase hex in JSON, decoded back exactly", () => {
  const proof = resumeProof(nodeCrypto, clientKey, sessionId);
  const json = encodeResumeTicket({ sessionId, proof });
  assert.deepEqual(json, { session: "deadbeef00010203", proof: expected });
  const back = decodeResumeTicket(JSON.parse(JSON.stringify(json)));
  assert.deepEqual(back, { sessionId, proof });
  assert.throws(() => encodeResumeTicket({ sessionId: sessionId.subarray(1), proof }), RangeError);
  assert.throws(() => encodeResumeTicket({ sessionId, proof: proof.subarray(1) }), RangeError);
});

Deno.test("resume ticket: anything but exactly {session: 16 hex, proof: 64 hex} is 400", () => {
  const session = "deadbeef00010203";
  const bad: unknown[] = [
    null,
    "deadbeef00010203",
    [session, expected],
    {},
    { session },
    { proof: expected },
    { session: session.toUpperCase(), proof: expected },
    { session: session.slice(1), proof: expected },
    { session: session + "00", proof: expected },
    { session: "zzzzzzzzzzzzzzzz", proof: expected },
    { session, proof: expected.slice(2) },
    { session, proof: expected.replace(/^../, "g0") },
    { session: 12, proof: expected },
    { session, proof: expected, extra: 1 },
  ];
  for (const value of bad) {
    assert.throws(
      () => decodeResumeTicket(value),
      (error) => error instanceof ProtocolError && error.status === 400,
      JSON.stringify(value),
    );
  }
});
