/**
 * The server's side of a sealed exchange, without sockets: the real client
 * exchange talks to a SealedResponder through memory, and a recorded client
 * transcript is replayed against a fresh responder.
 */
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { type FrameStream, sealedRoomExchange } from "../client/sealed_exchange.ts";
import { ChatRefusedError } from "../client/errors.ts";
import { encodeUtf8 } from "../protocol/bytes.ts";
import { ProtocolError } from "../protocol/errors.ts";
import { NoiseNxInitiator } from "../protocol/noise.ts";
import { padSealedRequest, sealedHelloHeader, sealedPrologue } from "../protocol/sealed_tcrp.ts";
import {
  encodeTcrpFrame,
  Operation,
  type RoomRequest,
  type SealedOperation,
  SealedState,
  type TcrpFrame,
  TcrpFrameParser,
  type TcrpRequest,
} from "../protocol/tcrp.ts";
import type { HandshakeOutcome } from "./handshake.ts";
import { SealedResponder, type SealedServerKeys, UnanswerableFrame } from "./sealed_responder.ts";

const KEYS: SealedServerKeys = {
  staticKey: nodeCrypto.x25519KeyPair(),
  crypto: nodeCrypto,
  signingKey: new Uint8Array(32).fill(9),
};

const ADMITTED: HandshakeOutcome = {
  kind: "admitted",
  accepted: {
    status: 200,
    udpPort: 9002,
    maxDatagramBytes: 4096,
    heartbeatSeconds: 10,
    idleTimeoutSeconds: 300,
  },
  token: new Uint8Array(32),
  room: { host: "ann", passwordProtected: false },
  session: {
    sessionId: new Uint8Array(8).fill(1),
    clientKey: new Uint8Array(32).fill(2),
    serverKey: new Uint8Array(32).fill(3),
    resetToken: new Uint8Array(16).fill(4),
  },
};

const CREATE: RoomRequest = {
  operation: Operation.CREATE_ROOM,
  roomName: "vault",
  username: "ann",
  password: "s3cret",
  capacity: 5,
  protocol: 2,
};

type Hello = TcrpFrame & { operation: SealedOperation };

/**
 * Runs the client's exchange against a responder through memory; returns
 * what the responder decoded, the client's result, and the client's frames.
 */
function converse(outcome: (request: TcrpRequest) => HandshakeOutcome) {
  const clientFrames: Uint8Array[] = [];
  const requests: TcrpRequest[] = [];
  const toServer = new TcrpFrameParser({ maxPayloadBytes: 1 << 16 });
  const toClient = new TcrpFrameParser({ maxPayloadBytes: 1 << 16 });
  const pending: TcrpFrame[] = [];
  let responder: SealedResponder;
  const stream: FrameStream = {
    write(bytes) {
      clientFrames.push(bytes);
      for (const frame of toServer.push(bytes)) {
        if (frame.state === SealedState.HELLO) {
          responder = new SealedResponder(KEYS, frame as Hello);
          pending.push(...toClient.push(responder.serverHello()));
        } else {
          const request = responder.openRequest(frame);
          requests.push(request);
          pending.push(...toClient.push(responder.answer(outcome(request))));
        }
      }
      return Promise.resolve();
    },
    read: () => Promise.resolve(pending.shift() ?? null),
  };
  const result = sealedRoomExchange(stream, CREATE, {
    crypto: nodeCrypto,
    checkServerKey: () => {},
  });
  return { result, requests, clientFrames };
}

function parse(bytes: Uint8Array): TcrpFrame {
  const [frame] = new TcrpFrameParser({ maxPayloadBytes: 1 << 16 }).push(bytes);
  return frame!;
}

Deno.test("sealed responder: the client's request arrives whole; the admission carries the session, signing key, host and lock", async () => {
  const { result, requests } = converse(() => ADMITTED);
  const membership = await result;
  assert.deepEqual(requests, [CREATE]);
  assert.deepEqual(membership.session, {
    ...ADMITTED.kind === "admitted" ? ADMITTED.session! : ({} as never),
    signingKey: KEYS.signingKey,
    passwordProtected: false,
    host: "ann",
    serverStaticKey: KEYS.staticKey.publicKey,
  });
});

Deno.test("sealed responder: a refusal goes back sealed", async () => {
  const { result } = converse(() => ({
    kind: "refused",
    refusal: { status: 409, error: 'room "vault" already exists' },
  }));
  await assert.rejects(
    result,
    (error: unknown) => error instanceof ChatRefusedError && error.status === 409,
  );
});

Deno.test("sealed responder: a replayed client transcript gets message 2 and nothing more", async () => {
  const { result, clientFrames } = converse(() => ADMITTED);
  await result;
  assert.equal(clientFrames.length, 2);
  const [hello, request] = clientFrames.map(parse);
  // The same two frames on a new connection: a fresh responder ephemeral key.
  const replayed = new SealedResponder(KEYS, hello as Hello);
  assert.equal(parse(replayed.serverHello()).state, SealedState.SERVER_HELLO);
  assert.throws(() => replayed.openRequest(request!), UnanswerableFrame);
  // Nor does the state 3 open under a fresh exchange started by anyone else.
  assert.throws(() => replayed.openRequest(request!), UnanswerableFrame);
});

Deno.test("sealed responder: state 0 must be Noise message 1; state 3 must match state 0", async () => {
  const { result, clientFrames } = converse(() => ADMITTED);
  await result;
  const hello = parse(clientFrames[0]!) as Hello;
  const bad = (frame: Hello) =>
    assert.throws(() => new SealedResponder(KEYS, frame), (error: unknown) => {
      assert(error instanceof ProtocolError && error.status === 400, String(error));
      return true;
    });
  bad({ ...hello, payload: hello.payload.subarray(1) });
  bad({ ...hello, payload: new Uint8Array(33) });
  bad({ ...hello, state: SealedState.REQUEST });
  const responder = new SealedResponder(KEYS, hello);
  responder.serverHello();
  const request = parse(clientFrames[1]!);
  for (
    const wrong of [
      { ...request, operation: Operation.SEALED_JOIN_ROOM },
      { ...request, state: SealedState.ANSWER },
      { ...request, roomName: encodeUtf8("other") },
    ]
  ) {
    assert.throws(() => responder.openRequest(wrong), UnanswerableFrame);
  }
});

Deno.test("sealed responder: a plaintext that is not a padded request is a 400 to answer sealed", () => {
  // A client of our own making: the right handshake, then bad plaintexts.
  for (
    const plaintext of [
      encodeUtf8('{"username":"ann"}'),
      padSealedRequest(encodeUtf8('{"username":3}')),
      padSealedRequest(encodeUtf8("[]")),
    ]
  ) {
    const room = encodeUtf8("vault");
    const op = Operation.SEALED_CREATE_ROOM;
    const noise = new NoiseNxInitiator(
      nodeCrypto,
      sealedPrologue(sealedHelloHeader(op, room), room),
    );
    const hello = parse(
      encodeTcrpFrame({
        operation: op,
        state: SealedState.HELLO,
        roomName: room,
        payload: noise.writeMessage1(),
      }),
    ) as Hello;
    const responder = new SealedResponder(KEYS, hello);
    noise.readMessage2(parse(responder.serverHello()).payload);
    const cipher = noise.split();
    const frame = {
      operation: op,
      state: SealedState.REQUEST,
      roomName: room,
      payload: cipher.send.encrypt(plaintext),
    };
    assert.throws(() => responder.openRequest(frame), (error: unknown) => {
      assert(error instanceof ProtocolError && error.status === 400, String(error));
      return true;
    });
  }
});
