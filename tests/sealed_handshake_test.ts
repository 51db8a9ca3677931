/**
 * Sealed TCRP end to end over loopback sockets: a real server, the real
 * client calls. Rooms keep the mode they were made in, plain requests can be
 * turned away, a key that is not trusted stops the client before its
 * request, and a replayed transcript creates nothing. The limits are in
 * sealed_handshake_limits_test.ts.
 */
import { concatBytes } from "../protocol/bytes.ts";
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { ChatRefusedError } from "../client/errors.ts";
import { sealedRoomExchange } from "../client/sealed_exchange.ts";
import {
  requestMembership,
  requestRoomList,
  requestSealedMembership,
  requestSealedRoomList,
} from "../client/tcrp_client.ts";
import { ServerKeyMismatchError } from "../protocol/sealed_types.ts";
import { SealedState } from "../protocol/tcrp.ts";
import { PLAINTEXT_REFUSAL } from "../server/handshake.ts";
import { tcrpRequest } from "../testing/raw_client.ts";
import { ask, recordingStream, server, trusting, withServer } from "../testing/sealed_tcrp.ts";
import { waitUntil } from "../testing/wait.ts";

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
      const replay = await tcrpRequest(s.tcpAddr, concatBytes(...transcript), { timeoutMs: 3_000 });
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
    const replay = await tcrpRequest(s.tcpAddr, concatBytes(...creating.written), {
      timeoutMs: 3_000,
    });
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
