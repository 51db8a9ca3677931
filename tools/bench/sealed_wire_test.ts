import assert from "node:assert/strict";
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import { encodeServerDatagram, EventType } from "../../protocol/datagram.ts";
import { sealRoomDatagram } from "../../protocol/sealed_datagram.ts";
import { SealedRoomReceiver, VERIFY_EVERY } from "./sealed_wire.ts";
import { type Stamp, stampText } from "./stamp.ts";
import type { ReceiverChecks } from "./target.ts";

const key = new Uint8Array(32).fill(7);
const signer = nodeCrypto.ed25519Signer(new Uint8Array(32).fill(9));

function roomDatagram(counter: number, seq: number, epoch = 1): Uint8Array {
  const text = new TextDecoder().decode(stampText(2, 0, seq, 1_000 + seq));
  const inner = encodeServerDatagram({
    kind: "event",
    seq: 10 + seq,
    timeMs: 1,
    type: EventType.MESSAGE,
    name: "m0",
    text,
  });
  return sealRoomDatagram(nodeCrypto, { key, epoch, counter, inner, signer });
}

function fresh(): { receiver: SealedRoomReceiver; checks: ReceiverChecks; out: Stamp } {
  const checks = { opened: 0, verified: 0, matched: 0, rejected: 0 };
  const receiver = new SealedRoomReceiver(signer.publicKey, checks);
  receiver.addEpochKey(1, key);
  return { receiver, checks, out: { eventSeq: 0, step: 0, sender: 0, seq: 0, sentMicros: 0 } };
}

Deno.test("the first copy of a counter is opened, later copies are matched by their clear header", () => {
  const { receiver, checks, out } = fresh();
  const bytes = roomDatagram(5, 3);
  assert.equal(receiver.read(bytes, out), "stamp");
  assert.deepEqual(out, { eventSeq: 13, step: 2, sender: 0, seq: 3, sentMicros: 1_003 });
  out.seq = -1;
  assert.equal(receiver.read(bytes.slice(), out), "stamp");
  assert.equal(out.seq, 3);
  assert.deepEqual(checks, { opened: 1, verified: 0, matched: 1, rejected: 0 });
});

Deno.test("a copy that differs from the opened one, or that does not open, is rejected", () => {
  const { receiver, checks, out } = fresh();
  const bytes = roomDatagram(5, 3);
  assert.equal(receiver.read(bytes, out), "stamp");
  const changedSignature = bytes.slice();
  changedSignature[changedSignature.length - 1]! ^= 1;
  assert.equal(receiver.read(changedSignature, out), null);
  assert.equal(receiver.read(bytes.subarray(0, bytes.length - 1), out), null);
  const changedText = roomDatagram(6, 4);
  changedText[20]! ^= 1;
  assert.equal(receiver.read(changedText, out), null, "the tag does not verify");
  assert.equal(receiver.read(roomDatagram(7, 5, 2), out), null, "an epoch without its key");
  assert.deepEqual(checks, { opened: 1, verified: 0, matched: 0, rejected: 4 });
  // Not a room datagram at all: for the member channel, not counted.
  assert.equal(receiver.read(new Uint8Array(200), out), null);
  assert.equal(checks.rejected, 4);
});

Deno.test("every VERIFY_EVERY-th opened datagram has its signature checked", () => {
  const { receiver, checks, out } = fresh();
  for (let i = 0; i < VERIFY_EVERY - 1; i++) receiver.read(roomDatagram(i, i), out);
  // The next one opened is verified: the server's signature over another signer's fails.
  const other = nodeCrypto.ed25519Signer(new Uint8Array(32).fill(1));
  const inner = encodeServerDatagram({
    kind: "event",
    seq: 99,
    timeMs: 1,
    type: EventType.MESSAGE,
    name: "m0",
    text: "hi",
  });
  const forged = sealRoomDatagram(nodeCrypto, {
    key,
    epoch: 1,
    counter: 100,
    inner,
    signer: other,
  });
  assert.equal(receiver.read(forged, out), null);
  assert.equal(checks.rejected, 1);
  assert.equal(receiver.read(roomDatagram(101, 101), out), "stamp");
  assert.equal(checks.verified, 0);
  for (let i = 0; i < VERIFY_EVERY; i++) receiver.read(roomDatagram(200 + i, 200 + i), out);
  assert.equal(checks.verified, 1);
  assert.equal(checks.rejected, 1);
});

Deno.test("clear() forgets opened counters: a late copy is opened again", () => {
  const { receiver, checks, out } = fresh();
  const bytes = roomDatagram(5, 3);
  receiver.read(bytes, out);
  receiver.clear();
  assert.equal(receiver.read(bytes, out), "stamp");
  assert.equal(checks.opened, 2);
});
