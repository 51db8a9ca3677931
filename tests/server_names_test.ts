/**
 * Names over real TCP and UDP on loopback (docs/protocol.md section 2): rooms
 * are one room whatever the case, and lookalike names are refused with the
 * documented status and text.
 */
import assert from "node:assert/strict";
import { closeAll, enterRoom, listRooms, roomRequest, UdpMember } from "../testing/raw_client.ts";
import { errorLines, startTestServer } from "../testing/test_server.ts";

Deno.test("names: Lobby and lobby are one room, shown as its creator spelled it", async () => {
  const server = startTestServer();
  const members: UdpMember[] = [];
  try {
    const host = await enterRoom(server, "create", { room: "Lobby", username: "alice" });
    members.push(host.member);
    const bob = await enterRoom(server, "join", { room: "lobby", username: "bob" });
    members.push(bob.member);
    assert.equal(bob.welcome.room, "Lobby");
    assert.deepEqual([...bob.welcome.members].sort(), ["alice", "bob"]);
    // bob's datagrams say "lobby": they reach the room all the same.
    await bob.member.send({ kind: "message", msgId: 1, text: "hi" });
    const ack = await bob.member.next("ack");
    assert.equal(ack.msgId, 1);
    const heard = await host.member.next("event", 2000, (e) => e.text === "hi");
    assert.equal(heard.name, "bob");
    assert.deepEqual((await listRooms(server.tcpAddr)).map((r) => [r.name, r.members]), [
      ["Lobby", 2],
    ]);
    const again = await roomRequest(server.tcpAddr, "create", { room: "LOBBY", username: "cid" });
    assert.deepEqual(again.response, { status: 409, error: 'room "Lobby" already exists' });
    assert.deepEqual(errorLines(server), []);
  } finally {
    await closeAll(server, members);
  }
});

Deno.test("names: lookalikes are refused, 400 by the character rules, 409 when confusable", async () => {
  const server = startTestServer();
  const members: UdpMember[] = [];
  try {
    members.push((await enterRoom(server, "create", { room: "lobby", username: "alice" })).member);
    members.push((await enterRoom(server, "create", { room: "paypal", username: "pat" })).member);
    const refusals: [op: "create" | "join", room: string, username: string, answer: object][] = [
      ["join", "lobby", "\u0430lice", {
        status: 400,
        error: "username must not mix scripts: U+0430 is Cyrillic and U+006C is Latin " +
          "(Latin, Cyrillic and Greek letters may not share a name)",
      }],
      ["join", "lobby", "alice\u200b", {
        status: 400,
        error: "username must not contain U+200B: an invisible character (default ignorable)",
      }],
      ["join", "lobby", "\u3164", {
        status: 400,
        error: "username must not contain U+3164: an invisible character (default ignorable)",
      }],
      ["join", "lobby", "\u0430\u0406\u0456\u0441\u0435", {
        status: 409,
        error: 'the name "\u0430\u0406\u0456\u0441\u0435" looks the same as someone in this room',
      }],
      ["join", "lobby", "ALICE", { status: 409, error: 'the name "ALICE" is taken here' }],
      ["create", "l\u043ebby", "bob", {
        status: 400,
        error: "room name must not mix scripts: U+006C is Latin and U+043E is Cyrillic " +
          "(Latin, Cyrillic and Greek letters may not share a name)",
      }],
      ["create", "lobby\u200b", "bob", {
        status: 400,
        error: "room name must not contain U+200B: an invisible character (default ignorable)",
      }],
      ["create", "paypaI", "bob", {
        status: 409,
        error: 'the room name "paypaI" looks the same as the room "paypal"',
      }],
    ];
    for (const [op, room, username, answer] of refusals) {
      const got = await roomRequest(server.tcpAddr, op, { room, username });
      assert.deepEqual(got.response, answer, `${op} ${room} ${username}`);
      assert.ok(got.exchange.closedByServer);
    }
    // Sam is not Sarn; a Persian name with its ZWNJ is welcome.
    for (const username of ["Sam", "Sarn", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"]) {
      members.push((await enterRoom(server, "join", { room: "lobby", username })).member);
    }
    assert.deepEqual((await listRooms(server.tcpAddr)).map((r) => [r.name, r.members]), [
      ["lobby", 4],
      ["paypal", 1],
    ]);
  } finally {
    await closeAll(server, members);
  }
});
