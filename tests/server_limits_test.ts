/**
 * Black-box tests of the real chat server's limits and timers: rate limits,
 * heartbeat repair, RESEND, lost members, shutdown.
 */
import assert from "node:assert/strict";
import { CloseReason, EventType, type ServerBody } from "../protocol/datagram.ts";
import { encodeTcrpRequest, Operation } from "../protocol/tcrp.ts";
import {
  closeAll,
  enterRoom,
  listRooms,
  responseOf,
  roomRequest,
  statusOf,
  tcrpRequest,
  UdpMember,
} from "../testing/raw_client.ts";
import { tcrpRequestFrom } from "../testing/tcp_from.ts";
import { startTestServer } from "../testing/test_server.ts";
import { waitUntil } from "../testing/wait.ts";

Deno.test("rate limit: 60 messages at once get some ERROR 429; only the ACKed ones are relayed", async () => {
  const server = startTestServer({ rateLimit: 20 });
  const members: UdpMember[] = [];
  try {
    const alice = await enterRoom(server, "create", { room: "flood", username: "alice" });
    members.push(alice.member);
    const bob = await enterRoom(server, "join", { room: "flood", username: "bob" });
    members.push(bob.member);
    await alice.member.next("event", 1000, (e) => e.name === "bob");

    for (let i = 1; i <= 60; i++) {
      await alice.member.send({ kind: "message", msgId: i, text: `flood ${i}` });
    }
    // Collect every answer (ACK or ERROR) to the 60, keeping alice's events aside.
    const received: ServerBody[] = [];
    const answered = () => received.filter((b) => b.kind === "ack" || b.kind === "error").length;
    const deadline = Date.now() + 3000;
    while (answered() < 60 && Date.now() < deadline) received.push(...await alice.member.drain(50));
    assert.equal(answered(), 60, "every message got an ACK or an ERROR");
    const acked = new Map<number, number>(); // seq -> msgId
    let limited = 0;
    for (const body of received) {
      if (body.kind === "ack") acked.set(body.seq, body.msgId);
      if (body.kind === "error") {
        assert.equal(body.code, 429);
        limited++;
      }
    }
    assert.ok(limited > 0, "some messages were refused");
    assert.ok(acked.size >= 40, `the burst of 40 went through (got ${acked.size})`);
    assert.ok(acked.size < 60, `not every message went through (got ${acked.size})`);

    received.push(...await alice.member.drain(200));
    const bobReceived = await bob.member.drain(0);
    for (const bodies of [received, bobReceived]) {
      const events = bodies.filter((b) => b.kind === "event");
      assert.deepEqual(
        events.map((e) => [e.seq, e.text]),
        [...acked].sort((a, b) => a[0] - b[0]).map(([seq, msgId]) => [seq, `flood ${msgId}`]),
      );
    }
  } finally {
    await closeAll(server, members);
  }
});

Deno.test("per-IP TCRP request limit: a burst past 5x the rate gets 429", async () => {
  const server = startTestServer({ requestRateLimit: 2 });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) {
      const exchange = await tcrpRequest(
        server.tcpAddr,
        encodeTcrpRequest({ operation: Operation.LIST_ROOMS }),
      );
      assert.ok(exchange.closedByServer);
      assert.equal(exchange.frames.length, 1);
      statuses.push(responseOf(exchange).status);
    }
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(200));
    assert.ok(statuses.slice(10).includes(429), `statuses ${statuses}`);
    const create = await roomRequest(server.tcpAddr, "create", { room: "r", username: "a" });
    assert.equal(statusOf(create.response), 429, "create is limited too");
    assert.equal(create.token, null);
    assert.deepEqual(server.registry.roomCount, 0);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a HEARTBEAT behind the head gets the missing events; RESEND replays a range", async () => {
  const server = startTestServer();
  const members: UdpMember[] = [];
  try {
    const alice = await enterRoom(server, "create", { room: "gaps", username: "alice" });
    members.push(alice.member);
    const bob = await enterRoom(server, "join", { room: "gaps", username: "bob" });
    members.push(bob.member);
    await alice.member.next("event", 1000, (e) => e.name === "bob");
    for (let i = 1; i <= 4; i++) {
      await bob.member.say(`b${i}`);
      await bob.member.next("ack");
    }
    // seq 1 JOINED alice, 2 JOINED bob, 3..6 messages.
    await alice.member.drain(100);

    await alice.member.send({ kind: "heartbeat", lastSeq: 3 });
    const missing = [
      await alice.member.next("event", 1000, (e) => e.seq === 4),
      await alice.member.next("event", 1000, (e) => e.seq === 5),
      await alice.member.next("event", 1000, (e) => e.seq === 6),
    ];
    assert.deepEqual(missing.map((e) => [e.name, e.text]), [["bob", "b2"], ["bob", "b3"], [
      "bob",
      "b4",
    ]]);
    assert.deepEqual(await alice.member.drain(100), [], "only the missing events");

    await alice.member.send({ kind: "heartbeat", lastSeq: 6 });
    assert.deepEqual(await alice.member.drain(150), [], "an up-to-date heartbeat gets nothing");

    await alice.member.send({ kind: "resend", fromSeq: 2, toSeq: 4 });
    const resent = [];
    for (let i = 0; i < 3; i++) resent.push(await alice.member.next("event"));
    assert.deepEqual(resent.map((e) => [e.seq, e.type, e.name, e.text]), [
      [2, EventType.JOINED, "bob", ""],
      [3, EventType.MESSAGE, "bob", "b1"],
      [4, EventType.MESSAGE, "bob", "b2"],
    ]);
    // A range beyond the head is clamped to what exists.
    await alice.member.send({ kind: "resend", fromSeq: 6, toSeq: 1000 });
    assert.equal((await alice.member.next("event")).seq, 6);
    assert.deepEqual(await alice.member.drain(100), []);

    // HELLO with a lastSeq replays what came after it.
    await bob.member.send({ kind: "hello", lastSeq: 5 });
    assert.equal((await bob.member.next("welcome")).headSeq, 6);
    await bob.member.next("event", 1000, (e) => e.seq === 6 && e.text === "b4");
  } finally {
    await closeAll(server, members);
  }
});

Deno.test("a member that goes silent is removed as lost; the others see TIMED_OUT", async () => {
  const server = startTestServer({ heartbeatSeconds: 0.2 });
  const members: UdpMember[] = [];
  let beat: ReturnType<typeof setInterval> | undefined;
  try {
    const alice = await enterRoom(server, "create", { room: "quiet", username: "alice" });
    members.push(alice.member);
    let lastSeq = alice.welcome.headSeq;
    beat = setInterval(() => {
      alice.member.send({ kind: "heartbeat", lastSeq }).catch(() => {});
    }, 100);
    const bob = await enterRoom(server, "join", { room: "quiet", username: "bob" });
    members.push(bob.member);
    const silentSince = Date.now(); // bob's HELLO was his last datagram
    lastSeq = (await alice.member.next("event", 1000, (e) => e.name === "bob")).seq;

    const timedOut = await alice.member.next(
      "event",
      1500,
      (e) => e.type === EventType.TIMED_OUT,
    );
    const elapsed = Date.now() - silentSince;
    assert.equal(timedOut.name, "bob");
    assert.ok(elapsed >= 500, `removed after ${elapsed} ms, not before 3 heartbeats`);
    assert.ok(elapsed <= 1100, `removed after ${elapsed} ms`);
    assert.equal((await bob.member.next("closed")).reason, CloseReason.LOST);
    assert.deepEqual((await listRooms(server.tcpAddr)).map((r) => r.members), [1]);
    // Alice, who kept sending heartbeats, is still in: her message is ACKed.
    await alice.member.say("alone now");
    assert.equal((await alice.member.next("ack")).seq, timedOut.seq + 1);
  } finally {
    clearInterval(beat);
    await closeAll(server, members);
  }
});

Deno.test("shutdown sends CLOSED 4 to every member of every room", async () => {
  const server = startTestServer();
  const members: UdpMember[] = [];
  try {
    members.push((await enterRoom(server, "create", { room: "a", username: "alice" })).member);
    members.push((await enterRoom(server, "join", { room: "a", username: "bob" })).member);
    members.push((await enterRoom(server, "create", { room: "b", username: "carol" })).member);
    await server.shutdown();
    for (const member of members) {
      const closed = await member.next("closed");
      assert.equal(closed.reason, CloseReason.SHUTDOWN);
    }
    await assert.rejects(
      Deno.connect({ hostname: server.tcpAddr.hostname, port: server.tcpAddr.port }),
      "the TCRP port is closed",
    );
  } finally {
    await closeAll(server, members);
  }
});

Deno.test("--advertise-udp-port: JOIN's accepted answer names that port instead of the bound one", async () => {
  const server = startTestServer({ advertisedUdpPort: 40_123 });
  try {
    const { response } = await roomRequest(server.tcpAddr, "create", {
      room: "proxied",
      username: "al",
    });
    assert.equal(statusOf(response), 200);
    assert.equal("udpPort" in response ? response.udpPort : undefined, 40_123);
    assert.notEqual(server.udpAddr.port, 40_123);
  } finally {
    await server.shutdown();
  }
});

const LIST = encodeTcrpRequest({ operation: Operation.LIST_ROOMS });

/** Opens `count` TCP connections that send nothing; closing them is the caller's job. */
async function idleConnections(addr: Deno.NetAddr, count: number): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < count; i++) {
    conns.push(await Deno.connect({ hostname: addr.hostname, port: addr.port }));
  }
  return conns;
}

Deno.test("--max-handshakes-per-ip: past it a connection gets 429 at once; another address is served", async () => {
  const server = startTestServer({ maxHandshakesPerIp: 2, handshakeTimeoutSeconds: 5 });
  const idle = await idleConnections(server.tcpAddr, 2);
  try {
    const started = Date.now();
    const refused = await tcrpRequest(server.tcpAddr, LIST);
    assert.ok(refused.closedByServer);
    assert.equal(statusOf(responseOf(refused)), 429);
    assert.ok(Date.now() - started < 1000, "answered at once, not at the deadline");
    const other = await tcrpRequestFrom(server.tcpAddr, LIST, "127.0.0.2");
    assert.equal(statusOf(responseOf(other)), 200, "127.0.0.2 has its own slots");
    idle.pop()!.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(statusOf(responseOf(await tcrpRequest(server.tcpAddr, LIST))), 200, "slot freed");
    assert.equal(
      server.logs.filter((line) => line.includes("over the per-address limit")).length,
      1,
      "one log line",
    );
  } finally {
    for (const conn of idle) conn.close();
    await server.shutdown();
  }
});

Deno.test("--max-handshakes: when full, the oldest connection still reading is closed for a new one", async () => {
  const server = startTestServer({ maxHandshakes: 2, handshakeTimeoutSeconds: 5 });
  const idle = await idleConnections(server.tcpAddr, 2);
  try {
    const served = await tcrpRequestFrom(server.tcpAddr, LIST, "127.0.0.2");
    assert.equal(statusOf(responseOf(served)), 200);
    // The oldest idle connection was closed without an answer; the other is still open.
    const buffer = new Uint8Array(64);
    assert.equal(await idle[0]!.read(buffer), null, "evicted: closed by the server");
    assert(server.logs.some((line) => line.includes("closed unfinished to admit")));
  } finally {
    for (const conn of idle) conn.close();
    await server.shutdown();
  }
});

Deno.test("--max-handshakes: when every open connection has its request in, a new one gets 503", async () => {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let hashing = 0;
  const server = startTestServer({
    maxHandshakes: 2,
    handshakeTimeoutSeconds: 5,
    hashConcurrency: 2,
  }, {
    passwords: {
      hash: async () => {
        hashing++;
        await held;
        return { salt: new Uint8Array(16), hash: new Uint8Array(32) };
      },
      verify: () => Promise.resolve(false),
    },
  });
  try {
    // Two CREATEs whose password hashes wait: their requests are in, so neither is evicted.
    const creates = ["a", "b"].map((room) =>
      roomRequest(server.tcpAddr, "create", { room, username: "u", password: "pw" })
    );
    await waitUntil(() => hashing === 2, "both creates hashing");
    const refused = await tcrpRequestFrom(server.tcpAddr, LIST, "127.0.0.2");
    assert.equal(statusOf(responseOf(refused)), 503);
    release();
    for (const create of await Promise.all(creates)) assert.equal(statusOf(create.response), 200);
  } finally {
    release();
    await server.shutdown();
  }
});

Deno.test("--max-rooms-per-ip 2: a third room from one address is 429, another address may create", async () => {
  const server = startTestServer({ maxRoomsPerIp: 2 });
  try {
    for (const room of ["a", "b"]) {
      await roomRequest(server.tcpAddr, "create", { room, username: "u" });
    }
    const third = await roomRequest(server.tcpAddr, "create", { room: "c", username: "u" });
    assert.equal(statusOf(third.response), 429);
    const request = encodeTcrpRequest({
      operation: Operation.CREATE_ROOM,
      roomName: "c",
      username: "u",
      password: null,
      capacity: null,
    });
    const other = await tcrpRequestFrom(server.tcpAddr, request, "127.0.0.2");
    assert.equal(statusOf(responseOf(other)), 200);
    assert.deepEqual((await listRooms(server.tcpAddr)).map((r) => r.name), ["a", "b", "c"]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("--max-members-per-room 2: capacity 3 is 400 naming the limit; an open room is full at 2", async () => {
  const server = startTestServer({ maxMembersPerRoom: 2 });
  try {
    const big = await roomRequest(server.tcpAddr, "create", {
      room: "big",
      username: "u",
      capacity: 3,
    });
    assert.equal(statusOf(big.response), 400);
    assert.match("error" in big.response ? big.response.error : "", /limit of 2/);
    assert.deepEqual(await listRooms(server.tcpAddr), [], "nothing created");
    await roomRequest(server.tcpAddr, "create", { room: "open", username: "a" });
    assert.equal(
      statusOf(
        (await roomRequest(server.tcpAddr, "join", { room: "open", username: "b" })).response,
      ),
      200,
    );
    assert.equal(
      statusOf(
        (await roomRequest(server.tcpAddr, "join", { room: "open", username: "c" })).response,
      ),
      403,
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("--unauthenticated-rate 5: junk past a burst of 10 is dropped unanswered; members are unaffected", async () => {
  const server = startTestServer({ unauthenticatedRate: 5 });
  const members: UdpMember[] = [];
  try {
    const alice = await enterRoom(server, "create", { room: "r", username: "alice" });
    members.push(alice.member);
    const stranger = new UdpMember(server.udpAddr, "r", new Uint8Array(32).fill(7));
    members.push(stranger);
    for (let i = 0; i < 50; i++) await stranger.send({ kind: "hello", lastSeq: 0 });
    const answers = await stranger.drain(300);
    assert.ok(answers.length >= 10 && answers.length <= 12, `${answers.length} answers`);
    // alice shares the address but authenticates: her messages are not counted against it.
    for (let i = 0; i < 20; i++) {
      await alice.member.say(`m${i}`);
      await alice.member.next("ack");
    }
    const abuse = server.logs.filter((line) => line.includes("abuse:"));
    assert.equal(abuse.length, 2, abuse.join("\n"));
    await server.shutdown();
    const flushed = server.logs.filter((line) => line.includes("abuse:")).slice(2);
    assert.ok(
      flushed.some((line) => line.includes("49 more datagrams with an unknown")),
      flushed.join("\n"),
    );
  } finally {
    await closeAll(server, members);
  }
});

Deno.test("--handshake-timeout ends an exchange whose password check outlasts it; the check commits nothing", async () => {
  let hashes = 0;
  const server = startTestServer({ handshakeTimeoutSeconds: 0.3 }, {
    passwords: {
      hash: async () => {
        hashes++;
        await new Promise((resolve) => setTimeout(resolve, 600));
        return { salt: new Uint8Array(16), hash: new Uint8Array(32) };
      },
      verify: () => Promise.resolve(true),
    },
  });
  try {
    const started = performance.now();
    const late = await roomRequest(
      server.tcpAddr,
      "create",
      { room: "slow", username: "u", password: "pw" },
      { timeoutMs: 2_000 },
    ).catch((error: Error) => error);
    assert(late instanceof Error, "closed without an answer");
    assert(performance.now() - started < 600, "at the exchange deadline, not after the hash");
    await waitUntil(() => hashes === 1, "the hash ran");
    await new Promise((resolve) => setTimeout(resolve, 500)); // past the hash's end
    assert.equal(
      server.registry.roomCount,
      0,
      "the derivation that finished late committed nothing",
    );
    const after = await roomRequest(server.tcpAddr, "create", { room: "slow", username: "u" });
    assert.equal(statusOf(after.response), 200, "and the name was not left held");
  } finally {
    await server.shutdown();
  }
});
