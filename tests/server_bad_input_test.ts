/**
 * Black-box tests of the real chat server under bad input: wrong tokens, malformed
 * TCRP frames, slow or vanishing clients, malformed datagrams. Each must be refused
 * and change nothing else.
 */
import assert from "node:assert/strict";
import { EventType, MAX_DATAGRAM_BYTES } from "../protocol/datagram.ts";
import { encodeUtf8 } from "../protocol/bytes.ts";
import { Operation, State } from "../protocol/tcrp.ts";
import {
  assertServing,
  closeAll,
  concatBytes,
  enterRoom,
  handshake,
  listRooms,
  rawDatagram,
  rawHeader,
  requestFrame,
  responseOf,
  tcrpRequest,
  u32,
  UdpMember,
} from "../testing/raw_client.ts";
import { errorLines, startTestServer } from "../testing/test_server.ts";
import { sleep } from "../testing/wait.ts";

Deno.test("a token used from another IP address gets ERROR 401 and disturbs nothing", async () => {
  const server = startTestServer();
  const members: UdpMember[] = [];
  try {
    const alice = await enterRoom(server, "create", { room: "safe", username: "alice" });
    members.push(alice.member);
    const bob = await enterRoom(server, "join", { room: "safe", username: "bob" });
    members.push(bob.member);
    await alice.member.next("event", 1000, (e) => e.type === EventType.JOINED && e.name === "bob");

    // Alice's token, obtained over TCP from 127.0.0.1, replayed from 127.0.0.2.
    const thief = new UdpMember(server.udpAddr, "safe", alice.member.token, "127.0.0.2");
    members.push(thief);
    assert.equal((thief.conn.addr as Deno.NetAddr).hostname, "127.0.0.2");
    await thief.send({ kind: "hello", lastSeq: 0 });
    assert.equal((await thief.next("error")).code, 401);
    await thief.say("I am alice");
    assert.equal((await thief.next("error")).code, 401);
    await thief.send({ kind: "leave" });
    assert.equal((await thief.next("error")).code, 401);
    await thief.send({ kind: "resend", fromSeq: 1, toSeq: 10 });
    assert.equal((await thief.next("error")).code, 401);

    // The room is as it was: bob's next message reaches alice at her own address.
    const msgId = await bob.member.say("still private");
    assert.equal((await bob.member.next("ack")).msgId, msgId);
    const event = await alice.member.next("event");
    assert.deepEqual([event.seq, event.name, event.text], [3, "bob", "still private"]);
    assert.deepEqual(await thief.drain(100), [], "the thief receives nothing else");
    assert.deepEqual((await listRooms(server.tcpAddr))[0]?.members, 2);
  } finally {
    await closeAll(server, members);
  }
});

Deno.test("an unknown or guessed token, or a real token for another room, is 401", async () => {
  const server = startTestServer();
  const members: UdpMember[] = [];
  try {
    const alice = await enterRoom(server, "create", { room: "here", username: "alice" });
    members.push(alice.member);
    await handshake(server.tcpAddr, "create", { room: "there", username: "zed" });

    const guessed = new UdpMember(
      server.udpAddr,
      "here",
      crypto.getRandomValues(new Uint8Array(32)),
    );
    members.push(guessed);
    await guessed.send({ kind: "hello", lastSeq: 0 });
    assert.equal((await guessed.next("error")).code, 401);
    await guessed.say("hi");
    assert.equal((await guessed.next("error")).code, 401);

    const short = new UdpMember(server.udpAddr, "here", new Uint8Array([1, 2, 3]));
    members.push(short);
    await short.say("hi");
    assert.equal((await short.next("error")).code, 401);

    const wrongRoom = new UdpMember(server.udpAddr, "there", alice.member.token);
    members.push(wrongRoom);
    await wrongRoom.say("hi");
    assert.equal((await wrongRoom.next("error")).code, 401);

    assert.deepEqual(await alice.member.drain(100), []);
    await alice.member.say("ok");
    assert.equal((await alice.member.next("ack")).seq, 2);
  } finally {
    await closeAll(server, members);
  }
});

Deno.test("bad TCRP input is refused with the right status, then closed; the server goes on", async (t) => {
  const server = startTestServer({ maxPayloadBytes: 1024 });
  try {
    const create = Operation.CREATE_ROOM;
    const valid = '{"username":"alice"}';
    const cases: { name: string; bytes: Uint8Array; status: number }[] = [
      { name: "unknown operation 9", bytes: rawHeader({ operation: 9 }), status: 400 },
      { name: "operation 0", bytes: rawHeader({ operation: 0 }), status: 400 },
      { name: "unknown state 3", bytes: rawHeader({ operation: create, state: 3 }), status: 400 },
      {
        name: "unknown state 255",
        bytes: rawHeader({ operation: Operation.LIST_ROOMS, state: 255 }),
        status: 400,
      },
      {
        name: "high bytes set in the size field (byte 3)",
        bytes: (() => {
          const header = rawHeader({ operation: create, roomNameSize: 1, payloadSize: 5 });
          header[3] = 1;
          return header;
        })(),
        status: 413,
      },
      {
        name: "size field beyond 2^53 (byte 24)",
        bytes: rawHeader({ operation: create, payloadSize: 0xff00_0000_0000_0000n }),
        status: 413,
      },
      {
        name: "invalid UTF-8 in the room name",
        bytes: requestFrame(create, new Uint8Array([0x72, 0xff, 0xfe]), valid),
        status: 400,
      },
      {
        name: "invalid UTF-8 in the payload",
        bytes: requestFrame(create, "room", new Uint8Array([0x7b, 0xc3, 0x28, 0x7d])),
        status: 400,
      },
      { name: "bad JSON", bytes: requestFrame(create, "room", '{"username":'), status: 400 },
      {
        name: "JSON array instead of an object",
        bytes: requestFrame(create, "room", '["alice"]'),
        status: 400,
      },
      { name: "JSON null", bytes: requestFrame(create, "room", "null"), status: 400 },
      { name: "empty payload", bytes: requestFrame(create, "room", ""), status: 400 },
      { name: "no username", bytes: requestFrame(create, "room", "{}"), status: 400 },
      {
        name: "username not a string",
        bytes: requestFrame(create, "room", '{"username":42}'),
        status: 400,
      },
      {
        name: "username with a control character",
        bytes: requestFrame(create, "room", '{"username":"al\\u0007ice"}'),
        status: 400,
      },
      {
        name: "username with a newline",
        bytes: requestFrame(Operation.JOIN_ROOM, "room", '{"username":"al\\nice"}'),
        status: 400,
      },
      {
        name: "username of only spaces",
        bytes: requestFrame(create, "room", '{"username":"   "}'),
        status: 400,
      },
      {
        name: "username with a trailing space",
        bytes: requestFrame(create, "room", '{"username":"alice "}'),
        status: 400,
      },
      {
        name: "empty username",
        bytes: requestFrame(create, "room", '{"username":""}'),
        status: 400,
      },
      {
        name: "username of 33 characters",
        bytes: requestFrame(create, "room", JSON.stringify({ username: "a".repeat(33) })),
        status: 400,
      },
      {
        name: "room name with a control character",
        bytes: requestFrame(create, "ro\x01om", valid),
        status: 400,
      },
      {
        name: "room name with a tab",
        bytes: requestFrame(Operation.JOIN_ROOM, "ro\tom", valid),
        status: 400,
      },
      { name: "empty room name", bytes: requestFrame(create, "", valid), status: 400 },
      {
        name: "password not a string",
        bytes: requestFrame(create, "room", '{"username":"alice","password":7}'),
        status: 400,
      },
      {
        name: "capacity 0",
        bytes: requestFrame(create, "room", '{"username":"alice","capacity":0}'),
        status: 400,
      },
      {
        name: "capacity on JOIN_ROOM",
        bytes: requestFrame(Operation.JOIN_ROOM, "room", '{"username":"alice","capacity":3}'),
        status: 400,
      },
      {
        name: "LIST_ROOMS with a payload that is not an object",
        bytes: requestFrame(Operation.LIST_ROOMS, "", "[]"),
        status: 400,
      },
      {
        name: "LIST_ROOMS with a limit out of range",
        bytes: requestFrame(Operation.LIST_ROOMS, "", '{"limit":201}'),
        status: 400,
      },
      {
        name: "LIST_ROOMS with a room name",
        bytes: requestFrame(Operation.LIST_ROOMS, "room", ""),
        status: 400,
      },
      {
        name: "state 1 from a client",
        bytes: requestFrame(create, "room", valid, State.RESPONSE),
        status: 400,
      },
      {
        name: "state 2 from a client",
        bytes: requestFrame(Operation.JOIN_ROOM, "room", valid, State.COMPLETE),
        status: 400,
      },
    ];
    for (const { name, bytes, status } of cases) {
      await t.step(name, async () => {
        const exchange = await tcrpRequest(server.tcpAddr, bytes);
        assert.ok(exchange.closedByServer, "the server closes the connection");
        assert.equal(exchange.frames.length, 1, "exactly one frame: the refusal");
        assert.equal(exchange.frames[0]!.state, State.RESPONSE);
        const response = responseOf(exchange);
        assert.equal(response.status, status);
        assert.equal(typeof (response as { error: unknown }).error, "string");
        assert.equal(exchange.leftoverBytes, 0);
        await assertServing(server, name);
      });
    }
    assert.deepEqual(await listRooms(server.tcpAddr), [], "no bad request created anything");
    await handshake(server.tcpAddr, "create", { room: "room", username: "alice" });
    await handshake(server.tcpAddr, "join", { room: "room", username: "bob" });
    assert.deepEqual(errorLines(server), []);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a payload size over the limit is 413 from the header alone, body never sent", async () => {
  const server = startTestServer({ maxPayloadBytes: 1024 });
  try {
    for (const payloadSize of [1025, 64 * 1024 * 1024, Number.MAX_SAFE_INTEGER]) {
      const header = rawHeader({ operation: Operation.CREATE_ROOM, roomNameSize: 4, payloadSize });
      const started = Date.now();
      // Only the 32 header bytes: a server waiting for the body would time out here.
      const exchange = await tcrpRequest(server.tcpAddr, header, { timeoutMs: 1500 });
      assert.ok(exchange.closedByServer, `closed after the header (${payloadSize})`);
      assert.ok(Date.now() - started < 1000, "answered at once");
      assert.equal(exchange.frames.length, 1);
      assert.equal(responseOf(exchange).status, 413);
    }
    // Exactly at the limit is accepted (the name rules still apply to the body).
    const atLimit = JSON.stringify({ username: "alice", password: "p".repeat(980) });
    const padded = atLimit.slice(0, -1) + " ".repeat(1024 - encodeUtf8(atLimit).length) + "}";
    assert.equal(encodeUtf8(padded).length, 1024);
    const exchange = await tcrpRequest(
      server.tcpAddr,
      requestFrame(Operation.CREATE_ROOM, "room", padded),
    );
    assert.equal(responseOf(exchange).status, 200);
    await assertServing(server, "413");
  } finally {
    await server.shutdown();
  }
});

Deno.test("half a request then silence: the server drops the connection after --handshake-timeout", async () => {
  const server = startTestServer({ handshakeTimeoutSeconds: 0.3 });
  try {
    const partials = [
      rawHeader({ operation: Operation.CREATE_ROOM }).subarray(0, 16),
      concatBytes(
        rawHeader({ operation: Operation.CREATE_ROOM, roomNameSize: 4, payloadSize: 20 }),
        encodeUtf8("ro"),
      ),
    ];
    for (const partial of partials) {
      const started = Date.now();
      const exchange = await tcrpRequest(server.tcpAddr, partial, { timeoutMs: 2000 });
      const elapsed = Date.now() - started;
      assert.ok(exchange.closedByServer, "the server closed the connection");
      assert.equal(exchange.frames.length, 0, "nothing is answered to half a request");
      assert.ok(elapsed >= 250, `closed after ${elapsed} ms, not before the timeout`);
      assert.ok(elapsed < 1500, `closed after ${elapsed} ms`);
    }
    await handshake(server.tcpAddr, "create", { room: "room", username: "alice" });
    assert.deepEqual(errorLines(server), []);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a client that connects and closes at once does not bother the server", async () => {
  const server = startTestServer();
  try {
    for (let i = 0; i < 5; i++) {
      const conn = await Deno.connect({
        hostname: server.tcpAddr.hostname,
        port: server.tcpAddr.port,
      });
      conn.close();
    }
    // And one that sends a few bytes, then closes.
    const conn = await Deno.connect({
      hostname: server.tcpAddr.hostname,
      port: server.tcpAddr.port,
    });
    await conn.write(new Uint8Array([0, 1, 0]));
    conn.close();
    const exchange = await tcrpRequest(server.tcpAddr, new Uint8Array(0), { timeoutMs: 200 });
    assert.equal(exchange.frames.length, 0);
    await sleep(50);
    await handshake(server.tcpAddr, "create", { room: "room", username: "alice" });
    assert.deepEqual((await listRooms(server.tcpAddr)).map((r) => r.name), ["room"]);
    assert.deepEqual(errorLines(server), []);
  } finally {
    await server.shutdown();
  }
});

Deno.test("bad datagrams each get the right ERROR and change nothing", async () => {
  const server = startTestServer();
  const members: UdpMember[] = [];
  try {
    const alice = await enterRoom(server, "create", { room: "one", username: "alice" });
    members.push(alice.member);
    const carol = await enterRoom(server, "create", { room: "two", username: "carol" });
    members.push(carol.member);
    const dave = await enterRoom(server, "join", { room: "two", username: "dave" });
    members.push(dave.member);
    await carol.member.next("event", 1000, (e) => e.name === "dave");

    const stranger = new UdpMember(server.udpAddr, "one", new Uint8Array(32));
    members.push(stranger);
    const token = alice.member.token;
    const cases: { name: string; bytes: Uint8Array; code: number }[] = [
      { name: "zero-length datagram", bytes: new Uint8Array(0), code: 400 },
      { name: "one byte", bytes: new Uint8Array([3]), code: 400 },
      {
        name: "truncated: room name cut short",
        bytes: new Uint8Array([10, 32, 0x6f, 0x6e]),
        code: 400,
      },
      {
        name: "truncated: token cut short",
        bytes: rawDatagram("one", token, 0x02, new Uint8Array(0)).subarray(0, 20),
        code: 400,
      },
      {
        name: "truncated: no kind",
        bytes: rawDatagram("one", token, 0x01, new Uint8Array(0)).subarray(0, 2 + 3 + 32),
        code: 400,
      },
      {
        name: "truncated: HELLO without lastSeq",
        bytes: rawDatagram("one", token, 0x01, new Uint8Array([0, 0])),
        code: 400,
      },
      {
        name: "truncated: MESSAGE without a whole msgId",
        bytes: rawDatagram("one", token, 0x02, new Uint8Array([0, 0, 1])),
        code: 400,
      },
      {
        name: "HEARTBEAT with trailing bytes",
        bytes: rawDatagram("one", token, 0x03, new Uint8Array([0, 0, 0, 0, 9])),
        code: 400,
      },
      { name: "unknown kind 0x09", bytes: rawDatagram("one", token, 0x09, u32(0)), code: 400 },
      {
        name: "server kind 0x81 from a client",
        bytes: rawDatagram("one", token, 0x81, u32(0)),
        code: 400,
      },
      { name: "empty text", bytes: rawDatagram("one", token, 0x02, u32(77)), code: 400 },
      {
        name: "invalid UTF-8 text",
        bytes: rawDatagram("one", token, 0x02, concatBytes(u32(78), new Uint8Array([0x68, 0xc0]))),
        code: 400,
      },
      {
        name: "invalid UTF-8 room name",
        bytes: rawDatagram("one", token, 0x02, concatBytes(u32(79), encodeUtf8("x"))).map((
          byte,
          i,
        ) => (i === 2 ? 0xff : byte)),
        code: 400,
      },
      {
        name: "empty room name",
        bytes: concatBytes(new Uint8Array([0, 32]), token, new Uint8Array([0x04])),
        code: 400,
      },
      {
        name: "empty token",
        bytes: concatBytes(new Uint8Array([3, 0]), encodeUtf8("one"), new Uint8Array([0x04])),
        code: 400,
      },
      {
        name: "5000-byte datagram",
        bytes: rawDatagram(
          "one",
          token,
          0x02,
          concatBytes(u32(80), new Uint8Array(5000).fill(0x61)),
        )
          .subarray(0, 5000),
        code: 413,
      },
      {
        name: "4097-byte datagram",
        bytes: rawDatagram(
          "one",
          token,
          0x02,
          concatBytes(u32(81), new Uint8Array(5000).fill(0x61)),
        )
          .subarray(0, MAX_DATAGRAM_BYTES + 1),
        code: 413,
      },
    ];
    for (const { name, bytes, code } of cases) {
      for (const sender of [alice.member, stranger]) {
        await sender.sendRaw(bytes);
        const error = await sender.next("error", 1000);
        assert.equal(error.code, code, `${name} (${sender === stranger ? "stranger" : "member"})`);
        assert.ok(error.text.length > 0);
      }
    }
    // Nothing was relayed, nobody was removed, no event was logged.
    assert.deepEqual(await alice.member.drain(100), []);
    assert.deepEqual(await stranger.drain(0), []);
    assert.deepEqual(await carol.member.drain(0), []);
    assert.deepEqual(await dave.member.drain(0), []);
    await alice.member.send({ kind: "hello", lastSeq: 1 });
    assert.equal((await alice.member.next("welcome")).headSeq, 1, "room one logged nothing new");
    assert.deepEqual(
      (await listRooms(server.tcpAddr)).map((r) => [r.name, r.members]),
      [["one", 1], ["two", 2]],
    );
    assert.deepEqual(errorLines(server), [], "no datagram crashed a handler");

    // A member of another room still gets every message.
    for (let i = 1; i <= 10; i++) {
      await carol.member.say(`m${i}`);
      assert.equal((await carol.member.next("ack")).msgId, i);
      const event = await dave.member.next("event");
      assert.deepEqual([event.seq, event.text], [2 + i, `m${i}`]);
    }
    // And a valid message in room one still works, with the msgIds the bad ones used.
    await alice.member.send({ kind: "message", msgId: 77, text: "fine" });
    assert.deepEqual(await alice.member.next("ack"), { kind: "ack", msgId: 77, seq: 2 });
  } finally {
    await closeAll(server, members);
  }
});
