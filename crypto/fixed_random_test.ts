import assert from "node:assert/strict";
import { NoiseNxInitiator, NoiseNxResponder } from "../protocol/noise.ts";
import {
  encodeResetDatagram,
  openMemberDatagram,
  openRoomDatagram,
  resetTokenOf,
  sealMemberDatagram,
  sealRoomDatagram,
  verifyRoomDatagram,
} from "../protocol/sealed_datagram.ts";
import type { CryptoProvider } from "../protocol/sealed_types.ts";
import { withFixedRandom } from "./fixed_random.ts";
import { nobleCrypto } from "./noble_crypto.ts";
import { nodeCrypto } from "./node_crypto.ts";

/** A fixed, non-trivial byte sequence (not all equal, so keys differ). */
function fixedBytes(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 131 + seed * 17 + (i >> 8)) & 0xff);
}

Deno.test("withFixedRandom: random bytes and fresh keys come in order from the bytes given", () => {
  const bytes = fixedBytes(32 * 4 + 10, 1);
  const provider = withFixedRandom(nodeCrypto, bytes);
  assert.deepEqual(provider.randomBytes(10), bytes.subarray(0, 10));
  assert.deepEqual(provider.x25519KeyPair().privateKey, bytes.subarray(10, 42));
  assert.deepEqual(
    provider.ed25519Signer().publicKey,
    nodeCrypto.ed25519Signer(bytes.subarray(42, 74)).publicKey,
  );
  // Given keys draw nothing.
  const given = new Uint8Array(32).fill(7);
  assert.deepEqual(provider.x25519KeyPair(given), nodeCrypto.x25519KeyPair(given));
  assert.deepEqual(provider.randomBytes(64), bytes.subarray(74, 138));
  assert.throws(() => provider.randomBytes(1), /exhausted/);
  // The rest is the provider's own.
  assert.deepEqual(provider.sha256(given), nodeCrypto.sha256(given));
});

/** Everything one sealed session writes, from one fixed random source. */
async function transcript(base: CryptoProvider): Promise<Uint8Array[]> {
  const crypto = withFixedRandom(base, fixedBytes(4096, 2));
  const out: Uint8Array[] = [];
  const prologue = new TextEncoder().encode("chat sealed v1\0header and room");
  const staticKey = crypto.x25519KeyPair();
  const initiator = new NoiseNxInitiator(crypto, prologue);
  const responder = new NoiseNxResponder(crypto, prologue, staticKey);
  out.push(initiator.writeMessage1());
  responder.readMessage1(out.at(-1)!);
  out.push(responder.writeMessage2());
  initiator.readMessage2(out.at(-1)!);
  out.push(initiator.handshakeHash, responder.handshakeHash);
  const client = initiator.split();
  const server = responder.split();
  const request = new TextEncoder().encode('{"username":"ann","password":"pw"}'.padEnd(256));
  out.push(client.send.encrypt(request));
  assert.deepEqual(server.receive.decrypt(out.at(-1)!), request);
  const [clientKey, serverKey, epochKey, sessionId] = [32, 32, 32, 8].map((n) =>
    crypto.randomBytes(n)
  );
  out.push(server.send.encrypt(Uint8Array.of(...clientKey!, ...serverKey!)));
  const signer = crypto.ed25519Signer();
  for (let counter = 0; counter < 3; counter++) {
    const inner = Uint8Array.of(0x03, 0, 0, 0, counter);
    out.push(
      sealMemberDatagram(crypto, { key: clientKey!, sessionId: sessionId!, counter, inner }),
    );
    out.push(
      sealRoomDatagram(crypto, { key: epochKey!, epoch: 1, counter, inner, signer }),
    );
  }
  out.push(encodeResetDatagram(sessionId!, resetTokenOf(crypto, staticKey.privateKey, sessionId!)));
  // And what each side must accept.
  assert.ok(await verifyRoomDatagram(crypto, signer.publicKey, out.at(-2)!));
  return out;
}

Deno.test("node:crypto and @noble write identical Noise transcripts and sealed datagrams", async () => {
  const node = await transcript(nodeCrypto);
  const noble = await transcript(nobleCrypto);
  assert.equal(node.length, noble.length);
  node.forEach((bytes, i) => assert.deepEqual(noble[i], bytes, `item ${i}`));
});

Deno.test("what one provider seals or signs, the other opens and verifies", async () => {
  const key = fixedBytes(32, 3);
  const sessionId = fixedBytes(8, 4);
  const inner = fixedBytes(120, 5);
  for (const [from, to] of [[nodeCrypto, nobleCrypto], [nobleCrypto, nodeCrypto]] as const) {
    const signer = from.ed25519Signer();
    const member = sealMemberDatagram(from, { key, sessionId, counter: 9, inner });
    assert.deepEqual(openMemberDatagram(to, key, member), inner);
    const room = sealRoomDatagram(from, { key, epoch: 3, counter: 9, inner, signer });
    assert.equal(await verifyRoomDatagram(to, signer.publicKey, room), true);
    assert.deepEqual(openRoomDatagram(to, key, room), inner);
    const a = from.x25519KeyPair();
    const b = to.x25519KeyPair();
    assert.deepEqual(from.x25519(a.privateKey, b.publicKey), to.x25519(b.privateKey, a.publicKey));
  }
});
