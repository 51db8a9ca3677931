/**
 * Sealed TCRP's limits over loopback: the request timeout covers the second
 * client frame and the exchange deadline all of it, plain refusals before
 * the handshake (the gate, the request rate, a bad state 0) are retryable
 * transport errors, nothing readable crosses the wire, and a room-list walk
 * asks again for a page refused with 429.
 */
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { ChatRefusedError, ChatTransportError } from "../client/errors.ts";
import { sealedRoomExchange } from "../client/sealed_exchange.ts";
import { requestSealedMembership, requestSealedRoomList } from "../client/tcrp_client.ts";
import { concatBytes, encodeUtf8 } from "../protocol/bytes.ts";
import { NoiseNxInitiator } from "../protocol/noise.ts";
import { sealedHelloHeader, sealedPrologue } from "../protocol/sealed_tcrp.ts";
import {
  encodeTcrpFrame,
  Operation,
  SealedState,
  type TcrpFrame,
  TcrpFrameParser,
} from "../protocol/tcrp.ts";
import { earlyRefusalFrame, SealedResponder } from "../server/sealed_responder.ts";
import { tcrpRequest } from "../testing/raw_client.ts";
import { ask, recordingStream, server, trusting, withServer } from "../testing/sealed_tcrp.ts";
import { waitUntil } from "../testing/wait.ts";

Deno.test("sealed TCRP: the request timeout covers the second client frame", async () => {
  await withServer({ requestTimeoutSeconds: 0.3 }, async (s) => {
    const room = encodeUtf8("vault");
    const op = Operation.SEALED_CREATE_ROOM;
    const noise = new NoiseNxInitiator(
      nodeCrypto,
      sealedPrologue(sealedHelloHeader(op, room), room),
    );
    const hello = encodeTcrpFrame({
      operation: op,
      state: SealedState.HELLO,
      roomName: room,
      payload: noise.writeMessage1(),
    });
    const started = performance.now();
    const exchange = await tcrpRequest(s.tcpAddr, hello, { timeoutMs: 3_000 });
    const ms = performance.now() - started;
    assert.deepEqual(exchange.frames.map((f) => f.state), [SealedState.SERVER_HELLO]);
    assert.equal(exchange.closedByServer, true);
    assert(ms >= 250 && ms < 2_500, `closed after ${ms.toFixed(0)} ms`);
    assert.equal(s.registry.roomCount, 0);
  });
});

Deno.test("sealed TCRP: over the request rate, a plain state-2 429 before any key work: retryable", async () => {
  await withServer({ requestRateLimit: 1 }, async (s) => {
    const options = trusting(s);
    let refused: unknown = null;
    for (let i = 0; i < 20 && refused === null; i++) {
      try {
        await requestSealedMembership(server(s), ask("create", `r${i}`, "ann"), options);
      } catch (error) {
        refused = error;
      }
    }
    assert(refused instanceof ChatTransportError, String(refused));
    assert(!(refused instanceof ChatRefusedError));
    assert.equal(refused.status, 429);
  });
});

Deno.test("sealed TCRP: a bad state 0 gets a plain state-2 400 echoing the operation", async () => {
  await withServer({}, async (s) => {
    const bad = encodeTcrpFrame({
      operation: Operation.SEALED_JOIN_ROOM,
      state: SealedState.HELLO,
      roomName: encodeUtf8("vault"),
      payload: new Uint8Array(31),
    });
    const exchange = await tcrpRequest(s.tcpAddr, bad);
    assert.equal(exchange.frames.length, 1);
    const frame = exchange.frames[0]!;
    assert.equal(frame.operation, Operation.SEALED_JOIN_ROOM);
    assert.equal(frame.state, SealedState.REFUSED);
    assert.equal(JSON.parse(new TextDecoder().decode(frame.payload)).status, 400);
    // A sealed operation with a state it does not have: 400 at the header, still state 2.
    const header = encodeTcrpFrame({
      operation: Operation.SEALED_LIST_ROOMS,
      state: SealedState.HELLO,
      roomName: new Uint8Array(0),
      payload: new Uint8Array(32),
    });
    header[2] = 7;
    const refused = await tcrpRequest(s.tcpAddr, header);
    assert.deepEqual(refused.frames.map((f) => [f.operation, f.state]), [[0x13, 2]]);
  });
});

Deno.test("sealed TCRP: the gate's plain refusal (state 1, operation 3) is a retryable transport error with its status", async () => {
  await withServer({ maxHandshakesPerIp: 1 }, async (s) => {
    const idle = await Deno.connect({ hostname: s.tcpAddr.hostname, port: s.tcpAddr.port });
    try {
      let refused: unknown = null;
      // The idle connection holds the address's one slot once the server has accepted it.
      for (let i = 0; i < 100 && refused === null; i++) {
        try {
          await requestSealedRoomList(server(s), trusting(s));
        } catch (error) {
          refused = error;
        }
      }
      assert(refused instanceof ChatTransportError, String(refused));
      assert.equal(refused.status, 429);
    } finally {
      idle.close();
    }
  });
});

Deno.test("sealed TCRP: the exchange deadline covers the whole exchange; a late password check commits nothing", async () => {
  let hashed = false;
  const slowPasswords = {
    hash: (password: string) =>
      new Promise<{ salt: Uint8Array; hash: Uint8Array }>((resolve) =>
        setTimeout(() => {
          hashed = true;
          resolve({ salt: new Uint8Array(16), hash: encodeUtf8(password) });
        }, 900)
      ),
    verify: () => Promise.resolve(false),
  };
  await withServer({ handshakeTimeoutSeconds: 0.4 }, async (s) => {
    const started = performance.now();
    await assert.rejects(
      requestSealedMembership(server(s), ask("create", "slow", "ann", "pw"), trusting(s)),
      (error: unknown) => error instanceof ChatTransportError && error.status === undefined,
    );
    const ms = performance.now() - started;
    assert(ms < 850, `the server closed after ${ms.toFixed(0)} ms, before the hash ended`);
    await waitUntil(() => hashed, "the hash to end", 3_000);
    assert.equal(s.registry.roomCount, 0);
    // The name was not kept: it can be created now.
    await requestSealedMembership(server(s), ask("create", "slow", "ann"), trusting(s));
  }, { passwords: slowPasswords });
});

Deno.test("sealed TCRP: neither the name, the password nor the session keys cross the wire in clear", async () => {
  await withServer({}, async (s) => {
    const { stream, written, close } = await recordingStream(s);
    const read: Uint8Array[] = [];
    const recording = {
      write: stream.write,
      read: async () => {
        const frame = await stream.read();
        if (frame !== null) read.push(encodeTcrpFrame(frame));
        return frame;
      },
    };
    let membership;
    try {
      membership = await sealedRoomExchange(
        recording,
        ask("create", "vault", "zanzibar", "correct horse"),
        trusting(s),
      );
    } finally {
      close();
    }
    const wire = new TextDecoder("latin1").decode(concatBytes(...written, ...read));
    for (const secret of ["zanzibar", "correct horse"]) {
      assert.equal(wire.includes(secret), false, secret);
    }
    const hex = (bytes: Uint8Array) =>
      [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    for (const key of [membership.session.clientKey, membership.session.serverKey]) {
      assert.equal(wire.includes(hex(key)), false);
      assert.equal(wire.includes(new TextDecoder("latin1").decode(key)), false);
    }
  });
});

Deno.test("sealed room list: a walk follows next, and a page refused 429 before its handshake is asked again", async () => {
  const keys = {
    staticKey: nodeCrypto.x25519KeyPair(),
    crypto: nodeCrypto,
    signingKey: new Uint8Array(32),
  };
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const pages = [["a", "b"], ["c"]];
  const seen: string[] = [];
  const serving = (async () => {
    let connection = 0;
    for await (const conn of listener) {
      const index = connection++;
      try {
        const parser = new TcrpFrameParser({ maxPayloadBytes: 1 << 16 });
        const frames: TcrpFrame[] = [];
        const buffer = new Uint8Array(4096);
        const next = async () => {
          while (frames.length === 0) {
            const n = await conn.read(buffer);
            if (n === null) throw new Error("closed");
            frames.push(...parser.push(buffer.subarray(0, n)));
          }
          return frames.shift()!;
        };
        const hello = await next() as TcrpFrame & { operation: 0x13 };
        if (index === 1) {
          seen.push("429");
          await conn.write(earlyRefusalFrame(hello.operation, hello.roomName, {
            status: 429,
            error: "too many requests",
          }));
          continue;
        }
        const responder = new SealedResponder(keys, hello);
        await conn.write(responder.serverHello());
        const request = responder.openRequest(await next());
        assert(request.operation === Operation.LIST_ROOMS);
        seen.push(request.cursor ?? "first");
        const page = request.cursor === undefined ? 0 : 1;
        const rooms = pages[page]!.map((name) => ({
          name,
          members: 1,
          capacity: null,
          passwordProtected: false,
          sealed: true,
        }));
        await conn.write(responder.answer({
          kind: "rooms",
          rooms,
          next: page === 0 ? "b" : null,
        }));
      } finally {
        conn.close();
      }
    }
  })();
  try {
    const rooms = await requestSealedRoomList(
      { hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port },
      {
        crypto: nodeCrypto,
        checkServerKey: (key) => assert.deepEqual(key, keys.staticKey.publicKey),
      },
      () => Promise.resolve(),
    );
    assert.deepEqual(rooms.map((r) => r.name), ["a", "b", "c"]);
    assert.deepEqual(seen, ["first", "429", "b"]);
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
});
