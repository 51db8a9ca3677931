/**
 * Black-box tests of the real chat server, rooms and talk: TCRP over real TCP
 * connections, chat datagrams over real UDP sockets, on loopback with ephemeral ports.
 */
import assert from "node:assert/strict";
import { CloseReason, EventType, MAX_DATAGRAM_BYTES } from "../protocol/datagram.ts";
import { encodeUtf8 } from "../protocol/bytes.ts";
import { encodeTcrpRequest, Operation, type RoomSummary, State } from "../protocol/tcrp.ts";
import {
  closeAll,
  enterRoom,
  handshake,
  listRooms,
  roomRequest,
  statusOf,
  tcrpRequest,
  UdpMember,
} from "../testing/raw_client.ts";
import { errorLines, startTestServer } from "../testing/test_server.ts";

Deno.test("CREATE_ROOM answers 200 with the server's settings, a 32-byte token, then closes", async () => {
  const server = startTestServer({ heartbeatSeconds: 7, idleTimeoutSeconds: 120 });
  let member: UdpMember | null = null;
  try {
    const answer = await roomRequest(server.tcpAddr, "create", {
      room: "lobby",
      username: "alice",
    });
    assert.deepEqual(answer.response, {
      status: 200,
      udpPort: server.udpAddr.port,
      maxDatagramBytes: MAX_DATAGRAM_BYTES,
      heartbeatSeconds: 7,
      idleTimeoutSeconds: 120,
      protocol: 2,
      messageRate: 20,
      messageBurst: 40,
      messageWindow: 32,
      messageWindowBytes: 65_536,
      gapTimeoutSeconds: 5,
    });
    assert.equal(answer.exchange.frames.length, 2);
    assert.equal(answer.exchange.frames[0]!.operation, Operation.CREATE_ROOM);
    assert.deepEqual(answer.exchange.frames[0]!.roomName, encodeUtf8("lobby"));
    assert.equal(answer.exchange.frames[1]!.state, State.COMPLETE);
    assert.equal(answer.token!.length, 32);
    assert.ok(answer.exchange.closedByServer, "the server closes the connection after the token");
    assert.equal(answer.exchange.leftoverBytes, 0);

    member = new UdpMember(server.udpAddr, "lobby", answer.token!);
    await member.send({ kind: "hello", lastSeq: 0 });
    const welcome = await member.next("welcome");
    assert.deepEqual(welcome, {
      kind: "welcome",
      headSeq: 1,
      room: "lobby",
      host: "alice",
      members: ["alice"],
    });
    const joined = await member.next("event");
    assert.equal(joined.seq, 1);
    assert.equal(joined.type, EventType.JOINED);
    assert.equal(joined.name, "alice");
    assert.equal(server.registry.roomCount, 1);
    assert.ok(
      server.logs.some((line) => line.split(" ")[1] === "info" && /room created/.test(line)),
    );
    assert.deepEqual(errorLines(server), []);
  } finally {
    await closeAll(server, [member]);
  }
});

Deno.test("JOIN_ROOM adds a member the others hear about; a missing room is 404", async () => {
  const server = startTestServer();
  const members: UdpMember[] = [];
  try {
    const alice = await enterRoom(server, "create", { room: "lobby", username: "alice" });
    members.push(alice.member);
    const bob = await enterRoom(server, "join", { room: "lobby", username: "bob" });
    members.push(bob.member);
    assert.equal(bob.welcome.host, "alice");
    assert.deepEqual([...bob.welcome.members].sort(), ["alice", "bob"]);
    assert.equal(bob.welcome.headSeq, 2);
    assert.deepEqual(bob.replayed.map((e) => [e.seq, e.type, e.name]), [
      [1, EventType.JOINED, "alice"],
      [2, EventType.JOINED, "bob"],
    ]);
    const heard = await alice.member.next("event");
    assert.deepEqual([heard.seq, heard.type, heard.name], [2, EventType.JOINED, "bob"]);

    const missing = await roomRequest(server.tcpAddr, "join", { room: "nowhere", username: "x" });
    assert.equal(statusOf(missing.response), 404);
    assert.equal(missing.token, null);
    assert.equal(missing.exchange.frames.length, 1);
    assert.ok(missing.exchange.closedByServer);
  } finally {
    await closeAll(server, members);
  }
});

Deno.test("LIST_ROOMS reports members, capacity and password protection, sorted by name", async () => {
  const server = startTestServer();
  try {
    assert.deepEqual(await listRooms(server.tcpAddr), []);
    await handshake(server.tcpAddr, "create", {
      room: "beta",
      username: "bea",
      password: "pw",
      capacity: 5,
    });
    await handshake(server.tcpAddr, "create", { room: "alpha", username: "al" });
    await handshake(server.tcpAddr, "join", { room: "alpha", username: "ann" });
    await handshake(server.tcpAddr, "join", { room: "alpha", username: "amy" });
    const expected: RoomSummary[] = [
      { name: "alpha", members: 3, capacity: null, passwordProtected: false, sealed: false },
      { name: "beta", members: 1, capacity: 5, passwordProtected: true, sealed: false },
    ];
    assert.deepEqual(await listRooms(server.tcpAddr), expected);

    const exchange = await tcrpRequest(
      server.tcpAddr,
      encodeTcrpRequest({ operation: Operation.LIST_ROOMS }),
    );
    assert.equal(exchange.frames.length, 1, "LIST_ROOMS is answered with one frame");
    assert.equal(exchange.frames[0]!.operation, Operation.LIST_ROOMS);
    assert.equal(exchange.frames[0]!.state, State.RESPONSE);
    assert.ok(exchange.closedByServer);
  } finally {
    await server.shutdown();
  }
});

Deno.test("talk: a message is ACKed to its sender and relayed to both members", async () => {
  const server = startTestServer();
  const members: UdpMember[] = [];
  try {
    const alice = await enterRoom(server, "create", { room: "talk", username: "alice" });
    members.push(alice.member);
    const bob = await enterRoom(server, "join", { room: "talk", username: "bob" });
    members.push(bob.member);
    await alice.member.next("event", 1000, (e) => e.type === EventType.JOINED && e.name === "bob");

    const msgId = await alice.member.say("héllo, bob 👋");
    const ack = await alice.member.next("ack");
    assert.equal(ack.msgId, msgId);
    assert.equal(ack.seq, 3);
    for (const member of [alice.member, bob.member]) {
      const event = await member.next("event");
      assert.equal(event.seq, 3);
      assert.equal(event.type, EventType.MESSAGE);
      assert.equal(event.name, "alice");
      assert.equal(event.text, "héllo, bob 👋");
      assert.ok(Math.abs(event.timeMs - Date.now()) < 5000);
    }

    const reply = await bob.member.say("hi alice");
    assert.deepEqual(await bob.member.next("ack"), { kind: "ack", msgId: reply, seq: 4 });
    for (const member of [alice.member, bob.member]) {
      const event = await member.next("event");
      assert.deepEqual([event.seq, event.name, event.text], [4, "bob", "hi alice"]);
    }

    // A retransmitted MESSAGE (same msgId) is ACKed again with its seq, not relayed twice.
    await alice.member.send({ kind: "message", msgId, text: "héllo, bob 👋" });
    assert.deepEqual(await alice.member.next("ack"), { kind: "ack", msgId, seq: 3 });
    assert.deepEqual(await bob.member.drain(150), []);
  } finally {
    await closeAll(server, members);
  }
});

Deno.test("leave: the leaver gets CLOSED 5, the others a LEFT event, and its token dies", async () => {
  const server = startTestServer();
  const members: UdpMember[] = [];
  try {
    const alice = await enterRoom(server, "create", { room: "room", username: "alice" });
    members.push(alice.member);
    const bob = await enterRoom(server, "join", { room: "room", username: "bob" });
    members.push(bob.member);
    await alice.member.next("event", 1000, (e) => e.type === EventType.JOINED && e.name === "bob");

    await bob.member.send({ kind: "leave" });
    const closed = await bob.member.next("closed");
    assert.equal(closed.reason, CloseReason.LEFT);
    const left = await alice.member.next("event");
    assert.deepEqual([left.seq, left.type, left.name], [3, EventType.LEFT, "bob"]);
    assert.deepEqual((await listRooms(server.tcpAddr))[0]?.members, 1);

    await bob.member.say("still here?");
    assert.equal((await bob.member.next("error")).code, 401);
    assert.deepEqual(await alice.member.drain(100), []);

    // The name is free again.
    await handshake(server.tcpAddr, "join", { room: "room", username: "bob" });
  } finally {
    await closeAll(server, members);
  }
});

Deno.test("the host leaving closes the room (CLOSED 1) and the name can be created again", async () => {
  const server = startTestServer();
  const members: UdpMember[] = [];
  try {
    const alice = await enterRoom(server, "create", { room: "hosted", username: "alice" });
    members.push(alice.member);
    const bob = await enterRoom(server, "join", { room: "hosted", username: "bob" });
    members.push(bob.member);
    const carol = await enterRoom(server, "join", { room: "hosted", username: "carol" });
    members.push(carol.member);

    await alice.member.send({ kind: "leave" });
    assert.equal((await alice.member.next("closed")).reason, CloseReason.LEFT);
    for (const member of [bob.member, carol.member]) {
      assert.equal((await member.next("closed")).reason, CloseReason.HOST_LEFT);
    }
    assert.deepEqual(await listRooms(server.tcpAddr), []);
    assert.equal(server.registry.memberCount, 0);

    // The old members' tokens are gone with the room.
    await bob.member.say("anyone?");
    assert.equal((await bob.member.next("error")).code, 401);

    const again = await enterRoom(server, "create", { room: "hosted", username: "dave" });
    members.push(again.member);
    assert.equal(again.welcome.host, "dave");
    assert.equal(again.welcome.headSeq, 1, "a new room starts a new event log");
  } finally {
    await closeAll(server, members);
  }
});

Deno.test("password room: a missing or wrong password is 401, the right one joins", async () => {
  const server = startTestServer();
  try {
    await handshake(server.tcpAddr, "create", {
      room: "vault",
      username: "alice",
      password: "s3cret",
    });
    const missing = await roomRequest(server.tcpAddr, "join", { room: "vault", username: "bob" });
    assert.equal(statusOf(missing.response), 401);
    assert.ok(missing.exchange.closedByServer);
    const wrong = await roomRequest(server.tcpAddr, "join", {
      room: "vault",
      username: "bob",
      password: "S3cret",
    });
    assert.equal(statusOf(wrong.response), 401);
    assert.equal(wrong.exchange.frames.length, 1);
    const right = await roomRequest(server.tcpAddr, "join", {
      room: "vault",
      username: "bob",
      password: "s3cret",
    });
    assert.equal(statusOf(right.response), 200);
    assert.equal(right.token?.length, 32);
    assert.equal((await listRooms(server.tcpAddr))[0]?.members, 2);
  } finally {
    await server.shutdown();
  }
});

Deno.test("capacity: a full room refuses with 403", async () => {
  const server = startTestServer();
  try {
    await handshake(server.tcpAddr, "create", { room: "small", username: "alice", capacity: 2 });
    await handshake(server.tcpAddr, "join", { room: "small", username: "bob" });
    const full = await roomRequest(server.tcpAddr, "join", { room: "small", username: "carol" });
    assert.equal(statusOf(full.response), 403);
    assert.ok(full.exchange.closedByServer);
    assert.deepEqual(await listRooms(server.tcpAddr), [
      { name: "small", members: 2, capacity: 2, passwordProtected: false, sealed: false },
    ]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a username taken in the room is 409, ignoring case", async () => {
  const server = startTestServer();
  try {
    await handshake(server.tcpAddr, "create", { room: "names", username: "Alice" });
    await handshake(server.tcpAddr, "join", { room: "names", username: "Émile" });
    for (const username of ["Alice", "alice", "ALICE", "émile", "ÉMILE"]) {
      const answer = await roomRequest(server.tcpAddr, "join", { room: "names", username });
      assert.equal(statusOf(answer.response), 409, username);
      assert.ok(answer.exchange.closedByServer);
    }
    // The same name in another room is fine, and 32 characters is allowed.
    await handshake(server.tcpAddr, "create", { room: "other", username: "alice" });
    await handshake(server.tcpAddr, "join", { room: "names", username: "x".repeat(32) });
    assert.equal((await listRooms(server.tcpAddr))[0]?.members, 3);
  } finally {
    await server.shutdown();
  }
});

Deno.test("creating a room that exists is 409", async () => {
  const server = startTestServer();
  try {
    await handshake(server.tcpAddr, "create", { room: "dup", username: "alice" });
    const again = await roomRequest(server.tcpAddr, "create", { room: "dup", username: "bob" });
    assert.equal(statusOf(again.response), 409);
    assert.ok(again.exchange.closedByServer);
    assert.deepEqual(await listRooms(server.tcpAddr), [
      { name: "dup", members: 1, capacity: null, passwordProtected: false, sealed: false },
    ]);
  } finally {
    await server.shutdown();
  }
});
