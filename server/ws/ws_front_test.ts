/**
 * The WebSocket front end's phases against a real server (its handshake,
 * registry, sealed sessions and UDP socket), with fake connections handed
 * to it as the HTTP front would hand real ones (fake_ws_test_util.ts):
 * what each message must be, the close codes, resume and shutdown.
 * tests/ws_front_test.ts runs the same rules over real sockets.
 */
import assert from "node:assert/strict";
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import { requestSealedMembership } from "../../client/tcrp_client.ts";
import { encodeUtf8 } from "../../protocol/bytes.ts";
import {
  decodeTcrpResponse,
  encodeTcrpFrame,
  Operation,
  SealedState,
  State,
  TcrpFrameParser,
} from "../../protocol/tcrp.ts";
import { encodeSealedClientBody, sealMemberDatagram } from "../../protocol/sealed_datagram.ts";
import { ask, cheapPasswords, server, trusting, withServer } from "../../testing/sealed_tcrp.ts";
import type { TestServer } from "../../testing/test_server.ts";
import { waitUntil } from "../../testing/wait.ts";
import { closeCode, listOverWebSocket, WsTestMember } from "../../testing/ws_client.ts";
import { SealedTestClient } from "../sealed/sealed_client_test_util.ts";
import { kindOf, Member, Socket } from "../sealed/sealed_loopback_test_util.ts";
import { FakeWsConnection } from "./fake_ws_test_util.ts";
import { WsCloseCode } from "./ws_link.ts";
import { PLAINTEXT_REFUSAL } from "../handshake.ts";

const PEER = { address: "127.0.0.1", addressKey: "127.0.0.1" };

function connect(s: TestServer): FakeWsConnection {
  const ws = new FakeWsConnection();
  s.ws.onWebSocket({ ws, peer: PEER, subprotocol: "chat.ws.1" });
  return ws;
}

async function admit(
  s: TestServer,
  operation: "create" | "join",
  room: string,
  name: string,
): Promise<{ ws: FakeWsConnection; member: WsTestMember }> {
  const ws = connect(s);
  const member = await WsTestMember.admit(ws.pipe, ask(operation, room, name), s.staticPublicKey);
  await member.hello();
  return { ws, member };
}

const isText = (text: string) => (b: { kind: string; text?: string }) =>
  b.kind === "event" && b.text === text;

const config = { allowPlaintext: false, rateLimit: 0 };

Deno.test("ws front: two WebSocket members and a UDP member share a sealed room; messages flow every way", async () => {
  await withServer(config, async (s) => {
    const ann = await admit(s, "create", "mixed", "ann");
    const bob = await admit(s, "join", "mixed", "bob");
    assert.equal(ann.ws.maxMessageBytes, 4096, "the datagram phase's limit");
    // A UDP member through the sealed TCRP exchange over TCP.
    const answer = await requestSealedMembership(
      server(s),
      ask("join", "mixed", "cat"),
      trusting(s),
    );
    const udp = new Socket(s);
    const cat = new Member(
      new SealedTestClient(nodeCrypto, answer.session, answer.session.signingKey),
      udp,
    );
    try {
      await cat.send({ kind: "hello", lastSeq: 0 });
      await cat.expect((o) => kindOf(o) === "welcome", "cat's WELCOME");
      ann.member.send({ kind: "message", msgId: 1, text: "from ann's page" });
      assert.ok(await bob.member.until(isText("from ann's page")));
      await cat.expect(
        (o) => (o as { event?: { text?: string } }).event?.text === "from ann's page",
        "ann's message at cat",
      );
      bob.member.send({ kind: "message", msgId: 1, text: "from bob's page" });
      assert.ok(await ann.member.until(isText("from bob's page")));
      await cat.send({ kind: "message", msgId: 1, text: "from a terminal" });
      assert.ok(await ann.member.until(isText("from a terminal")));
      assert.ok(await bob.member.until(isText("from a terminal")));
      assert.equal(s.ws.stats.admitted, 2);
      assert.equal(s.ws.stats.open, 2);
    } finally {
      await udp.close();
    }
  }, { passwords: cheapPasswords });
});

Deno.test("ws front: a room list is answered, then the socket closes 1000", async () => {
  await withServer(config, async (s) => {
    await admit(s, "create", "listed", "ann");
    const ws = connect(s);
    const list = await listOverWebSocket(ws.pipe, s.staticPublicKey);
    assert.deepEqual(list.rooms.map((r) => r.name), ["listed"]);
    assert.equal(await closeCode(ws.pipe), WsCloseCode.DONE);
    assert.equal(s.ws.stats.lists, 1);
  });
});

Deno.test("ws front: junk closes 4400, a plain request is refused (sealed only) and closed 1000, an unknown session gets a reset and 1000; the server keeps serving", async () => {
  await withServer(config, async (s) => {
    const ann = await admit(s, "create", "steady", "ann");
    // Garbage as the first message.
    const garbage = connect(s);
    garbage.pipe.send(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    assert.equal(await closeCode(garbage.pipe), WsCloseCode.BAD_MESSAGE);
    // A plain request: a plain 400 saying why, then 1000.
    const plain = connect(s);
    plain.pipe.send(encodeTcrpFrame({
      operation: Operation.LIST_ROOMS,
      state: State.REQUEST,
      roomName: new Uint8Array(0),
      payload: encodeUtf8("{}"),
    }));
    const answer = new TcrpFrameParser({ maxPayloadBytes: 1 << 16 }).push(
      (await plain.pipe.receive())!,
    )[0]!;
    const refusal = decodeTcrpResponse(answer);
    assert.equal(refusal.status, 400);
    assert.equal((refusal as { error: string }).error, PLAINTEXT_REFUSAL);
    assert.equal(await closeCode(plain.pipe), WsCloseCode.DONE);
    // Two frames in one message.
    const twice = connect(s);
    const hello = encodeTcrpFrame({
      operation: Operation.SEALED_LIST_ROOMS,
      state: SealedState.HELLO,
      roomName: new Uint8Array(0),
      payload: new Uint8Array(32),
    });
    twice.pipe.send(new Uint8Array([...hello, ...hello]));
    assert.equal(await closeCode(twice.pipe), WsCloseCode.BAD_MESSAGE);
    // A datagram of a session nobody knows: a stateless reset, then 1000.
    const stranger = connect(s);
    const sessionId = nodeCrypto.randomBytes(8);
    stranger.pipe.send(sealMemberDatagram(nodeCrypto, {
      key: nodeCrypto.randomBytes(32),
      sessionId,
      counter: 0,
      inner: encodeSealedClientBody({ kind: "hello", lastSeq: 0 }),
    }));
    const reset = await stranger.pipe.receive();
    assert.equal(reset?.length, 26);
    assert.equal(await closeCode(stranger.pipe), WsCloseCode.DONE);
    // A TCRP frame after the handshake (in the datagram phase).
    ann.ws.pipe.send(hello);
    assert.equal(await closeCode(ann.ws.pipe), WsCloseCode.BAD_MESSAGE);
    // The server still serves.
    const bob = await admit(s, "create", "after", "bob");
    bob.member.send({ kind: "message", msgId: 1, text: "still here" });
    assert.ok(await bob.member.until(isText("still here")));
    assert.equal(s.ws.stats.badMessages, 3);
  });
});

Deno.test("ws front: a resume on a new socket gets WELCOME and the missed events; the old socket closes 4409", async () => {
  await withServer(config, async (s) => {
    const ann = await admit(s, "create", "resume", "ann");
    const bob = await admit(s, "join", "resume", "bob");
    // ann's socket closes: she stays a member, disconnected.
    ann.ws.pipe.close(1006);
    await waitUntil(() => s.registry.disconnectedCount === 1, "ann disconnected");
    bob.member.send({ kind: "message", msgId: 1, text: "while ann was away" });
    assert.ok(await bob.member.until(isText("while ann was away")));
    const headSeq = Math.max(
      ...ann.member.bodies.flatMap((b) => b.kind === "event" ? [b.seq] : [0]),
    );
    const again = connect(s);
    ann.member.pipe = again.pipe;
    ann.member.send({ kind: "hello", lastSeq: headSeq });
    assert.ok(await ann.member.until((b) => b.kind === "welcome"));
    assert.ok(await ann.member.until(isText("while ann was away")));
    assert.equal(s.registry.disconnectedCount, 0);
    // A third socket takes over from a live one: the live one closes 4409.
    const third = connect(s);
    ann.member.pipe = third.pipe;
    ann.member.send({ kind: "heartbeat", lastSeq: 0 });
    assert.equal(await closeCode(again.pipe), WsCloseCode.REPLACED);
    assert.equal(s.registry.disconnectedCount, 0, "a replaced socket does not disconnect");
    bob.member.send({ kind: "message", msgId: 2, text: "on the third socket" });
    assert.ok(await ann.member.until(isText("on the third socket")));
    assert.equal(s.ws.stats.resumed, 2);
    assert.equal(s.ws.stats.replaced, 1);
  });
});

Deno.test("ws front: the gate slot is released when the handshake ends: more members than --max-handshakes(-per-ip) stay open", async () => {
  await withServer({ ...config, maxHandshakesPerIp: 2, maxHandshakes: 2 }, async (s) => {
    const members = [await admit(s, "create", "class", "teacher")];
    for (let i = 0; i < 5; i++) members.push(await admit(s, "join", "class", `pupil${i}`));
    assert.equal(s.ws.stats.open, 6);
    members[3]!.member.send({ kind: "message", msgId: 1, text: "all here" });
    for (const { member } of members) assert.ok(await member.until(isText("all here")));
  });
});

Deno.test("ws front: shutdown sends CLOSED 4 to WebSocket members, then closes their sockets 1001", async () => {
  const s = (await import("../../testing/test_server.ts")).startTestServer(config, {
    passwords: cheapPasswords,
  });
  const ann = await admit(s, "create", "ending", "ann");
  await s.shutdown();
  const closed = await ann.member.until((b) => b.kind === "closed");
  assert.equal(closed?.kind === "closed" && closed.reason, 4);
  assert.equal(await closeCode(ann.ws.pipe), WsCloseCode.GOING_AWAY);
});
