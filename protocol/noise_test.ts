import assert from "node:assert/strict";
import { nobleCrypto } from "../crypto/noble_crypto.ts";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { flip, hex, toHex } from "../crypto/provider_vectors_test_util.ts";
import {
  CipherState,
  NOISE_PROTOCOL_NAME,
  type NoiseCipher,
  NoiseError,
  NoiseNxInitiator,
  NoiseNxResponder,
} from "./noise.ts";
import type { CryptoProvider } from "./sealed_types.ts";

const crypto = nodeCrypto;

interface Vector {
  source: string;
  "protocol_name": string;
  "init_prologue": string;
  "init_ephemeral": string;
  "resp_prologue": string;
  "resp_static": string;
  "resp_ephemeral": string;
  "handshake_hash"?: string;
  messages: { payload: string; ciphertext: string }[];
}

const { vectors } = JSON.parse(
  Deno.readTextFileSync(new URL("testdata/noise_nx_vectors.json", import.meta.url)),
) as { vectors: Vector[] };

/** Runs a published vector through both roles, checking every byte. */
function runVector(provider: CryptoProvider, v: Vector): void {
  assert.equal(v["protocol_name"], NOISE_PROTOCOL_NAME);
  const staticKey = provider.x25519KeyPair(hex(v["resp_static"]));
  const initiator = new NoiseNxInitiator(
    provider,
    hex(v["init_prologue"]),
    provider.x25519KeyPair(hex(v["init_ephemeral"])),
  );
  const responder = new NoiseNxResponder(
    provider,
    hex(v["resp_prologue"]),
    staticKey,
    provider.x25519KeyPair(hex(v["resp_ephemeral"])),
  );
  const [m1, m2, ...transport] = v.messages;
  const message1 = initiator.writeMessage1(hex(m1!.payload));
  assert.equal(toHex(message1), m1!.ciphertext, "message 1");
  assert.equal(toHex(responder.readMessage1(message1)), m1!.payload);
  const message2 = responder.writeMessage2(hex(m2!.payload));
  assert.equal(toHex(message2), m2!.ciphertext, "message 2");
  const read = initiator.readMessage2(message2);
  assert.equal(toHex(read.payload), m2!.payload);
  assert.deepEqual(read.remoteStatic, staticKey.publicKey);
  assert.deepEqual(initiator.handshakeHash, responder.handshakeHash);
  if (v["handshake_hash"]) assert.equal(toHex(initiator.handshakeHash), v["handshake_hash"]);
  const ours = initiator.split();
  const theirs = responder.split();
  transport.forEach((m, i) => {
    // Transport messages alternate, the initiator first.
    const [from, to]: [NoiseCipher, NoiseCipher] = i % 2 === 0
      ? [ours.send, theirs.receive]
      : [theirs.send, ours.receive];
    const ciphertext = from.encrypt(hex(m.payload));
    assert.equal(toHex(ciphertext), m.ciphertext, `transport message ${i}`);
    assert.equal(toHex(to.decrypt(ciphertext)), m.payload);
  });
}

for (const provider of [nodeCrypto, nobleCrypto]) {
  for (const v of vectors) {
    Deno.test(`Noise NX on ${provider.name} matches the vectors of ${v.source.split(" ")[0]}`, () => {
      runVector(provider, v);
    });
  }
}

function handshake(prologue = Uint8Array.of(1, 2, 3)) {
  const staticKey = crypto.x25519KeyPair();
  const initiator = new NoiseNxInitiator(crypto, prologue);
  const responder = new NoiseNxResponder(crypto, prologue, staticKey);
  return { staticKey, initiator, responder };
}

function throwsNoise(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof NoiseError, `expected a NoiseError, got ${error}`);
    if (message) assert.match(error.message, message);
    return true;
  });
}

Deno.test("Noise NX with empty payloads: messages of 32 and 96 bytes, then working ciphers", () => {
  const { staticKey, initiator, responder } = handshake();
  const message1 = initiator.writeMessage1();
  assert.equal(message1.length, 32);
  assert.deepEqual(responder.readMessage1(message1), new Uint8Array(0));
  const message2 = responder.writeMessage2();
  assert.equal(message2.length, 96);
  const { payload, remoteStatic } = initiator.readMessage2(message2);
  assert.deepEqual([payload.length, remoteStatic], [0, staticKey.publicKey]);
  const client = initiator.split();
  const server = responder.split();
  const request = new TextEncoder().encode('{"username":"ann"}');
  assert.deepEqual(server.receive.decrypt(client.send.encrypt(request)), request);
  assert.deepEqual(client.receive.decrypt(server.send.encrypt(request)), request);
  // The two directions have different keys.
  throwsNoise(() => client.receive.decrypt(client.send.encrypt(request)));
});

Deno.test("Noise NX: a different prologue (operation, room) fails message 2 at the initiator", () => {
  const staticKey = crypto.x25519KeyPair();
  const initiator = new NoiseNxInitiator(crypto, Uint8Array.of(1));
  const responder = new NoiseNxResponder(crypto, Uint8Array.of(2), staticKey);
  responder.readMessage1(initiator.writeMessage1());
  throwsNoise(() => initiator.readMessage2(responder.writeMessage2()), /decrypt/);
  throwsNoise(() => initiator.split(), /out of order/); // a failed handshake is dead
});

Deno.test("Noise NX: every bit flip of message 2 fails; wrong lengths fail", () => {
  const prologue = Uint8Array.of(9);
  const initiatorKey = crypto.x25519KeyPair();
  const staticKey = crypto.x25519KeyPair();
  const responderKey = crypto.x25519KeyPair();
  const message1 = new NoiseNxInitiator(crypto, prologue, initiatorKey).writeMessage1();
  const responder = new NoiseNxResponder(crypto, prologue, staticKey, responderKey);
  responder.readMessage1(message1);
  const message2 = responder.writeMessage2();
  const initiator = () => {
    const fresh = new NoiseNxInitiator(crypto, prologue, initiatorKey);
    fresh.writeMessage1();
    return fresh;
  };
  assert.deepEqual(initiator().readMessage2(message2).remoteStatic, staticKey.publicKey);
  // The high bit of a public key is masked by X25519 (RFC 7748), so flipping it in e
  // changes nothing in the DH; the hash still covers it and the open fails.
  for (let i = 0; i < message2.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      throwsNoise(() => initiator().readMessage2(flip(message2, i, bit)));
    }
  }
  for (const size of [0, 32, 95]) {
    throwsNoise(() => initiator().readMessage2(message2.slice(0, size)), /bytes/);
  }
  throwsNoise(() => initiator().readMessage2(Uint8Array.of(...message2, 0)));
  throwsNoise(() => initiator().readMessage2(new Uint8Array(65536)), /bytes/);
  for (const size of [0, 31]) {
    throwsNoise(
      () => new NoiseNxResponder(crypto, prologue, staticKey).readMessage1(new Uint8Array(size)),
      /bytes/,
    );
  }
  throwsNoise(
    () => new NoiseNxInitiator(crypto, prologue).writeMessage1(new Uint8Array(65535 - 31)),
    /bytes/,
  );
});

Deno.test("Noise NX: a low-order ephemeral key is refused with a NoiseError", () => {
  const responder = new NoiseNxResponder(crypto, new Uint8Array(0), crypto.x25519KeyPair());
  responder.readMessage1(new Uint8Array(32));
  throwsNoise(() => responder.writeMessage2(), /low-order/);
  throwsNoise(() => responder.split(), /out of order/);
});

Deno.test("Noise NX: steps out of order are NoiseErrors", () => {
  const { initiator, responder } = handshake();
  throwsNoise(() => initiator.readMessage2(new Uint8Array(96)), /out of order/);
  throwsNoise(() => initiator.split(), /out of order/);
  throwsNoise(() => responder.writeMessage2(), /out of order/);
  const message1 = initiator.writeMessage1();
  throwsNoise(() => initiator.writeMessage1(), /out of order/);
  responder.readMessage1(message1);
  throwsNoise(() => responder.readMessage1(message1), /out of order/);
  throwsNoise(() => responder.split(), /out of order/);
  initiator.readMessage2(responder.writeMessage2());
  initiator.split();
  throwsNoise(() => initiator.split(), /out of order/);
});

Deno.test("Noise transport: a changed message fails without using up the nonce", () => {
  const { initiator, responder } = handshake();
  responder.readMessage1(initiator.writeMessage1());
  initiator.readMessage2(responder.writeMessage2());
  const send = initiator.split().send;
  const receive = responder.split().receive;
  const first = send.encrypt(Uint8Array.of(1), Uint8Array.of(7));
  throwsNoise(() => receive.decrypt(flip(first, 0), Uint8Array.of(7)));
  throwsNoise(() => receive.decrypt(first, Uint8Array.of(8)));
  throwsNoise(() => receive.decrypt(first.subarray(0, 15), Uint8Array.of(7)));
  assert.deepEqual(receive.decrypt(first, Uint8Array.of(7)), Uint8Array.of(1));
  throwsNoise(() => receive.decrypt(first, Uint8Array.of(7))); // a replay: the nonce moved on
  assert.deepEqual(receive.decrypt(send.encrypt(Uint8Array.of(2))), Uint8Array.of(2));
});

Deno.test("Noise CipherState: nonce is 4 zero bytes || u64 little-endian; 2^64-1 is refused", () => {
  const key = new Uint8Array(32).fill(4);
  const cipher = new CipherState(crypto, key);
  cipher.setNonce(0x0102n);
  const nonce = hex("00000000" + "0201000000000000");
  assert.deepEqual(
    cipher.encrypt(Uint8Array.of(5)),
    crypto.aeadSeal(key, nonce, Uint8Array.of(5), new Uint8Array(0)),
  );
  cipher.setNonce(2n ** 64n - 2n);
  const last = cipher.encrypt(Uint8Array.of(6));
  const lastNonce = hex("00000000" + "feffffffffffffff");
  assert.deepEqual(last, crypto.aeadSeal(key, lastNonce, Uint8Array.of(6), new Uint8Array(0)));
  throwsNoise(() => cipher.encrypt(Uint8Array.of(6)), /exhausted/);
  const receiver = new CipherState(crypto, key);
  receiver.setNonce(2n ** 64n - 1n);
  throwsNoise(() => receiver.decrypt(last), /exhausted/);
  // With no key, a CipherState passes data through (Noise section 5.1).
  assert.deepEqual(new CipherState(crypto).encrypt(Uint8Array.of(1)), Uint8Array.of(1));
});
