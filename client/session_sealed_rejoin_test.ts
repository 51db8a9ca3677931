/**
 * A sealed session getting back in, and what it refuses to get back into,
 * over a scripted sealed server on virtual time: a stateless reset, the
 * server's silence, a changed server key, a room that lost its password, a
 * changed host, and refusals that anyone could have sent.
 */
import assert from "node:assert/strict";
import { startOpening, USER, welcome } from "./fake_network_test_util.ts";
import {
  FakeSealedServer,
  type FakeSealedWire,
  withSealedSession,
} from "./fake_sealed_server_test_util.ts";
import { ChatRefusedError, ChatTransportError } from "./errors.ts";
import { ServerKeyMismatchError } from "../protocol/sealed_types.ts";
import { TEST_CRYPTO } from "./fake_sealed_server_test_util.ts";

Deno.test("sealed: a reset with our token makes the session rejoin; one with another token is dropped", async () => {
  await withSealedSession({}, async ({ clock, connector, fake, session, events, server, wire }) => {
    fake.injectBytes(wire.reset(TEST_CRYPTO.randomBytes(16)));
    await clock.advance(1_000);
    assert.deepEqual(events.of("rejoining"), [], "a forged reset changes nothing");
    server.restart({ keepKeyFile: true });
    fake.injectBytes(wire.reset());
    await clock.settle();
    assert.equal(events.of("rejoining").length, 1);
    assert.match(events.of("rejoining")[0]!.reason, /no longer knows this session/);
    const held = session.send("typed while away");
    const second = connector.channel;
    assert.notEqual(second, fake);
    assert.equal(second.of("hello").length, 1);
    second.inject(welcome(0));
    await clock.settle();
    assert.deepEqual(second.of("message").map((m) => m.text), ["typed while away"]);
    second.inject({ kind: "ack", msgId: 1, seq: 1 });
    await clock.settle();
    assert.deepEqual(events.of("delivered").map((d) => d.msgId), [held]);
    assert.deepEqual(events.of("welcome").map((w) => [w.rejoined, w.previousHost]), [
      [false, undefined],
      [true, undefined],
    ]);
  });
});

Deno.test("sealed: no authenticated datagram for 3 heartbeat periods makes the session rejoin; acknowledged heartbeats keep it", async () => {
  await withSealedSession({}, async ({ clock, connector, fake, events, wire }) => {
    // The server acknowledges every HEARTBEAT (heartbeatSeconds 10: one every 5 s).
    for (let t = 0; t < 60_000; t += 5_000) {
      await clock.advance(5_000);
      fake.injectBytes(wire.heartbeatAck(0));
    }
    assert.deepEqual(events.of("rejoining"), []);
    // A sealed datagram (from the server) counts; plain ones (anyone's) do not.
    fake.inject({ kind: "error", code: 429, text: "slow down" });
    await clock.settle();
    const heardAt = clock.now();
    while (events.of("rejoining").length === 0 && clock.now() < heardAt + 60_000) {
      fake.injectBytes(Uint8Array.of(0x82, 0, 0, 0, 1, 0, 0, 0, 1)); // a plain ACK
      await clock.advance(1_000);
    }
    assert.equal(events.of("error").length, 1);
    const silentFor = clock.now() - heardAt;
    assert.ok(silentFor >= 30_000 && silentFor <= 35_000, `rejoined after ${silentFor} ms`);
    assert.equal(events.of("rejoining").length, 1);
    assert.match(events.of("rejoining")[0]!.reason, /3 heartbeat periods/);
    assert.equal(connector.requests.length, 2);
  });
});

Deno.test("sealed: a rejoin that meets a changed server key stops before the request; held messages are undelivered", async () => {
  await withSealedSession({}, async ({ clock, connector, fake, session, events, server, wire }) => {
    server.restart({ keepKeyFile: false }); // the key file was deleted
    fake.injectBytes(wire.reset());
    const held = session.send("never sent to a stranger");
    await clock.settle();
    assert.equal(connector.keyRefusals, 1);
    assert.equal(connector.requests.length, 1, "no request went out");
    assert.equal(connector.channels.length, 1);
    assert.equal(events.closedEvent().reason, "lost");
    assert.match(events.closedEvent().text, /key changed/);
    assert.deepEqual(events.of("undelivered").map((u) => [u.msgId, u.text]), [
      [held, "never sent to a stranger"],
    ]);
  });
});

Deno.test("sealed: a connector that lets a changed key through is caught by the session; nothing goes on the new channel", async () => {
  await withSealedSession({
    network: (connector) => (connector.keepsServerKey = false),
  }, async ({ clock, connector, fake, session, events, server, wire }) => {
    server.restart({ keepKeyFile: false });
    fake.injectBytes(wire.reset());
    session.send("held");
    await clock.settle();
    assert.equal(connector.channels.length, 2);
    assert.deepEqual(connector.channel.sent, [], "not even HELLO");
    assert.ok(connector.channel.closed);
    assert.match(events.closedEvent().text, /key changed/);
    assert.deepEqual(events.of("undelivered").map((u) => u.text), ["held"]);
  });
});

Deno.test("sealed: a rejoin into a room that no longer asks for our password sends LEAVE there and closes", async () => {
  await withSealedSession({
    session: { create: false, password: "pw" },
    beforeWelcome: (fake) => fake.inject(welcome(1, ["bob", USER], "bob")),
  }, async ({ clock, connector, fake, session, events, server, wire }) => {
    server.restart({ keepKeyFile: true });
    server.passwordProtected = false; // a stranger created "lobby" first, with no password
    server.host = "mallory";
    fake.injectBytes(wire.reset());
    session.send("for the members only");
    await clock.settle();
    const second = connector.channel;
    assert.notEqual(second, fake);
    assert.deepEqual(second.sent.map((s) => s.body.kind), ["leave"]);
    assert.ok(second.closed);
    assert.equal(events.closedEvent().reason, "lost");
    assert.match(events.closedEvent().text, /no longer asks for a password/);
    assert.deepEqual(events.of("undelivered").map((u) => u.text), ["for the members only"]);
  });
});

Deno.test("a rejoin that lands in a room with another host shows it (welcome.previousHost)", async () => {
  await withSealedSession({
    session: { create: false },
    beforeWelcome: (fake) => fake.inject(welcome(1, ["bob", USER], "bob")),
  }, async ({ clock, connector, fake, events, wire }) => {
    fake.injectBytes(wire.reset());
    await clock.settle();
    connector.channel.inject(welcome(0, ["carol", USER], "carol"));
    await clock.settle();
    assert.deepEqual(events.of("welcome").map((w) => [w.host, w.previousHost]), [
      ["bob", undefined],
      ["carol", "bob"],
    ]);
  });
});

Deno.test("refusals before the handshake (plain, anyone's) are retried; a sealed refusal is final", async () => {
  const busy = Object.assign(new ChatTransportError("the server is busy"), { status: 429 });
  const { clock, connector, opening } = startOpening({
    network: (connector) => (connector.answers = [busy, busy]),
  });
  await clock.advance(750);
  assert.deepEqual(connector.requestTimes, [0, 250, 750]);
  connector.channel.inject(welcome(0));
  const session = await opening;
  await session.leave();

  for (
    const [answer, kind] of [
      [new ChatRefusedError(403, "sealed rooms only"), ChatRefusedError],
      [new ChatTransportError("no route"), ChatTransportError],
      [
        new ServerKeyMismatchError(new Uint8Array(32), new Uint8Array(32), "k"),
        ServerKeyMismatchError,
      ],
    ] as const
  ) {
    const { clock, connector, opening } = startOpening({
      network: (connector) => (connector.answers = [answer]),
    });
    await clock.advance(10);
    await assert.rejects(opening, kind);
    assert.equal(connector.requests.length, 1, "not retried");
  }
});

Deno.test("sealed: a reset during a welcome phase ends that attempt: the first open fails, a rejoin asks again", async () => {
  const { clock, connector, opening } = startOpening({
    network: (connector) => (connector.sealed = new FakeSealedServer()),
    session: { crypto: TEST_CRYPTO },
  });
  await clock.settle();
  connector.channel.injectBytes((connector.channel.wire as FakeSealedWire).reset());
  await clock.settle();
  await assert.rejects(opening, /no longer knows this session/);

  await withSealedSession({}, async ({ clock, connector, fake, events, wire }) => {
    fake.injectBytes(wire.reset());
    await clock.settle();
    const second = connector.channel;
    assert.equal(second.of("hello").length, 1);
    second.injectBytes((second.wire as FakeSealedWire).reset()); // forgotten again at once
    await clock.advance(250);
    assert.equal(connector.requests.length, 3, "a new membership, not more HELLOs to a dead one");
    connector.channel.inject(welcome(0));
    await clock.settle();
    assert.deepEqual(events.of("welcome").map((w) => w.rejoined), [false, true]);
  });
});
