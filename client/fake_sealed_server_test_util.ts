/**
 * A scripted sealed server for session tests, built from the codecs
 * (`protocol/sealed_datagram.ts`) and a real crypto provider: it hands out
 * sealed session params, opens what the client sends (checking that no
 * counter repeats), and seals what the test injects the way the server
 * does: EVENTs on the room channel under the epoch key, signed; everything
 * else on the member channel. Tests also get the raw pieces (a rekey, a
 * reset, a forged signature, a datagram of an epoch not announced yet).
 */
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { encodeServerDatagram, type ServerBody } from "../protocol/datagram.ts";
import {
  decodeSealedClientBody,
  encodeKeyInner,
  encodePathChallengeInner,
  encodeResetDatagram,
  openMemberDatagram,
  peekSealedHeader,
  sealedWelcomeInner,
  sealMemberDatagram,
  sealRoomDatagram,
} from "../protocol/sealed_datagram.ts";
import type { Ed25519Signer, SealedSessionParams } from "../protocol/sealed_types.ts";
import type { JoinAccepted, RoomRequest } from "../protocol/tcrp.ts";
import {
  type FakeConnector,
  type FakeWire,
  type Harness,
  type HarnessOptions,
  withSession,
} from "./fake_network_test_util.ts";

/** The provider the fakes and the sessions under test use. */
export const TEST_CRYPTO = nodeCrypto;

/** A revision-2 JOIN answer, for scripted sealed exchanges. */
export const SEALED_ACCEPTED: JoinAccepted = {
  status: 200,
  udpPort: 9002,
  maxDatagramBytes: 4096,
  heartbeatSeconds: 10,
  idleTimeoutSeconds: 300,
  protocol: 2,
};

/** The session part of a scripted sealed answer (fixed bytes, host "ann"). */
export function sealedSessionFixture(
  passwordProtected: boolean,
): Omit<SealedSessionParams, "serverStaticKey"> {
  return {
    sessionId: new Uint8Array(8).fill(1),
    clientKey: new Uint8Array(32).fill(2),
    serverKey: new Uint8Array(32).fill(3),
    signingKey: new Uint8Array(32).fill(4),
    resetToken: new Uint8Array(16).fill(5),
    passwordProtected,
    host: "ann",
  };
}

/**
 * The server process: its static key (what a handshake proves), its signing
 * key, and what its answers say about the room. Tests change them to play
 * a restart (a new key file, a room someone else created).
 */
export class FakeSealedServer {
  /** The static public key the handshake proves. */
  staticKey: Uint8Array = TEST_CRYPTO.randomBytes(32);
  /** This process's Ed25519 key: room datagrams are signed with it. */
  signer: Ed25519Signer = TEST_CRYPTO.ed25519Signer();
  /** What the next answer says: null means "as the request had it" (a password was given). */
  passwordProtected: boolean | null = null;
  /** The room's host in the next answer. */
  host = "alice";
  /** Every connection's wire, in order. */
  readonly wires: FakeSealedWire[] = [];

  /** A new process after a restart: a new signing key (and, unless kept, a new static key). */
  restart(options: { keepKeyFile: boolean }): void {
    this.signer = TEST_CRYPTO.ed25519Signer();
    if (!options.keepKeyFile) this.staticKey = TEST_CRYPTO.randomBytes(32);
  }

  /** A sealed answer for connection `number` (its session id and keys are filled with it). */
  admit(
    number: number,
    request: RoomRequest,
  ): { params: SealedSessionParams; wire: FakeSealedWire } {
    const params: SealedSessionParams = {
      sessionId: new Uint8Array(8).fill(number),
      clientKey: TEST_CRYPTO.randomBytes(32),
      serverKey: TEST_CRYPTO.randomBytes(32),
      resetToken: TEST_CRYPTO.randomBytes(16),
      signingKey: this.signer.publicKey,
      passwordProtected: this.passwordProtected ?? (request.password ?? "") !== "",
      host: this.host,
      serverStaticKey: this.staticKey,
    };
    const wire = new FakeSealedWire(params, this.signer);
    this.wires.push(wire);
    return { params, wire };
  }
}

/** One sealed membership as the server sees it. */
export class FakeSealedWire implements FakeWire {
  readonly params: SealedSessionParams;
  #signer: Ed25519Signer;
  epoch = 1;
  epochKey: Uint8Array = TEST_CRYPTO.randomBytes(32);
  /** One room counter across epochs, as the server keeps it. */
  roomCounter = 0;
  memberCounter = 0;
  /** Every counter the client sent with, in order (none may repeat). */
  readonly clientCounters: number[] = [];

  constructor(params: SealedSessionParams, signer: Ed25519Signer) {
    this.params = params;
    this.#signer = signer;
  }

  fromClient(
    bytes: Uint8Array,
  ): { body: ReturnType<typeof decodeSealedClientBody>; tokenByte: number } {
    const header = peekSealedHeader(bytes);
    assert.equal(header.type, "member", "the client sends only member datagrams");
    if (header.type !== "member") throw new Error("unreachable");
    assert.deepEqual(header.sessionId, this.params.sessionId);
    assert.ok(!this.clientCounters.includes(header.counter), `counter ${header.counter} repeated`);
    this.clientCounters.push(header.counter);
    const inner = openMemberDatagram(TEST_CRYPTO, this.params.clientKey, bytes);
    assert.ok(inner !== null, "the client's datagram opens with its key");
    return { body: decodeSealedClientBody(inner), tokenByte: header.sessionId[0]! };
  }

  /** EVENTs on the room channel; WELCOME with the epoch key; the rest on the member channel. */
  toClient(body: ServerBody): Uint8Array {
    const plain = encodeServerDatagram(body);
    if (body.kind === "event") return this.room(plain);
    if (body.kind === "welcome") {
      return this.member(sealedWelcomeInner(plain, this.epoch, this.epochKey));
    }
    return this.member(plain);
  }

  /** A member datagram of `inner` under the next server counter (or `counter`). */
  member(inner: Uint8Array, counter = this.memberCounter++): Uint8Array {
    return sealMemberDatagram(TEST_CRYPTO, {
      key: this.params.serverKey,
      sessionId: this.params.sessionId,
      counter,
      inner,
    });
  }

  /** A room datagram of an EVENT's plain bytes, sealed and signed; options forge or vary it. */
  room(
    plainEvent: Uint8Array,
    options: { epoch?: number; key?: Uint8Array; signer?: Ed25519Signer; counter?: number } = {},
  ): Uint8Array {
    return sealRoomDatagram(TEST_CRYPTO, {
      key: options.key ?? this.epochKey,
      epoch: options.epoch ?? this.epoch,
      counter: options.counter ?? this.roomCounter++,
      inner: plainEvent,
      signer: options.signer ?? this.#signer,
    });
  }

  /** A new epoch with a fresh key; returns the KEY member datagram announcing it (not sent yet). */
  rekey(): Uint8Array {
    this.epoch++;
    this.epochKey = TEST_CRYPTO.randomBytes(32);
    return this.member(encodeKeyInner(this.epoch, this.epochKey));
  }

  /** HEARTBEAT_ACK with the room's head seq, on the member channel. */
  heartbeatAck(headSeq: number): Uint8Array {
    return this.member(encodeServerDatagram({ kind: "heartbeatAck", headSeq }));
  }

  /** PATH_CHALLENGE on the member channel. */
  pathChallenge(challenge: Uint8Array): Uint8Array {
    return this.member(encodePathChallengeInner(challenge));
  }

  /** A stateless reset for this session (with its token, unless told another). */
  reset(token: Uint8Array = this.params.resetToken): Uint8Array {
    return encodeResetDatagram(this.params.sessionId, token);
  }
}

/** withSession over a sealed server; `body` also gets the server and the first wire. */
export function withSealedSession(
  options: HarnessOptions,
  body: (h: Harness & { server: FakeSealedServer; wire: FakeSealedWire }) => Promise<void> | void,
): Promise<void> {
  const server = new FakeSealedServer();
  return withSession({
    ...options,
    session: { crypto: TEST_CRYPTO, ...options.session },
    network: (connector: FakeConnector) => {
      connector.sealed = server;
      options.network?.(connector);
    },
  }, (h) => body({ ...h, server, wire: server.wires[0]! }));
}
