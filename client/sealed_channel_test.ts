/** SealedChannel on its own: a channel of bytes, a fake sealed server's wire, virtual time. */
import assert from "node:assert/strict";
import { encodeServerDatagram, MAX_DATAGRAM_BYTES } from "../protocol/datagram.ts";
import {
  decodeSealedClientBody,
  encodeSealedClientBody,
  MAX_COUNTER,
  MEMBER_OVERHEAD_BYTES,
  openMemberDatagram,
} from "../protocol/sealed_datagram.ts";
import type { CryptoProvider } from "../protocol/sealed_types.ts";
import { VirtualClock } from "../testing/virtual_time.ts";
import type { DatagramChannel } from "./connector.ts";
import { message } from "./fake_network_test_util.ts";
import { FakeSealedServer, TEST_CRYPTO } from "./fake_sealed_server_test_util.ts";
import {
  MAX_UNKNOWN_EPOCH_DATAGRAMS,
  PREVIOUS_EPOCH_MS,
  SealedChannel,
  type SealedInbound,
} from "./sealed_channel.ts";

/** A channel whose inbox the test fills; receive() never waits (null when empty). */
class BytesChannel implements DatagramChannel {
  readonly sent: Uint8Array[] = [];
  inbox: Uint8Array[] = [];
  send(bytes: Uint8Array): void {
    this.sent.push(bytes);
  }
  receive(): Promise<Uint8Array | null> {
    return Promise.resolve(this.inbox.shift() ?? null);
  }
  close(): void {}
}

function setup(
  options: { crypto?: CryptoProvider; firstCounter?: number; maxDatagramBytes?: number } = {},
) {
  const clock = new VirtualClock();
  const server = new FakeSealedServer();
  const { params, wire } = server.admit(1, {
    operation: 2,
    roomName: "lobby",
    username: "alice",
    password: null,
    capacity: null,
  });
  const channel = new BytesChannel();
  let keyAsks = 0;
  let exhausted = 0;
  const sealed = new SealedChannel({
    channel,
    params,
    crypto: options.crypto ?? TEST_CRYPTO,
    scheduler: clock,
    maxDatagramBytes: options.maxDatagramBytes ?? MAX_DATAGRAM_BYTES,
    askForKey: () => keyAsks++,
    exhausted: () => exhausted++,
    firstCounter: options.firstCounter,
  });
  /** Everything receive() yields for `datagrams`, until the inbox is empty. */
  const feed = async (...datagrams: Uint8Array[]): Promise<SealedInbound[]> => {
    channel.inbox.push(...datagrams);
    const out: SealedInbound[] = [];
    for (let inbound = await sealed.receive(); inbound !== null; inbound = await sealed.receive()) {
      out.push(inbound);
    }
    return out;
  };
  const welcomed = () =>
    wire.toClient({ kind: "welcome", headSeq: 0, room: "lobby", host: "a", members: [] });
  return {
    clock,
    server,
    wire,
    params,
    channel,
    sealed,
    feed,
    welcomed,
    keyAsks: () => keyAsks,
    exhaustedCalls: () => exhausted,
  };
}

const seqsOf = (inbound: SealedInbound[]) =>
  inbound.flatMap((i) => (i.from === "room" ? [i.body.seq] : []));

Deno.test("SealedChannel: a member datagram opens once; a replay, another session's, or a damaged one is dropped", async () => {
  const { wire, sealed, feed } = setup();
  const ack = wire.toClient({ kind: "ack", msgId: 1, seq: 1 });
  const damaged = wire.toClient({ kind: "ack", msgId: 2, seq: 2 });
  damaged[damaged.length - 1]! ^= 1;
  const other = new FakeSealedServer().admit(2, {
    operation: 2,
    roomName: "lobby",
    username: "bob",
    password: null,
    capacity: null,
  }).wire.toClient({ kind: "ack", msgId: 1, seq: 1 });
  const out = await feed(
    ack,
    ack,
    damaged,
    other,
    encodeServerDatagram({ kind: "ack", msgId: 1, seq: 1 }),
  );
  assert.deepEqual(out, [{ from: "member", body: { kind: "ack", msgId: 1, seq: 1 } }]);
  assert.equal(sealed.dropped("replay"), 1);
  assert.equal(sealed.dropped("open"), 1);
  assert.equal(sealed.dropped("session"), 1);
  assert.equal(sealed.dropped("plain"), 1);
  assert.equal(sealed.dropped(), 4);
});

Deno.test("SealedChannel: an EVENT on the member channel, or a non-EVENT on the room channel, is dropped", async () => {
  const { wire, sealed, feed, welcomed } = setup();
  const out = await feed(
    welcomed(),
    wire.member(encodeServerDatagram(message(1))),
    wire.room(encodeServerDatagram({ kind: "closed", reason: 1, text: "x" })),
  );
  assert.deepEqual(out.map((i) => i.from), ["member"]);
  assert.equal(sealed.dropped("malformed"), 2);
});

Deno.test("SealedChannel: the signature is verified before the datagram is opened, and may be a promise", async () => {
  const calls: string[] = [];
  const crypto: CryptoProvider = {
    ...TEST_CRYPTO,
    aeadOpen: (...args) => {
      calls.push("open");
      return TEST_CRYPTO.aeadOpen(...args);
    },
    ed25519Verify: async (...args) => {
      calls.push("verify");
      await Promise.resolve();
      return TEST_CRYPTO.ed25519Verify(...args);
    },
  };
  const { wire, sealed, feed, welcomed } = setup({ crypto });
  await feed(welcomed());
  calls.length = 0;
  const forger = TEST_CRYPTO.ed25519Signer();
  const out = await feed(
    wire.room(encodeServerDatagram(message(1)), { signer: forger }),
    wire.room(encodeServerDatagram(message(1))),
  );
  assert.deepEqual(calls, ["verify", "verify", "open"], "a forged one is never opened");
  assert.deepEqual(seqsOf(out), [1]);
  assert.equal(sealed.dropped("signature"), 1);
});

Deno.test("SealedChannel: the previous epoch opens for 10 s after the change; skipped and older epochs never", async () => {
  const { clock, wire, sealed, feed, welcomed } = setup();
  await feed(welcomed());
  const key1 = wire.epochKey;
  const epoch2 = wire.rekey();
  const key2 = wire.epochKey;
  const epoch3 = wire.rekey();
  await feed(epoch3, epoch2); // reordered: the older KEY changes nothing
  assert.equal(sealed.epoch, 3);
  const old = (seq: number, epoch: number, key: Uint8Array) =>
    wire.room(encodeServerDatagram(message(seq)), { epoch, key });
  assert.deepEqual(seqsOf(await feed(old(1, 2, key2))), [], "epoch 2 was never current here");
  await clock.advance(PREVIOUS_EPOCH_MS - 1);
  assert.deepEqual(seqsOf(await feed(old(2, 1, key1))), [2], "epoch 1 is the one replaced");
  await clock.advance(1);
  assert.deepEqual(seqsOf(await feed(old(3, 1, key1))), []);
  assert.equal(sealed.dropped("epoch"), 2);
});

Deno.test(`SealedChannel: ${MAX_UNKNOWN_EPOCH_DATAGRAMS} datagrams of an unknown epoch wait for its key; the key is asked for once a second`, async () => {
  const { clock, wire, sealed, feed, welcomed, keyAsks } = setup();
  await feed(welcomed());
  const key = wire.rekey();
  const early = Array.from(
    { length: 70 },
    (_, i) => wire.room(encodeServerDatagram(message(i + 1))),
  );
  assert.deepEqual(await feed(...early.slice(0, 10), early[0]!), []);
  assert.equal(keyAsks(), 1);
  await clock.advance(999);
  await feed(...early.slice(10, 40));
  assert.equal(keyAsks(), 1);
  await clock.advance(1);
  await feed(...early.slice(40));
  assert.equal(keyAsks(), 2);
  assert.equal(sealed.dropped("buffer"), 70 - MAX_UNKNOWN_EPOCH_DATAGRAMS);
  assert.equal(sealed.dropped("replay"), 1, "the same datagram twice is kept once");
  const out = await feed(key);
  assert.deepEqual(
    seqsOf(out),
    Array.from({ length: MAX_UNKNOWN_EPOCH_DATAGRAMS }, (_, i) => i + 1),
  );
});

Deno.test("SealedChannel: a reset needs our session id and token, exactly", async () => {
  const { wire, feed, sealed } = setup();
  const wrong = wire.reset();
  wrong[25]! ^= 1;
  const long = new Uint8Array(27);
  long.set(wire.reset());
  assert.deepEqual(await feed(wrong, long), []);
  assert.equal(sealed.dropped("reset"), 1);
  assert.equal(sealed.dropped("malformed"), 1);
  assert.deepEqual(await feed(wire.reset()), [{ from: "reset" }]);
});

Deno.test("SealedChannel: sizes count marker, header and tag; counters are fresh and end at 2^53 - 1", async () => {
  const { channel, params, sealed, exhaustedCalls, feed } = setup({
    firstCounter: MAX_COUNTER - 1,
    maxDatagramBytes: 100,
  });
  const fits = encodeSealedClientBody({
    kind: "message",
    msgId: 1,
    text: "x".repeat(100 - MEMBER_OVERHEAD_BYTES - 5),
  });
  assert.throws(
    () => sealed.send(encodeSealedClientBody({ kind: "message", msgId: 1, text: "x".repeat(62) })),
    RangeError,
  );
  sealed.send(fits);
  sealed.send(fits);
  sealed.send(fits);
  sealed.send(fits);
  assert.equal(channel.sent.length, 2);
  assert.equal(channel.sent[0]!.length, 100);
  assert.notDeepEqual(channel.sent[0], channel.sent[1], "the same body, sealed afresh");
  const opened = openMemberDatagram(TEST_CRYPTO, params.clientKey, channel.sent[1]!);
  assert.deepEqual(decodeSealedClientBody(opened!), {
    kind: "message",
    msgId: 1,
    text: "x".repeat(61),
  });
  assert.equal(exhaustedCalls(), 1);
  // Oversized arrivals are dropped before any work.
  assert.deepEqual(await feed(new Uint8Array(MAX_DATAGRAM_BYTES + 1)), []);
  assert.equal(sealed.dropped("size"), 1);
});

Deno.test("SealedChannel: PATH_CHALLENGE is answered, sealed, with the challenge", async () => {
  const { wire, channel, params, feed } = setup();
  const challenge = TEST_CRYPTO.randomBytes(16);
  assert.deepEqual(await feed(wire.pathChallenge(challenge)), []);
  assert.equal(channel.sent.length, 1);
  const inner = openMemberDatagram(TEST_CRYPTO, params.clientKey, channel.sent[0]!);
  assert.deepEqual(decodeSealedClientBody(inner!), { kind: "pathResponse", challenge });
});
