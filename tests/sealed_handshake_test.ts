/**
 * Sealed TCRP end to end over loopback sockets: a real server, the real
 * client calls. Rooms keep the mode they were made in, plain requests can be
 * turned away, a key that is not trusted stops the client before its
 * request, a replayed transcript creates nothing, and the request timeout
 * covers both client frames.
 */
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { ChatRefusedError, ChatTransportError } from "../client/errors.ts";
import { type FrameStream, sealedRoomExchange } from "../client/sealed_exchange.ts";
import {
  requestMembership,
  requestRoomList,
  requestSealedMembership,
  requestSealedRoomList,
} from "../client/tcrp_client.ts";
import { encodeUtf8 } from "../protocol/bytes.ts";
import { NoiseNxInitiator } from "../protocol/noise.ts";
import { sealedHelloHeader, sealedPrologue } from "../protocol/sealed_tcrp.ts";
import { ServerKeyMismatchError } from "../protocol/sealed_types.ts";
import {
  encodeTcrpFrame,
  Operation,
  type RoomRequest,
  SealedState,
  type TcrpFrame,
  TcrpFrameParser,
} from "../protocol/tcrp.ts";
import { PLAINTEXT_REFUSAL } from "../server/handshake.ts";
import { tcrpRequest } from "../testing/raw_client.ts";
import { errorLines, startTestServer, type TestServer } from "../testing/test_server.ts";
import { waitUntil } from "../testing/wait.ts";

const server = (s: TestServer) => ({ hostname: s.tcpAddr.hostname, port: s.tcpAddr.port });

/** Trusts exactly the test server's key, as a pin would. */
function trusting(s: TestServer) {
  return {
    crypto: nodeCrypto,
    checkServerKey: (key: Uint8Array) => {
      if (!sameBytes(key, s.staticPublicKey)) {
        throw new ServerKeyMismatchError(s.staticPublicKey, key, "the server's key changed");
      }
    },
    timeoutMs: 5_000,
  };
}

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);

function ask(
  operation: "create" | "join",
  roomName: string,
  username: string,
  password: string | null = null,
): RoomRequest {
  return {
    operation: operation === "create" ? Operation.CREATE_ROOM : Operation.JOIN_ROOM,
    roomName,
    username,
    password,
    capacity: null,
    protocol: 2,
  };
}

/** A real connection as a FrameStream that also keeps every byte the client wrote. */
async function recordingStream(s: TestServer) {
  const conn = await Deno.connect({ hostname: s.tcpAddr.hostname, port: s.tcpAddr.port });
  const written: Uint8Array[] = [];
  const parser = new TcrpFrameParser({ maxPayloadBytes: 1 << 20 });
  const frames: TcrpFrame[] = [];
  const buffer = new Uint8Array(16 * 1024);
  const stream: FrameStream = {
    async write(bytes) {
      written.push(bytes.slice());
      let n = 0;
      while (n < bytes.length) n += await conn.write(bytes.subarray(n));
    },
    async read() {
      while (frames.length === 0) {
        const n = await conn.read(buffer);
        if (n === null) return null;
        frames.push(...parser.push(buffer.subarray(0, n)));
      }
      return frames.shift()!;
    },
  };
  return { stream, written, close: () => conn.close() };
}

async function withServer(
  overrides: Parameters<typeof startTestServer>[0],
  run: (s: TestServer) => Promise<void>,
  hooks: Parameters<typeof startTestServer>[1] = {},
): Promise<void> {
  const s = startTestServer(overrides, { passwords: cheapPasswords, ...hooks });
  try {
    await run(s);
    assert.deepEqual(errorLines(s), []);
  } finally {
    await s.shutdown();
  }
}

/** Password hashing without scrypt's cost (the handshake's rules do not depend on it). */
const cheapPasswords = {
  hash: (password: string) =>
    Promise.resolve({ salt: new Uint8Array(16), hash: encodeUtf8(password) }),
  verify: (password: string, record: { hash: Uint8Array }) =>
    Promise.resolve(sameBytes(encodeUtf8(password), record.hash)),
};

Deno.test("sealed TCRP: create, join with a password, list with modes; plain and sealed rooms keep apart", async () => {
  await withServer({}, async (s) => {
    const options = trusting(s);
    const created = await requestSealedMembership(
      server(s),
      ask("create", "vault", "ann", "s3cret"),
      options,
    );
    assert.equal(created.accepted.udpPort, s.udpAddr.port);
    assert.deepEqual(created.session.serverStaticKey, s.staticPublicKey);
    assert.equal(created.session.host, "ann");
    assert.equal(created.session.passwordProtected, true);
    assert.equal(created.session.sessionId.length, 8);
    assert.equal(created.localHostname, "127.0.0.1");
    const joined = await requestSealedMembership(
      server(s),
      ask("join", "vault", "bob", "s3cret"),
      options,
    );
    assert.equal(joined.session.host, "ann");
    assert.notDeepEqual(joined.session.clientKey, created.session.clientKey);
    await assert.rejects(
      requestSealedMembership(server(s), ask("join", "vault", "eve", "guess"), options),
      (error: unknown) => error instanceof ChatRefusedError && error.status === 401,
    );
    // Plain ones, allowed on this server: a plain room, and no way into the sealed one.
    await requestMembership(server(s), ask("create", "lobby", "cid"));
    await assert.rejects(
      requestMembership(server(s), ask("join", "vault", "dan", "s3cret")),
      (error: unknown) =>
        error instanceof ChatRefusedError && error.status === 403 &&
        /sealed sessions only/.test(error.message),
    );
    await assert.rejects(
      requestSealedMembership(server(s), ask("join", "lobby", "dan"), options),
      (error: unknown) => error instanceof ChatRefusedError && error.status === 403,
    );
    const modes = (rooms: { name: string; sealed?: boolean }[]) =>
      rooms.map((r) => [r.name, r.sealed]);
    const expected = [["lobby", false], ["vault", true]];
    assert.deepEqual(modes(await requestSealedRoomList(server(s), options)), expected);
    assert.deepEqual(modes(await requestRoomList(server(s))), expected, "the plain list too");
    assert.equal(s.registry.memberCount, 3);
  });
});

Deno.test("sealed TCRP: without allowPlaintext plain requests are refused, sealed ones served", async () => {
  await withServer({ allowPlaintext: false }, async (s) => {
    for (
      const call of [
        () => requestMembership(server(s), ask("create", "r", "ann")),
        () => requestRoomList(server(s)),
      ]
    ) {
      await assert.rejects(call(), (error: unknown) => {
        assert(error instanceof ChatRefusedError, String(error));
        assert.equal(error.status, 400);
        assert.equal(error.message, PLAINTEXT_REFUSAL);
        return true;
      });
    }
    assert.equal(s.registry.roomCount, 0);
    await requestSealedMembership(server(s), ask("create", "r", "ann"), trusting(s));
    assert.equal(s.registry.roomCount, 1);
  });
});

Deno.test("sealed TCRP: a key that is not trusted stops the client before its request; the server decides nothing", async () => {
  await withServer({}, async (s) => {
    const { stream, written, close } = await recordingStream(s);
    const pinned = nodeCrypto.x25519KeyPair().publicKey;
    try {
      await assert.rejects(
        sealedRoomExchange(stream, ask("create", "vault", "ann", "s3cret"), {
          crypto: nodeCrypto,
          checkServerKey: (key) => {
            throw new ServerKeyMismatchError(pinned, key, "changed");
          },
        }),
        ServerKeyMismatchError,
      );
    } finally {
      close();
    }
    assert.equal(written.length, 1, "only state 0 was written");
    const bytes = written[0]!;
    assert.equal(bytes[2], SealedState.HELLO);
    assert.equal(new TextDecoder().decode(bytes).includes("s3cret"), false);
    assert.equal(s.registry.roomCount, 0);
  });
});

Deno.test("sealed TCRP: a replayed transcript (state 0 and state 3 at once) gets message 2 and a close; no room, member, event or held name", async () => {
  await withServer({}, async (s) => {
    await requestSealedMembership(server(s), ask("create", "vault", "ann", "s3cret"), trusting(s));
    const joining = await recordingStream(s);
    try {
      await sealedRoomExchange(joining.stream, ask("join", "vault", "bob", "s3cret"), trusting(s));
    } finally {
      joining.close();
    }
    const creating = await recordingStream(s);
    try {
      await sealedRoomExchange(creating.stream, ask("create", "other", "cid"), trusting(s));
    } finally {
      creating.close();
    }
    assert.equal(s.registry.memberCount, 3);
    const before = s.registry.listRooms();
    for (const transcript of [joining.written, creating.written]) {
      assert.equal(transcript.length, 2);
      const replay = await tcrpRequest(s.tcpAddr, concat(transcript), { timeoutMs: 3_000 });
      // Had state 3 opened, a sealed answer (a 409 at least) would follow message 2.
      assert.deepEqual(replay.frames.map((f) => f.state), [SealedState.SERVER_HELLO]);
      assert.equal(replay.closedByServer, true);
    }
    assert.deepEqual(s.registry.listRooms(), before);
    assert.equal(s.registry.memberCount, 3);
    // Counted as bad requests (the abuse log writes the first of each kind per address).
    await waitUntil(
      () => s.logs.some((line) => line.includes("the sealed request did not decrypt")),
      "the replay counted",
    );
  });
});

Deno.test("sealed TCRP: a replay of a CREATE whose room has closed creates nothing and holds no name", async () => {
  const removed: string[] = [];
  await withServer({}, async (s) => {
    const creating = await recordingStream(s);
    try {
      await sealedRoomExchange(creating.stream, ask("create", "gone", "ann"), trusting(s));
    } finally {
      creating.close();
    }
    // The host never says HELLO: the sweep revokes it and the room closes.
    await waitUntil(() => s.registry.roomCount === 0, "the room closed", 5_000);
    assert.deepEqual(removed, ["gone/ann"]);
    const replay = await tcrpRequest(s.tcpAddr, concat(creating.written), { timeoutMs: 3_000 });
    assert.deepEqual(replay.frames.map((f) => f.state), [SealedState.SERVER_HELLO]);
    assert.equal(s.registry.roomCount, 0);
    assert.deepEqual(removed, ["gone/ann"]);
    // The name is not held either: a new CREATE of it goes through at once.
    await requestSealedMembership(server(s), ask("create", "gone", "bob"), trusting(s));
    assert.equal(s.registry.roomCount, 1);
  }, {
    helloTimeoutMs: 200,
    onRemoved: (member) => removed.push(`${member.room.name}/${member.name}`),
  });
});

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

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
