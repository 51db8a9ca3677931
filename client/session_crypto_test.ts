/**
 * The crypto hook with an asynchronous transform (not cryptography: a mask
 * and a marker byte) that takes a different, scrambled time for each
 * datagram: the session still works, nothing plain goes on the wire, and
 * datagrams keep their order both ways.
 */
import assert from "node:assert/strict";
import { VirtualClock } from "../testing/virtual_time.ts";
import type { DatagramCrypto } from "./datagram_crypto.ts";
import { message, welcome, type WireCodec, withSession } from "./fake_network_test_util.ts";
import { sleep } from "./scheduler.ts";

const MARKER = 0x5a;

function mask(bytes: Uint8Array): Uint8Array {
  return Uint8Array.of(MARKER, ...bytes.map((b) => b ^ MARKER));
}

function unmask(bytes: Uint8Array): Uint8Array | null {
  return bytes[0] === MARKER ? bytes.subarray(1).map((b) => b ^ MARKER) : null;
}

/** The far end's side of the transform, synchronous. */
const MASKED_WIRE: WireCodec = {
  fromClient: (bytes) => {
    const opened = unmask(bytes);
    assert.ok(opened !== null, "only masked datagrams go on the wire");
    return opened;
  },
  toClient: mask,
};

/**
 * The masking transform, asynchronous, each call waiting a different time
 * on the virtual clock so that later calls often finish first.
 */
function scramblingTransform(clock: VirtualClock): DatagramCrypto {
  const delays = [40, 5, 25, 0, 15, 30, 10];
  let call = 0;
  const later = () => sleep(clock, delays[call++ % delays.length]!);
  return {
    seal: async (bytes) => {
      await later();
      return mask(bytes);
    },
    open: async (bytes) => {
      await later();
      return unmask(bytes);
    },
  };
}

Deno.test("a session through an async, order-scrambling transform works and keeps order both ways", async () => {
  const clock = new VirtualClock();
  await withSession({
    clock,
    session: { crypto: scramblingTransform(clock) },
    network: (connector) => (connector.codec = MASKED_WIRE),
    beforeWelcome: async (fake, clock) => {
      await clock.advance(100);
      assert.equal(fake.of("hello").length, 1, "HELLO, sealed, reached the wire");
      fake.inject(welcome(0));
      await clock.advance(100); // opening it takes time too
    },
  }, async ({ clock, fake, session, events }) => {
    await clock.settle();
    assert.equal(events.of("welcome").length, 1);

    const msgIds = ["a", "b", "c", "d", "e", "f"].map((text) => session.send(text));
    await clock.advance(100);
    assert.deepEqual(
      fake.of("message").map((m) => m.msgId),
      msgIds,
      "sent in the order written, though sealed in another",
    );

    // ACKs carry no seq order to sort by: their order shows the receive order.
    for (const msgId of msgIds.toReversed()) fake.inject({ kind: "ack", msgId, seq: msgId });
    fake.injectBytes(Uint8Array.of(1, 2, 3)); // does not open: dropped like garbage
    for (const seq of [1, 2, 3]) fake.inject(message(seq));
    await clock.advance(1_000);
    assert.deepEqual(events.of("delivered").map((d) => d.msgId), msgIds.toReversed());
    assert.deepEqual(events.seqs(), [1, 2, 3]);
    assert.equal(events.ended, false);
    assert.ok(fake.wire.every((bytes) => bytes[0] === MARKER), "nothing plain on the wire");
  });
});

Deno.test("a transform that fails (seal or open throws) ends the session as lost", async () => {
  for (const failing of ["seal", "open"] as const) {
    const clock = new VirtualClock();
    const crypto: DatagramCrypto = {
      seal: (bytes) => {
        if (failing === "seal" && bytes.length > 60) throw new Error(`${failing} failed`);
        return mask(bytes);
      },
      open: (bytes) => {
        if (failing === "open" && bytes[1] === (0x81 ^ MARKER)) {
          return Promise.reject(new Error(`${failing} failed`));
        }
        return unmask(bytes);
      },
    };
    await withSession({
      clock,
      session: { crypto },
      network: (connector) => (connector.codec = MASKED_WIRE),
    }, async ({ clock, fake, session, events }) => {
      if (failing === "seal") session.send("a message long enough to fail sealing");
      else fake.inject(message(1));
      await clock.settle();
      assert.equal(events.closedEvent().reason, "lost", failing);
      assert.match(events.closedEvent().text, new RegExp(`Error: ${failing} failed`));
    });
  }
});
