/**
 * The client's side of one sealed TCRP exchange (docs/protocol.md section
 * 6.1), over whatever carries the frames (a TCP connection, a test script):
 * Noise message 1, the server's message 2, the server key check, and only
 * then the sealed request; one sealed answer comes back.
 *
 * Nothing secret leaves before the check: a server that proves another key,
 * answers in plain text, or sends anything the handshake does not verify
 * (a room or operation changed on the way) stops the exchange before the
 * request is written. A refusal that arrives before the handshake completes
 * is a retryable {@linkcode ChatTransportError} carrying its status (anyone
 * on the path could forge it); only a sealed refusal is a
 * {@linkcode ChatRefusedError}.
 *
 * Pure: no I/O of its own, so a browser can use it (issue 14).
 *
 * @module
 */
import { encodeUtf8 } from "../protocol/bytes.ts";
import { ProtocolError } from "../protocol/errors.ts";
import { NoiseNxInitiator } from "../protocol/noise.ts";
import {
  decodeEarlyRefusal,
  decodeSealedAnswer,
  encodeSealedRequest,
  SEALED_SERVER_HELLO_BYTES,
  type SealedAnswer,
  sealedHelloHeader,
  sealedPrologue,
} from "../protocol/sealed_tcrp.ts";
import type {
  CryptoProvider,
  SealedSessionParams,
  ServerKeyCheck,
  X25519KeyPair,
} from "../protocol/sealed_types.ts";
import {
  decodeTcrpResponse,
  encodeTcrpFrame,
  isPlainOperation,
  type JoinAccepted,
  type ListRequest,
  Operation,
  type RoomList,
  type RoomRequest,
  type SealedOperation,
  sealedOperationOf,
  SealedState,
  State,
  type TcrpFrame,
  type TcrpRequest,
} from "../protocol/tcrp.ts";
import { ChatRefusedError, ChatTransportError } from "./errors.ts";

/** Whole TCRP frames both ways: what the exchange runs over. */
export interface FrameStream {
  /** Writes bytes (one or more whole frames). */
  write(bytes: Uint8Array): Promise<void>;
  /** The next whole frame from the server, or null when it closed the stream. */
  read(): Promise<TcrpFrame | null>;
}

/** What a sealed exchange needs besides the request. */
export interface SealedExchangeOptions {
  crypto: CryptoProvider;
  /**
   * Judges the server's static key before anything secret is sent: it
   * resolves to go on (pinning a first contact), or throws (a
   * ServerKeyMismatchError), which the exchange passes on untouched.
   */
  checkServerKey: ServerKeyCheck;
  /** Our ephemeral key (tests fix it); default: a fresh one. */
  ephemeral?: X25519KeyPair;
}

/** A sealed CREATE or JOIN that succeeded: the plain settings and the sealed session. */
export interface SealedMembership {
  accepted: JoinAccepted;
  session: SealedSessionParams;
}

/** Creates or joins a room over a sealed exchange. */
export async function sealedRoomExchange(
  stream: FrameStream,
  request: RoomRequest,
  options: SealedExchangeOptions,
): Promise<SealedMembership> {
  const { answer, serverStaticKey } = await sealedExchange(stream, request, options);
  if (answer.kind !== "admitted") throw new ChatTransportError("the server answered out of turn");
  return { accepted: answer.accepted, session: { ...answer.session, serverStaticKey } };
}

/** One page of the room list over a sealed exchange; `bytes` is its sealed answer's size. */
export async function sealedListExchange(
  stream: FrameStream,
  request: ListRequest,
  options: SealedExchangeOptions,
): Promise<{ list: RoomList; bytes: number }> {
  const { answer, bytes } = await sealedExchange(stream, request, options);
  if (answer.kind !== "rooms") throw new ChatTransportError("the server answered out of turn");
  return { list: answer.list, bytes };
}

/**
 * The whole exchange: a sealed refusal rejects with {@linkcode ChatRefusedError};
 * anything else that goes wrong with {@linkcode ChatTransportError} (with
 * `status` for a plain refusal), except what the key check throws.
 */
async function sealedExchange(
  stream: FrameStream,
  request: TcrpRequest,
  options: SealedExchangeOptions,
): Promise<{ answer: SealedAnswer; serverStaticKey: Uint8Array; bytes: number }> {
  const operation = sealedOperationOf(request.operation);
  const roomName = request.operation === Operation.LIST_ROOMS
    ? new Uint8Array(0)
    : encodeUtf8(request.roomName);
  const prologue = sealedPrologue(sealedHelloHeader(operation, roomName), roomName);
  const noise = new NoiseNxInitiator(options.crypto, prologue, options.ephemeral);
  const frame = (state: SealedState, payload: Uint8Array) =>
    encodeTcrpFrame({ operation, state, roomName, payload });
  await stream.write(frame(SealedState.HELLO, noise.writeMessage1()));

  const hello = await readFrame(stream);
  refusedInPlain(hello, operation);
  expectFrame(hello, operation, roomName, SealedState.SERVER_HELLO);
  if (hello.payload.length !== SEALED_SERVER_HELLO_BYTES) {
    throw new ChatTransportError(
      `the server's handshake message is ${hello.payload.length} bytes, not ${SEALED_SERVER_HELLO_BYTES}`,
    );
  }
  let serverStaticKey: Uint8Array;
  try {
    serverStaticKey = noise.readMessage2(hello.payload).remoteStatic;
  } catch (error) {
    throw new ChatTransportError(
      "the server's handshake did not verify (the request may have been changed on the way)",
      { cause: error },
    );
  }
  // Before anything secret: a server key we do not trust ends it here.
  await options.checkServerKey(serverStaticKey);

  const cipher = noise.split();
  await stream.write(frame(SealedState.REQUEST, cipher.send.encrypt(encodeSealedRequest(request))));
  const sealed = await readFrame(stream);
  expectFrame(sealed, operation, roomName, SealedState.ANSWER);
  let answer: SealedAnswer;
  try {
    answer = decodeSealedAnswer(operation, cipher.receive.decrypt(sealed.payload));
  } catch (error) {
    const what = error instanceof ProtocolError ? `is malformed: ${error.message}` : "did not open";
    throw new ChatTransportError(`the server's sealed answer ${what}`, { cause: error });
  }
  if (answer.kind === "refused") {
    throw new ChatRefusedError(answer.refusal.status, answer.refusal.error);
  }
  return { answer, serverStaticKey, bytes: sealed.payload.length };
}

async function readFrame(stream: FrameStream): Promise<TcrpFrame> {
  const frame = await stream.read();
  if (frame === null) {
    throw new ChatTransportError("the server closed the connection before answering in full");
  }
  return frame;
}

/**
 * Throws for a plain refusal in place of message 2: the gate's state 1 of a
 * plain operation, or a state-2 refusal of ours. Retryable, with its status.
 */
function refusedInPlain(frame: TcrpFrame, operation: SealedOperation): void {
  let refusal: { status: number; error: string } | null = null;
  try {
    if (isPlainOperation(frame.operation) && frame.state === State.RESPONSE) {
      const response = decodeTcrpResponse(frame);
      if (response.status === 200) {
        throw new ChatTransportError(
          "the server answered in plain text: it does not take sealed sessions",
        );
      }
      refusal = response as { status: number; error: string };
    } else if (frame.operation === operation && frame.state === SealedState.REFUSED) {
      refusal = decodeEarlyRefusal(frame.payload);
    }
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    throw new ChatTransportError(`the server sent a malformed answer: ${error.message}`, {
      cause: error,
    });
  }
  if (refusal !== null) {
    throw new ChatTransportError(
      `the server refused before the handshake (${refusal.status}): ${refusal.error}`,
      { status: refusal.status },
    );
  }
}

function expectFrame(
  frame: TcrpFrame,
  operation: SealedOperation,
  roomName: Uint8Array,
  state: SealedState,
): void {
  if (frame.operation !== operation || frame.state !== state) {
    throw new ChatTransportError(
      `the server sent operation ${frame.operation} state ${frame.state} where operation ` +
        `${operation} state ${state} belongs`,
    );
  }
  if (
    frame.roomName.length !== roomName.length || frame.roomName.some((b, i) => b !== roomName[i])
  ) {
    throw new ChatTransportError("the server's answer names another room");
  }
}
