/**
 * The client's sealed exchange against a scripted server that does odd
 * things: the wrong key, garbage for message 2, plain refusals, a frame
 * changed on the way, another connection's answers. In each, what the
 * client wrote is checked: nothing after state 0 unless the handshake
 * verified and the key check passed.
 */
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { encodeUtf8 } from "../protocol/bytes.ts";
import { NoiseNxResponder } from "../protocol/noise.ts";
import {
  encodeEarlyRefusal,
  encodeSealedAnswer,
  type SealedAnswer,
  sealedPrologue,
} from "../protocol/sealed_tcrp.ts";
import { ServerKeyMismatchError, type X25519KeyPair } from "../protocol/sealed_types.ts";
import {
  encodeTcrpFrame,
  encodeTcrpResponse,
  Operation,
  type RoomRequest,
  SealedState,
  TCRP_HEADER_BYTES,
  type TcrpFrame,
  TcrpFrameParser,
} from "../protocol/tcrp.ts";
import { ChatRefusedError, ChatTransportError } from "./errors.ts";
import {
  type FrameStream,
  type SealedExchangeOptions,
  sealedListExchange,
  sealedRoomExchange,
} from "./sealed_exchange.ts";
import { SEALED_ACCEPTED, sealedSessionFixture } from "./fake_sealed_server_test_util.ts";

const SERVER_KEY: X25519KeyPair = nodeCrypto.x25519KeyPair();

const ACCEPTED = SEALED_ACCEPTED;
const SESSION = sealedSessionFixture(true);

const JOIN: RoomRequest = {
  operation: Operation.JOIN_ROOM,
  roomName: "vault",
  username: "bob",
  password: "s3cret",
  capacity: null,
  protocol: 2,
};

/** What a scripted server does with each client frame it gets: the frames it answers with. */
type Script = (frame: TcrpFrame, index: number) => Uint8Array[];

/** An in-memory connection to a scripted server; records every client frame. */
class ScriptedStream implements FrameStream {
  readonly written: TcrpFrame[] = [];
  #parser = new TcrpFrameParser({ maxPayloadBytes: 1 << 20 });
  #toClient = new TcrpFrameParser({ maxPayloadBytes: 1 << 20 });
  #pending: TcrpFrame[] = [];
  #script: Script;

  constructor(script: Script) {
    this.#script = script;
  }

  write(bytes: Uint8Array): Promise<void> {
    for (const frame of this.#parser.push(bytes)) {
      const index = this.written.push(frame) - 1;
      for (const out of this.#script(frame, index)) this.#pending.push(...this.#toClient.push(out));
    }
    return Promise.resolve();
  }

  read(): Promise<TcrpFrame | null> {
    return Promise.resolve(this.#pending.shift() ?? null);
  }

  /** The states the client wrote, in order. */
  get states(): number[] {
    return this.written.map((frame) => frame.state);
  }
}

/**
 * A correct sealed server for one connection; `answer` decides state 4 from
 * the request's plaintext. `tamper` changes the client's state 0 before the
 * server sees it (a man in the middle), and the server's frames are given
 * back the client's operation and room, so only the cryptography can tell.
 */
function honestServer(
  answer: (plaintext: string) => SealedAnswer,
  options: { key?: X25519KeyPair; tamper?: (frame: TcrpFrame) => TcrpFrame } = {},
): Script {
  let noise: NoiseNxResponder;
  let cipher: ReturnType<NoiseNxResponder["split"]>;
  return (sent, index) => {
    const frame = index === 0 && options.tamper ? options.tamper(sent) : sent;
    const reply = (state: number, payload: Uint8Array) =>
      encodeTcrpFrame({
        operation: sent.operation,
        state: state as SealedState,
        roomName: sent.roomName,
        payload,
      });
    if (index === 0) {
      const header = encodeTcrpFrame(frame).subarray(0, TCRP_HEADER_BYTES);
      noise = new NoiseNxResponder(
        nodeCrypto,
        sealedPrologue(header, frame.roomName),
        options.key ?? SERVER_KEY,
      );
      noise.readMessage1(frame.payload);
      const message2 = noise.writeMessage2();
      cipher = noise.split();
      return [reply(SealedState.SERVER_HELLO, message2)];
    }
    const plaintext = new TextDecoder().decode(cipher.receive.decrypt(frame.payload));
    const sealed = cipher.send.encrypt(encodeSealedAnswer(answer(plaintext)));
    return [reply(SealedState.ANSWER, sealed)];
  };
}

const admit = (): SealedAnswer => ({ kind: "admitted", accepted: ACCEPTED, session: SESSION });

/** Options whose key check records what it was shown and when. */
function checking(stream: () => ScriptedStream, verdict: (key: Uint8Array) => void = () => {}) {
  const checks: { key: Uint8Array; framesWritten: number }[] = [];
  const options: SealedExchangeOptions = {
    crypto: nodeCrypto,
    checkServerKey: (key) => {
      checks.push({ key, framesWritten: stream().written.length });
      verdict(key);
    },
  };
  return { checks, options };
}

Deno.test("sealed exchange: join; the key is checked after state 0 and before state 3; the request is padded", async () => {
  const plaintexts: string[] = [];
  const stream = new ScriptedStream(honestServer((text) => {
    plaintexts.push(text);
    return admit();
  }));
  const { checks, options } = checking(() => stream);
  const membership = await sealedRoomExchange(stream, JOIN, options);
  assert.deepEqual(membership.accepted, ACCEPTED);
  assert.deepEqual(membership.session, { ...SESSION, serverStaticKey: SERVER_KEY.publicKey });
  assert.equal(checks.length, 1);
  assert.deepEqual(checks[0]!.key, SERVER_KEY.publicKey);
  assert.equal(checks[0]!.framesWritten, 1, "only state 0 was out when the key was checked");
  assert.deepEqual(stream.states, [SealedState.HELLO, SealedState.REQUEST]);
  assert.equal(stream.written[0]!.operation, Operation.SEALED_JOIN_ROOM);
  assert.equal(stream.written[0]!.payload.length, 32);
  assert.equal(stream.written[1]!.payload.length, 256 + 16, "one 256-byte step and the tag");
  assert.deepEqual(JSON.parse(plaintexts[0]!), {
    username: "bob",
    password: "s3cret",
    protocol: 2,
  });
  assert.match(plaintexts[0]!, / {200}$/);
});

Deno.test("sealed exchange: the state-3 size does not follow the password's length", async () => {
  const sizes = new Set<number>();
  for (const password of ["", "a", "x".repeat(100), "y".repeat(180)]) {
    const stream = new ScriptedStream(honestServer(admit));
    await sealedRoomExchange(stream, { ...JOIN, password }, checking(() => stream).options);
    sizes.add(stream.written[1]!.payload.length);
  }
  assert.deepEqual([...sizes], [272]);
});

Deno.test("sealed exchange: a pinned key that differs stops it before anything secret is sent", async () => {
  const stream = new ScriptedStream(honestServer(admit, { key: nodeCrypto.x25519KeyPair() }));
  const { options } = checking(() => stream, (key) => {
    throw new ServerKeyMismatchError(SERVER_KEY.publicKey, key, "the server's key changed");
  });
  await assert.rejects(
    sealedRoomExchange(stream, JOIN, options),
    (error: unknown) => error instanceof ServerKeyMismatchError,
  );
  assert.deepEqual(stream.states, [SealedState.HELLO], "no state 3");
});

Deno.test("sealed exchange: garbage for message 2, or the wrong size, stops it before state 3", async () => {
  for (const payload of [nodeCrypto.randomBytes(96), new Uint8Array(96), new Uint8Array(95)]) {
    const stream = new ScriptedStream((frame) => [
      encodeTcrpFrame({ ...frame, state: SealedState.SERVER_HELLO, payload }),
    ]);
    const { checks, options } = checking(() => stream);
    await assert.rejects(sealedRoomExchange(stream, JOIN, options), (error: unknown) => {
      assert(error instanceof ChatTransportError, String(error));
      assert.equal(error.status, undefined);
      return true;
    });
    assert.equal(checks.length, 0, "no key to check");
    assert.deepEqual(stream.states, [SealedState.HELLO]);
  }
});

Deno.test("sealed exchange: a plain refusal before the handshake is a retryable transport error with its status", async () => {
  const room = encodeUtf8("vault");
  const cases: [Uint8Array, number][] = [
    // The gate: a plain state-1 refusal with operation 3, sent before reading anything.
    [
      encodeTcrpResponse(Operation.LIST_ROOMS, new Uint8Array(0), {
        status: 503,
        error: "the server has too many connections open",
      }),
      503,
    ],
    // The request rate: a state-2 refusal of our operation.
    [
      encodeTcrpFrame({
        operation: Operation.SEALED_JOIN_ROOM,
        state: SealedState.REFUSED,
        roomName: room,
        payload: encodeEarlyRefusal({ status: 429, error: "too many requests" }),
      }),
      429,
    ],
  ];
  for (const [refusal, status] of cases) {
    const stream = new ScriptedStream(() => [refusal]);
    await assert.rejects(sealedRoomExchange(stream, JOIN, checking(() => stream).options), (
      error: unknown,
    ) => {
      assert(error instanceof ChatTransportError, String(error));
      assert(!(error instanceof ChatRefusedError));
      assert.equal(error.status, status);
      return true;
    });
    assert.deepEqual(stream.states, [SealedState.HELLO]);
  }
});

Deno.test("sealed exchange: a plain success, a state-2 401, or a plain 401 in place of message 2 stop it", async () => {
  const room = encodeUtf8("vault");
  const odd = [
    encodeTcrpResponse(Operation.JOIN_ROOM, room, ACCEPTED),
    encodeTcrpFrame({
      operation: Operation.SEALED_JOIN_ROOM,
      state: SealedState.REFUSED,
      roomName: room,
      payload: encodeUtf8('{"status":401,"error":"wrong password"}'),
    }),
    encodeTcrpFrame({
      operation: Operation.SEALED_CREATE_ROOM,
      state: SealedState.SERVER_HELLO,
      roomName: room,
      payload: new Uint8Array(96),
    }),
  ];
  for (const frame of odd) {
    const stream = new ScriptedStream(() => [frame]);
    await assert.rejects(
      sealedRoomExchange(stream, JOIN, checking(() => stream).options),
      (error: unknown) => error instanceof ChatTransportError && error.status === undefined,
    );
    assert.deepEqual(stream.states, [SealedState.HELLO]);
  }
  // A plain 401 (not a status the gate sends) is still only a transport failure, with its status.
  const stream = new ScriptedStream(() => [
    encodeTcrpResponse(Operation.JOIN_ROOM, room, { status: 401, error: "wrong password" }),
  ]);
  await assert.rejects(
    sealedRoomExchange(stream, JOIN, checking(() => stream).options),
    (error: unknown) => error instanceof ChatTransportError && error.status === 401,
  );
});

Deno.test("sealed exchange: a header or room changed on the way makes message 2 fail; nothing secret goes out", async () => {
  const tampers: ((frame: TcrpFrame) => TcrpFrame)[] = [
    (frame) => ({ ...frame, operation: Operation.SEALED_CREATE_ROOM }),
    (frame) => ({ ...frame, roomName: encodeUtf8("Vault") }),
    (frame) => ({ ...frame, roomName: encodeUtf8("other") }),
  ];
  for (const tamper of tampers) {
    const stream = new ScriptedStream(honestServer(admit, { tamper }));
    const { checks, options } = checking(() => stream);
    await assert.rejects(
      sealedRoomExchange(stream, JOIN, options),
      (error: unknown) =>
        error instanceof ChatTransportError && /did not verify/.test(error.message),
    );
    assert.equal(checks.length, 0);
    assert.deepEqual(stream.states, [SealedState.HELLO]);
  }
});

Deno.test("sealed exchange: another connection's server frames, replayed, do not verify", async () => {
  const recorded: Uint8Array[] = [];
  const server = honestServer(admit);
  const first = new ScriptedStream((frame, index) => {
    const out = server(frame, index);
    recorded.push(...out);
    return out;
  });
  await sealedRoomExchange(first, JOIN, checking(() => first).options);
  assert.equal(recorded.length, 2);
  const replay = new ScriptedStream(() => recorded);
  const { checks, options } = checking(() => replay);
  await assert.rejects(sealedRoomExchange(replay, JOIN, options), ChatTransportError);
  assert.equal(checks.length, 0);
  assert.deepEqual(replay.states, [SealedState.HELLO]);
});

Deno.test("sealed exchange: a sealed refusal is final (ChatRefusedError); a bad sealed answer is a transport error", async () => {
  const refusing = new ScriptedStream(
    honestServer(() => ({ kind: "refused", refusal: { status: 401, error: "wrong password" } })),
  );
  await assert.rejects(
    sealedRoomExchange(refusing, JOIN, checking(() => refusing).options),
    (error: unknown) =>
      error instanceof ChatRefusedError && error.status === 401 &&
      error.message === "wrong password",
  );
  // A state-4 that does not open.
  const good = honestServer(admit);
  const garbled = new ScriptedStream((frame, index) =>
    good(frame, index).map((bytes) => {
      if (index === 0) return bytes;
      const copy = bytes.slice();
      copy[copy.length - 1]! ^= 1;
      return copy;
    })
  );
  await assert.rejects(
    sealedRoomExchange(garbled, JOIN, checking(() => garbled).options),
    (error: unknown) => error instanceof ChatTransportError && /did not open/.test(error.message),
  );
  // The server closes instead of answering.
  const closing = new ScriptedStream((frame, index) => index === 0 ? good(frame, 0) : []);
  await assert.rejects(
    sealedRoomExchange(closing, JOIN, checking(() => closing).options),
    (error: unknown) => error instanceof ChatTransportError && /closed/.test(error.message),
  );
});

Deno.test("sealed exchange: a room list, each row with its mode", async () => {
  const rooms = [
    { name: "lobby", members: 2, capacity: null, passwordProtected: false, sealed: false },
    { name: "vault", members: 1, capacity: 4, passwordProtected: true, sealed: true },
  ];
  const requests: string[] = [];
  const stream = new ScriptedStream(honestServer((text) => {
    requests.push(text.trimEnd());
    return { kind: "rooms", list: { status: 200, rooms, next: null } };
  }));
  const { list, bytes } = await sealedListExchange(
    stream,
    { operation: Operation.LIST_ROOMS, cursor: "a" },
    checking(() => stream).options,
  );
  assert.deepEqual(list.rooms, rooms);
  assert(bytes > 0);
  assert.deepEqual(requests, ['{"cursor":"a"}']);
  assert.equal(stream.written[0]!.operation, Operation.SEALED_LIST_ROOMS);
  assert.equal(stream.written[0]!.roomName.length, 0);
});
