/**
 * The server's side of one sealed TCRP exchange (docs/protocol.md section
 * 6.1), without I/O: the state-0 frame in, Noise message 2 out (state 1),
 * the state-3 frame opened into a request, the handshake's outcome sealed
 * into the state-4 answer. The transport (tcp_front.ts) reads, writes and
 * keeps the time.
 *
 * Each exchange has a fresh responder ephemeral key, so a state-3 frame
 * recorded from another connection never opens here: a replayed transcript
 * gets as far as message 2 and no further.
 *
 * @module
 */
import { sameBytes } from "../protocol/bytes.ts";
import { NoiseNxResponder } from "../protocol/noise.ts";
import type { CryptoProvider, X25519KeyPair } from "../protocol/sealed_types.ts";
import {
  decodeSealedRequest,
  encodeEarlyRefusal,
  encodeSealedAnswer,
  SEALED_HELLO_BYTES,
  type SealedAnswer,
  sealedPrologue,
} from "../protocol/sealed_tcrp.ts";
import { ProtocolError } from "../protocol/errors.ts";
import {
  encodeTcrpFrame,
  type Refusal,
  type SealedOperation,
  SealedState,
  type TcrpFrame,
  type TcrpRequest,
} from "../protocol/tcrp.ts";
import type { HandshakeOutcome } from "./handshake.ts";

/** What every sealed exchange of a server shares. */
export interface SealedServerKeys {
  /** The server's long-term X25519 key pair (its identity; clients pin the public half). */
  staticKey: X25519KeyPair;
  crypto: CryptoProvider;
  /** The per-process Ed25519 public key that signs room datagrams (sent in every admission). */
  signingKey: Uint8Array;
}

/**
 * A state-3 frame this exchange cannot answer: the wrong operation, state or
 * room, or a ciphertext that does not open. The connection closes without
 * an answer (a replay or a tampered frame learns nothing), and it is counted.
 */
export class UnanswerableFrame extends Error {
  /** Says what was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "UnanswerableFrame";
  }
}

/** One sealed exchange, server side. */
export class SealedResponder {
  #keys: SealedServerKeys;
  #operation: SealedOperation;
  #roomName: Uint8Array;
  #noise: NoiseNxResponder;
  #cipher: ReturnType<NoiseNxResponder["split"]> | null = null;

  /**
   * Takes the client's state-0 frame of a sealed operation. A frame that is
   * not state 0 or whose payload is not Noise message 1 (32 bytes) is a 400
   * {@linkcode ProtocolError}, answered with a plain state-2 refusal.
   */
  constructor(keys: SealedServerKeys, hello: TcrpFrame & { operation: SealedOperation }) {
    if (hello.state !== SealedState.HELLO) {
      throw new ProtocolError(`a sealed exchange starts with state 0, got ${hello.state}`);
    }
    if (hello.payload.length !== SEALED_HELLO_BYTES) {
      throw new ProtocolError(
        `a sealed state-0 payload is ${SEALED_HELLO_BYTES} bytes, got ${hello.payload.length}`,
      );
    }
    this.#keys = keys;
    this.#operation = hello.operation;
    this.#roomName = hello.roomName;
    const header = encodeTcrpFrame(hello).subarray(0, 32);
    this.#noise = new NoiseNxResponder(
      keys.crypto,
      sealedPrologue(header, hello.roomName),
      keys.staticKey,
    );
    this.#noise.readMessage1(hello.payload);
  }

  /**
   * The state-1 frame: Noise message 2, which proves the static key and
   * starts the transport ciphers. Throws when the client's ephemeral key is
   * unusable (a low-order point).
   */
  serverHello(): Uint8Array {
    const message = this.#noise.writeMessage2();
    this.#cipher = this.#noise.split();
    return this.#frame(SealedState.SERVER_HELLO, message);
  }

  /**
   * Opens the client's state-3 frame into its request. The wrong frame, or a
   * ciphertext that does not open, throws {@linkcode UnanswerableFrame}; a
   * plaintext that is not a valid request throws a 400
   * {@linkcode ProtocolError}, to be answered sealed.
   */
  openRequest(frame: TcrpFrame): TcrpRequest {
    if (this.#cipher === null) throw new Error("serverHello() comes first");
    if (frame.operation !== this.#operation || frame.state !== SealedState.REQUEST) {
      throw new UnanswerableFrame(
        `expected operation ${this.#operation} state 3, got ${frame.operation} state ${frame.state}`,
      );
    }
    if (!sameBytes(frame.roomName, this.#roomName)) {
      throw new UnanswerableFrame("the state-3 frame names another room than state 0");
    }
    let plaintext: Uint8Array;
    try {
      plaintext = this.#cipher.receive.decrypt(frame.payload);
    } catch {
      throw new UnanswerableFrame("the sealed request did not decrypt");
    }
    return decodeSealedRequest(this.#operation, this.#roomName, plaintext);
  }

  /** The state-4 frame: the handshake's outcome, sealed. */
  answer(outcome: HandshakeOutcome): Uint8Array {
    if (this.#cipher === null) throw new Error("serverHello() comes first");
    const answer = sealedAnswerOf(outcome, this.#keys.signingKey);
    return this.#frame(SealedState.ANSWER, this.#cipher.send.encrypt(encodeSealedAnswer(answer)));
  }

  #frame(state: SealedState, payload: Uint8Array): Uint8Array {
    return encodeTcrpFrame({
      operation: this.#operation,
      state,
      roomName: this.#roomName,
      payload,
    });
  }
}

/**
 * A plain state-2 refusal of a sealed operation, sent before any key work
 * (400, 413, 429, 503). It echoes the operation and the room name given.
 */
export function earlyRefusalFrame(
  operation: SealedOperation,
  roomName: Uint8Array,
  refusal: Refusal,
): Uint8Array {
  return encodeTcrpFrame({
    operation,
    state: SealedState.REFUSED,
    roomName,
    payload: encodeEarlyRefusal(refusal),
  });
}

function sealedAnswerOf(outcome: HandshakeOutcome, signingKey: Uint8Array): SealedAnswer {
  switch (outcome.kind) {
    case "refused":
      return outcome;
    case "rooms":
      return { kind: "rooms", list: { status: 200, rooms: outcome.rooms, next: outcome.next } };
    case "admitted": {
      const { session } = outcome;
      if (session === undefined) throw new Error("a sealed admission without a session");
      return {
        kind: "admitted",
        accepted: outcome.accepted,
        session: {
          sessionId: session.sessionId,
          clientKey: session.clientKey,
          serverKey: session.serverKey,
          resetToken: session.resetToken,
          signingKey,
          passwordProtected: outcome.room.passwordProtected,
          host: outcome.room.host,
        },
      };
    }
  }
}
