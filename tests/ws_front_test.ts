/**
 * WebSocket members against a real server over real sockets (the HTTP
 * front on an ephemeral port, Deno's WebSocket or a raw one from
 * testing/ws_client.ts): the sealed handshake and datagrams over `/ws`,
 * next to UDP members, with the close code of every bad input, resume,
 * liveness from pongs, a stalled reader, and shutdown.
 */
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { encodeUtf8 } from "../protocol/bytes.ts";
import { encodeSealedClientBody, sealMemberDatagram } from "../protocol/sealed_datagram.ts";
import {
  decodeTcrpResponse,
  encodeTcrpFrame,
  Operation,
  SealedState,
  State,
  TcrpFrameParser,
} from "../protocol/tcrp.ts";
import { WsOpcode } from "../protocol/websocket_frame.ts";
import type { ServerConfig } from "../server/config.ts";
import { PLAINTEXT_REFUSAL } from "../server/handshake.ts";
import { WsCloseCode } from "../server/ws/ws_link.ts";
import { ask, cheapPasswords } from "../testing/sealed_tcrp.ts";
import { errorLines, startTestServer } from "../testing/test_server.ts";
import { waitUntil } from "../testing/wait.ts";
import {
  closeCode,
  listOverWebSocket,
  type MessagePipe,
  openRawWebSocket,
  openWebSocketPipe,
  WsTestMember,
} from "../testing/ws_client.ts";
import {
  admitOverWebSocket,
  udpMember,
  withWsServer,
  WS_TEST_CONFIG,
  wsUrl,
} from "../testing/ws_server.ts";

const isText = (text: string) => (b: { kind: string; text?: string }) =>
  b.kind === "event" && b.text === text;

Deno.test("ws: two WebSocket members and a UDP member share a sealed room, and each sees the others' messages", async () => {
  await withWsServer({}, async (s) => {
    const ann = await admitOverWebSocket(s, "create", "mixed", "ann");
    const bob = await admitOverWebSocket(s, "join", "mixed", "bob");
    const cat = await udpMember(s, "mixed", "cat");
    try {
      ann.send({ kind: "message", msgId: 1, text: "from ann's page" });
      assert.ok(await bob.until(isText("from ann's page")));
      await cat.expect(
        (o) => o.channel === "room" && (o.event as { text?: string }).text === "from ann's page",
        "ann's message at cat",
      );
      bob.send({ kind: "message", msgId: 1, text: "from bob's page" });
      assert.ok(await ann.until(isText("from bob's page")));
      await cat.send({ kind: "message", msgId: 1, text: "from a terminal" });
      assert.ok(await ann.until(isText("from a terminal")));
      assert.ok(await bob.until(isText("from a terminal")));
      assert.equal(s.ws.stats.admitted, 2);
    } finally {
      await cat.socket.close();
      ann.pipe.close();
      bob.pipe.close();
    }
  });
});

Deno.test("ws: a room list is answered, then the socket closes 1000", async () => {
  await withWsServer({}, async (s) => {
    const ann = await admitOverWebSocket(s, "create", "listed", "ann");
    const pipe = await openWebSocketPipe(wsUrl(s));
    const list = await listOverWebSocket(pipe, s.staticPublicKey);
    assert.deepEqual(list.rooms.map((r) => r.name), ["listed"]);
    assert.equal(await closeCode(pipe), WsCloseCode.DONE);
    ann.pipe.close();
  });
});

Deno.test("ws: bad inputs each get their close code, and the server keeps serving the others", async () => {
  await withWsServer({}, async (s) => {
    const ann = await admitOverWebSocket(s, "create", "steady", "ann");
    const closeOf = async (send: (pipe: MessagePipe) => void) => {
      const pipe = await openWebSocketPipe(wsUrl(s));
      send(pipe);
      return await closeCode(pipe);
    };
    // A text frame: 1003.
    const raw = await openRawWebSocket(s.httpAddr!);
    await raw.writeRaw(raw.frame(WsOpcode.TEXT, encodeUtf8("hello")));
    assert.equal(await closeCode(raw.pipe), 1003);
    // A first message over the handshake's limit (32 + 255 + --max-payload): 1009.
    assert.equal(await closeOf((pipe) => pipe.send(new Uint8Array(20_000))), 1009);
    // Garbage (an unmasked client frame): 1002.
    const garbage = await openRawWebSocket(s.httpAddr!);
    await garbage.writeRaw(new Uint8Array([0x82, 0x03, 1, 2, 3]));
    assert.equal(await closeCode(garbage.pipe), 1002);
    // Bytes that are neither a TCRP frame nor a datagram: 4400.
    assert.equal(
      await closeOf((pipe) => pipe.send(new Uint8Array([9, 9, 9, 9]))),
      WsCloseCode.BAD_MESSAGE,
    );
    // A plain request: refused in plain (sealed only), then 1000.
    const plain = await openWebSocketPipe(wsUrl(s));
    plain.send(encodeTcrpFrame({
      operation: Operation.LIST_ROOMS,
      state: State.REQUEST,
      roomName: new Uint8Array(0),
      payload: encodeUtf8("{}"),
    }));
    const refusal = decodeTcrpResponse(
      new TcrpFrameParser({ maxPayloadBytes: 1 << 16 }).push((await plain.receive())!)[0]!,
    );
    assert.equal(refusal.status, 400);
    assert.equal((refusal as { error: string }).error, PLAINTEXT_REFUSAL);
    assert.equal(await closeCode(plain), WsCloseCode.DONE);
    // A sealed datagram before any handshake, for a session nobody knows: a reset, then 1000.
    const stranger = await openWebSocketPipe(wsUrl(s));
    stranger.send(sealMemberDatagram(nodeCrypto, {
      key: nodeCrypto.randomBytes(32),
      sessionId: nodeCrypto.randomBytes(8),
      counter: 0,
      inner: encodeSealedClientBody({ kind: "hello", lastSeq: 0 }),
    }));
    assert.equal((await stranger.receive())?.length, 26);
    assert.equal(await closeCode(stranger), WsCloseCode.DONE);
    // After the handshake: a TCRP frame is 4400, a message over 4096 bytes 1009.
    const bob = await admitOverWebSocket(s, "join", "steady", "bob");
    bob.pipe.send(encodeTcrpFrame({
      operation: Operation.SEALED_LIST_ROOMS,
      state: SealedState.HELLO,
      roomName: new Uint8Array(0),
      payload: new Uint8Array(32),
    }));
    assert.equal(await closeCode(bob.pipe), WsCloseCode.BAD_MESSAGE);
    const cat = await admitOverWebSocket(s, "join", "steady", "cat");
    cat.pipe.send(new Uint8Array(4097));
    assert.equal(await closeCode(cat.pipe), 1009);
    // ann was served all along.
    ann.send({ kind: "message", msgId: 1, text: "still here" });
    assert.ok(await ann.until(isText("still here")));
    assert.ok(s.ws.stats.badMessages >= 2);
    ann.pipe.close();
  });
});

Deno.test("ws: a resume on a new socket gets WELCOME and the missed events; a live old socket closes 4409", async () => {
  await withWsServer({}, async (s) => {
    const ann = await admitOverWebSocket(s, "create", "resume", "ann");
    const bob = await admitOverWebSocket(s, "join", "resume", "bob");
    ann.pipe.close();
    await waitUntil(() => s.registry.disconnectedCount === 1, "ann disconnected");
    bob.send({ kind: "message", msgId: 1, text: "while ann was away" });
    assert.ok(await bob.until(isText("while ann was away")));
    const lastSeq = Math.max(0, ...ann.bodies.flatMap((b) => b.kind === "event" ? [b.seq] : []));
    const second = await openWebSocketPipe(wsUrl(s));
    ann.pipe = second;
    ann.send({ kind: "hello", lastSeq });
    assert.ok(await ann.until((b) => b.kind === "welcome"));
    assert.ok(await ann.until(isText("while ann was away")));
    assert.equal(s.registry.disconnectedCount, 0);
    // A third socket while the second is open: the second closes 4409.
    const third = await openWebSocketPipe(wsUrl(s));
    ann.pipe = third;
    ann.send({ kind: "heartbeat", lastSeq: 0 });
    assert.equal(await closeCode(second), WsCloseCode.REPLACED);
    bob.send({ kind: "message", msgId: 2, text: "on the third socket" });
    assert.ok(await ann.until(isText("on the third socket")));
    assert.equal(s.registry.disconnectedCount, 0);
    third.close();
    bob.pipe.close();
  });
});

Deno.test("ws: pongs keep a member that sends no datagrams alive past 3 heartbeats", async () => {
  await withWsServer({ heartbeatSeconds: 1 }, async (s) => {
    const ann = await admitOverWebSocket(s, "create", "quiet", "ann");
    const since = performance.now();
    await waitUntil(() => performance.now() - since > 4_000, "4 s", 6_000);
    assert.equal(s.registry.listKeyedRooms().length, 1, "the room is still open");
    assert.equal(ann.bodies.some((b) => b.kind === "closed"), false);
    ann.pipe.close();
  });
});

Deno.test("ws: a stalled reader gets EVENTs shed, then is closed 4008 (over soft too long); another member gets every message", async () => {
  await withWsServer(
    { wsBufferSoft: 128 * 1024, wsBufferHard: 512 * 1024 } as Partial<ServerConfig>,
    async (s) => {
      const ann = await admitOverWebSocket(s, "create", "stall", "ann");
      const bob = await admitOverWebSocket(s, "join", "stall", "bob");
      const raw = await openRawWebSocket(s.httpAddr!);
      const slow = await WsTestMember.admit(
        raw.pipe,
        ask("join", "stall", "slow"),
        s.staticPublicKey,
      );
      await slow.hello();
      raw.stopReading();
      const text = "x".repeat(3_000);
      let sent = 0;
      let closedCode: number | null = null;
      raw.pipe.closed.then((info) => closedCode = info.code);
      // Blast until the server gives up on the stalled socket (its kernel buffers fill first).
      while (s.ws.stats.links.slowClosed === 0 && sent < 20_000) {
        ann.send({ kind: "message", msgId: ++sent, text: `${sent} ${text}` });
        // In steps of 30 KB, so that bob, who reads, stays under the soft limit.
        if (sent % 10 === 0) {
          assert.ok(await bob.until(isText(`${sent} ${text}`)), `bob got ${sent}`);
        }
      }
      assert.ok(s.ws.stats.links.slowClosed === 1, `closed after ${sent} messages`);
      assert.ok(s.ws.stats.links.shed > 0, "EVENTs were shed first");
      // Every message reached bob, in order.
      if (!bob.texts.includes(`${sent} ${text}`)) {
        assert.ok(await bob.until(isText(`${sent} ${text}`)));
      }
      const texts = bob.texts.map((t) => Number(t.split(" ")[0]));
      assert.deepEqual(texts, Array.from({ length: sent }, (_, i) => i + 1));
      raw.abort();
      await raw.pipe.closed;
      assert.ok(closedCode === WsCloseCode.SLOW_READER || closedCode === 1006);
      ann.pipe.close();
      bob.pipe.close();
    },
    // Over the soft limit for 1 s (not 10) is too slow, so the test stays short.
    { slowReaderMs: 1_000 },
  );
});

Deno.test("ws: the gate slot is released once a handshake ends: more members than --max-handshakes stay open", async () => {
  await withWsServer({ maxHandshakes: 2, maxHandshakesPerIp: 2 }, async (s) => {
    const members = [await admitOverWebSocket(s, "create", "class", "teacher")];
    for (let i = 0; i < 5; i++) {
      members.push(await admitOverWebSocket(s, "join", "class", `pupil${i}`));
    }
    assert.equal(s.ws.stats.open, 6);
    members[2]!.send({ kind: "message", msgId: 1, text: "all here" });
    for (const member of members) assert.ok(await member.until(isText("all here")));
    for (const member of members) member.pipe.close();
  });
});

Deno.test("ws: shutdown sends CLOSED 4 to WebSocket members, then closes their sockets 1001", async () => {
  const s = startTestServer(WS_TEST_CONFIG, {
    passwords: cheapPasswords,
    http: { port: 0, hostName: null },
  });
  const ann = await admitOverWebSocket(s, "create", "ending", "ann");
  const bob = await admitOverWebSocket(s, "join", "ending", "bob");
  await s.shutdown();
  for (const member of [ann, bob]) {
    const closed = await member.until((b) => b.kind === "closed");
    assert.equal(closed?.kind === "closed" && closed.reason, 4);
    assert.equal(await closeCode(member.pipe), WsCloseCode.GOING_AWAY);
  }
  assert.deepEqual(errorLines(s), []);
});

Deno.test("ws: --request-timeout from the upgrade: a silent socket, and a handshake stopped after state 0, close 1001", async () => {
  await withWsServer({ requestTimeoutSeconds: 1 }, async (s) => {
    const silent = await openWebSocketPipe(wsUrl(s));
    const stopped = await openWebSocketPipe(wsUrl(s));
    stopped.send(encodeTcrpFrame({
      operation: Operation.SEALED_LIST_ROOMS,
      state: SealedState.HELLO,
      roomName: new Uint8Array(0),
      payload: nodeCrypto.x25519KeyPair().publicKey,
    }));
    const serverHello = new TcrpFrameParser({ maxPayloadBytes: 1 << 16 }).push(
      (await stopped.receive())!,
    )[0]!;
    assert.equal(serverHello.state, SealedState.SERVER_HELLO);
    const started = performance.now();
    assert.equal(await closeCode(silent), WsCloseCode.GOING_AWAY);
    assert.equal(await closeCode(stopped), WsCloseCode.GOING_AWAY);
    assert.ok(performance.now() - started < 2_500);
    assert.equal(s.ws.stats.timeouts, 2);
  });
});

Deno.test("ws: over --max-handshakes-per-ip, a handshake gets the gate's plain refusal, then 1000", async () => {
  await withWsServer({ maxHandshakesPerIp: 1 }, async (s) => {
    const hello = () =>
      encodeTcrpFrame({
        operation: Operation.SEALED_LIST_ROOMS,
        state: SealedState.HELLO,
        roomName: new Uint8Array(0),
        payload: nodeCrypto.x25519KeyPair().publicKey,
      });
    const first = await openWebSocketPipe(wsUrl(s));
    first.send(hello());
    assert.ok(await first.receive(), "message 2: the first holds the address's slot");
    const second = await openWebSocketPipe(wsUrl(s));
    second.send(hello());
    const frame = new TcrpFrameParser({ maxPayloadBytes: 1 << 16 }).push(
      (await second.receive())!,
    )[0]!;
    assert.equal(frame.operation, Operation.LIST_ROOMS);
    assert.equal(decodeTcrpResponse(frame).status, 429);
    assert.equal(await closeCode(second), WsCloseCode.DONE);
    first.close();
    assert.ok(await closeCode(first));
  });
});

Deno.test("ws: every resume of a forgotten session from one address gets its reset, past the UDP per-address budget", async () => {
  // A school behind one NAT after a restart: more resumes at once than --unauthenticated-rate's burst.
  await withWsServer({ unauthenticatedRate: 2 }, async (s) => {
    const pipes = await Promise.all(
      Array.from({ length: 12 }, () => openWebSocketPipe(wsUrl(s))),
    );
    for (const pipe of pipes) {
      pipe.send(sealMemberDatagram(nodeCrypto, {
        key: nodeCrypto.randomBytes(32),
        sessionId: nodeCrypto.randomBytes(8),
        counter: 0,
        inner: encodeSealedClientBody({ kind: "hello", lastSeq: 0 }),
      }));
    }
    for (const pipe of pipes) {
      assert.equal((await pipe.receive())?.length, 26, "a stateless reset");
      assert.equal(await closeCode(pipe), WsCloseCode.DONE);
    }
  });
});
