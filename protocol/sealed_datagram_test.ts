import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { flip, hex, toHex } from "../crypto/provider_vectors_test_util.ts";
import { ProtocolError } from "./errors.ts";
import {
  datagramNonce,
  encodeResetDatagram,
  isSealedDatagram,
  MAX_COUNTER,
  MEMBER_OVERHEAD_BYTES,
  openMemberDatagram,
  openRoomDatagram,
  peekSealedHeader,
  RESET_DATAGRAM_BYTES,
  resetTokenOf,
  ROOM_OVERHEAD_BYTES,
  sameBytes,
  sealMemberDatagram,
  sealRoomDatagram,
  verifyRoomDatagram,
} from "./sealed_datagram.ts";

const crypto = nodeCrypto;
const KEY = hex("00112233445566778899aabbccddeeff".repeat(2));
const OTHER_KEY = KEY.map((byte) => byte ^ 0x80);
const SESSION = hex("0102030405060708");
const INNER = hex("82000000070000000a"); // an ACK
const SIGNER = crypto.ed25519Signer(new Uint8Array(32).fill(5));

function throwsStatus(fn: () => unknown, status: 400 | 413 = 400): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
    assert.equal(error.status, status, error.message);
    return true;
  });
}

function member(counter = 3, inner = INNER, key = KEY): Uint8Array {
  return sealMemberDatagram(crypto, { key, sessionId: SESSION, counter, inner });
}

function room(counter = 9, inner = INNER, epoch = 2): Uint8Array {
  return sealRoomDatagram(crypto, { key: KEY, epoch, counter, inner, signer: SIGNER });
}

Deno.test("member datagram: clear header, then ciphertext and tag; opens under its key only", () => {
  const bytes = member(0x0102030405);
  assert.equal(bytes.length, MEMBER_OVERHEAD_BYTES + INNER.length);
  assert.equal(toHex(bytes.subarray(0, 18)), "0001" + "0102030405060708" + "0000000102030405");
  assert.ok(isSealedDatagram(bytes));
  assert.deepEqual(peekSealedHeader(bytes), {
    type: "member",
    sessionId: SESSION,
    counter: 0x0102030405,
  });
  assert.deepEqual(openMemberDatagram(crypto, KEY, bytes), INNER);
  assert.equal(openMemberDatagram(crypto, OTHER_KEY, bytes), null);
  // The inner is not in clear, and the header is the AEAD's associated data.
  assert.ok(!toHex(bytes).includes(toHex(INNER)));
  const plain = crypto.aeadSeal(KEY, datagramNonce(0x0102030405), INNER, bytes.subarray(0, 18));
  assert.deepEqual(bytes.subarray(18), plain);
});

Deno.test("member datagram: every single bit flip fails to open", () => {
  const bytes = member();
  for (let i = 0; i < bytes.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      assert.equal(
        openMemberDatagram(crypto, KEY, flip(bytes, i, bit)),
        null,
        `byte ${i} bit ${bit}`,
      );
    }
  }
  assert.equal(openMemberDatagram(crypto, KEY, bytes.subarray(0, bytes.length - 1)), null);
  assert.equal(openMemberDatagram(crypto, KEY, room()), null); // a room datagram is not one
});

Deno.test("room datagram: header, ciphertext, tag, signature; verifies and opens", async () => {
  const bytes = room(0x0a0b, INNER, 0x01020304);
  assert.equal(bytes.length, ROOM_OVERHEAD_BYTES + INNER.length);
  assert.equal(toHex(bytes.subarray(0, 14)), "0002" + "01020304" + "0000000000000a0b");
  assert.deepEqual(peekSealedHeader(bytes), { type: "room", epoch: 0x01020304, counter: 0x0a0b });
  const signed = bytes.subarray(0, bytes.length - 64);
  assert.ok(crypto.ed25519Verify(SIGNER.publicKey, signed, bytes.subarray(bytes.length - 64)));
  assert.equal(await verifyRoomDatagram(crypto, SIGNER.publicKey, bytes), true);
  assert.deepEqual(openRoomDatagram(crypto, KEY, bytes), INNER);
  assert.equal(openRoomDatagram(crypto, OTHER_KEY, bytes), null);
  const impostor = crypto.ed25519Signer(new Uint8Array(32).fill(6));
  assert.equal(await verifyRoomDatagram(crypto, impostor.publicKey, bytes), false);
  // A member holding the epoch key can seal, but not sign as the server.
  const forged = sealRoomDatagram(crypto, {
    key: KEY,
    epoch: 0x01020304,
    counter: 0x0a0c,
    inner: INNER,
    signer: impostor,
  });
  assert.deepEqual(openRoomDatagram(crypto, KEY, forged), INNER);
  assert.equal(await verifyRoomDatagram(crypto, SIGNER.publicKey, forged), false);
});

Deno.test("room datagram: every single bit flip fails to verify, and outside the signature to open", async () => {
  const bytes = room();
  const signatureStart = bytes.length - 64;
  for (let i = 0; i < bytes.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const changed = flip(bytes, i, bit);
      assert.equal(await verifyRoomDatagram(crypto, SIGNER.publicKey, changed), false, `byte ${i}`);
      if (i < signatureStart) {
        assert.equal(openRoomDatagram(crypto, KEY, changed), null, `byte ${i}`);
      }
    }
  }
  assert.equal(await verifyRoomDatagram(crypto, SIGNER.publicKey, member()), false);
  assert.equal(openRoomDatagram(crypto, KEY, member()), null);
});

Deno.test("datagram nonce: 4 zero bytes, then the counter as u64 big-endian", () => {
  assert.equal(toHex(datagramNonce(0)), "00".repeat(12));
  assert.equal(toHex(datagramNonce(0x01020304050607)), "00000000" + "0001020304050607");
  assert.equal(toHex(datagramNonce(MAX_COUNTER)), "00000000" + "001fffffffffffff");
  for (const bad of [-1, 0.5, MAX_COUNTER + 1, NaN]) {
    assert.throws(() => datagramNonce(bad), RangeError, `counter ${bad}`);
  }
});

Deno.test("sealing checks sizes: 4096 bytes in all at most, keys and ids of the right length", () => {
  assert.equal(member(0, new Uint8Array(4096 - MEMBER_OVERHEAD_BYTES)).length, 4096);
  assert.throws(() => member(0, new Uint8Array(4096 - MEMBER_OVERHEAD_BYTES + 1)), RangeError);
  assert.equal(room(0, new Uint8Array(4096 - ROOM_OVERHEAD_BYTES)).length, 4096);
  assert.throws(() => room(0, new Uint8Array(4096 - ROOM_OVERHEAD_BYTES + 1)), RangeError);
  assert.throws(() => member(0, INNER, KEY.subarray(1)), RangeError);
  assert.throws(
    () =>
      sealMemberDatagram(crypto, {
        key: KEY,
        sessionId: SESSION.subarray(1),
        counter: 0,
        inner: INNER,
      }),
    RangeError,
  );
  assert.throws(() => member(MAX_COUNTER + 1), RangeError);
  assert.throws(() => room(0, INNER, 2 ** 32), RangeError);
  assert.deepEqual(peekSealedHeader(member(MAX_COUNTER)), {
    type: "member",
    sessionId: SESSION,
    counter: MAX_COUNTER,
  });
});

Deno.test("header parsing: short, unknown, unmarked or out-of-range input is a 400; oversized a 413", () => {
  const valid = member();
  const counterAt = (bytes: Uint8Array, at: number, value: bigint) => {
    const out = bytes.slice();
    new DataView(out.buffer).setBigUint64(at, value);
    return out;
  };
  const cases: Uint8Array[] = [
    new Uint8Array(0),
    Uint8Array.of(0),
    Uint8Array.of(0, 1),
    valid.subarray(0, MEMBER_OVERHEAD_BYTES - 1), // header but no whole tag
    room().subarray(0, ROOM_OVERHEAD_BYTES - 1), // no whole signature
    Uint8Array.of(0, 0, ...valid.subarray(2)),
    Uint8Array.of(0, 4, ...valid.subarray(2)),
    Uint8Array.of(0, 0xff, ...valid.subarray(2)),
    Uint8Array.of(1, 1, ...valid.subarray(2)), // not the marker
    counterAt(valid, 10, 2n ** 53n),
    counterAt(valid, 10, 2n ** 64n - 1n),
    counterAt(room(), 6, 2n ** 53n),
    encodeResetDatagram(SESSION, new Uint8Array(16)).subarray(0, RESET_DATAGRAM_BYTES - 1),
    Uint8Array.of(...encodeResetDatagram(SESSION, new Uint8Array(16)), 0),
  ];
  for (const bytes of cases) throwsStatus(() => peekSealedHeader(bytes));
  throwsStatus(() => peekSealedHeader(new Uint8Array(4097)), 413);
  assert.equal(isSealedDatagram(Uint8Array.of(1, 0)), false);
  assert.equal(isSealedDatagram(new Uint8Array(0)), false);
});

Deno.test("reset datagram: 26 bytes of marker, type 3, session id and token", () => {
  const token = hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  const bytes = encodeResetDatagram(SESSION, token);
  assert.equal(bytes.length, RESET_DATAGRAM_BYTES);
  assert.equal(toHex(bytes), "0003" + "0102030405060708" + "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  assert.deepEqual(peekSealedHeader(bytes), { type: "reset", sessionId: SESSION, token });
  assert.throws(() => encodeResetDatagram(SESSION, token.subarray(1)), RangeError);
  assert.throws(() => encodeResetDatagram(SESSION.subarray(1), token), RangeError);
});

Deno.test("reset token: HMAC(HMAC(static key, label), session id), first 16 bytes", () => {
  const staticKey = new Uint8Array(32).fill(3);
  const resetKey = createHmac("sha256", staticKey).update("chat stateless reset v1").digest();
  const expected = createHmac("sha256", resetKey).update(SESSION).digest().subarray(0, 16);
  const token = resetTokenOf(crypto, staticKey, SESSION);
  assert.equal(toHex(token), toHex(expected));
  assert.notDeepEqual(resetTokenOf(crypto, staticKey, flip(SESSION, 0)), token);
  assert.notDeepEqual(resetTokenOf(crypto, flip(staticKey, 0), SESSION), token);
});

Deno.test("sameBytes: equal only for the same length and bytes", () => {
  assert.equal(sameBytes(new Uint8Array(0), new Uint8Array(0)), true);
  assert.equal(sameBytes(hex("0102"), hex("0102")), true);
  assert.equal(sameBytes(hex("0102"), hex("0103")), false);
  assert.equal(sameBytes(hex("0102"), hex("010200")), false);
  assert.equal(sameBytes(hex("80"), hex("00")), false);
});

Deno.test("the sealed codecs import only relative files and use no Deno or node: API", () => {
  for (const file of ["sealed_datagram.ts", "sealed_inner.ts", "replay_window.ts", "noise.ts"]) {
    const text = Deno.readTextFileSync(new URL(file, import.meta.url));
    for (const [, specifier] of text.matchAll(/from\s*["']([^"']+)["']/g)) {
      assert.ok(specifier!.startsWith("./"), `${file} imports ${specifier}`);
    }
    assert.doesNotMatch(text, /\bDeno\.|["']node:|["']npm:/, file);
  }
});
