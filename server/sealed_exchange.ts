/**
 * One sealed TCRP exchange (docs/protocol.md 6.1), server side, over any
 * carrier of whole TCRP frames: a TCP connection (tcp_front.ts) or a
 * WebSocket, one frame per message (ws/ws_front.ts). Both run this code, so
 * the rules cannot drift apart: the request rate is charged at state 0
 * before any key work (a plain state-2 429 past it), a bad state 0 is a
 * plain state-2 400, Noise message 2 goes out (state 1), the sealed request
 * comes in (state 3), and the handshake's answer goes back sealed (state 4).
 * A state 3 that is the wrong frame or does not open is counted and left
 * unanswered: nothing is decided for it.
 *
 * The carrier reads, writes, keeps the time and closes; this module says
 * what to write and how the exchange ended.
 *
 * @module
 */
import { ProtocolError } from "../protocol/errors.ts";
import {
  encodeTcrpResponse,
  isPlainOperation,
  isSealedOperation,
  Operation,
  type Refusal,
  type SealedOperation,
  type TcrpFrame,
} from "../protocol/tcrp.ts";
import type { AbuseReporter } from "./abuse_log.ts";
import type { Peer } from "./endpoint.ts";
import type { Handshake, HandshakeOutcome, HandshakeSlot } from "./handshake.ts";
import {
  earlyRefusalFrame,
  SealedResponder,
  type SealedServerKeys,
  UnanswerableFrame,
} from "./sealed_responder.ts";

/** Whole TCRP frames both ways: what an exchange runs over. */
export interface FrameLink {
  /** The client's next whole frame, or null when it closed (or the carrier gave up) first. */
  next(): Promise<TcrpFrame | null>;
  /** Writes one or more whole frames; rejects when they cannot be delivered. */
  write(bytes: Uint8Array): Promise<void>;
}

/** A first frame whose operation is a sealed one. */
export type SealedHello = TcrpFrame & { operation: SealedOperation };

/** What one sealed exchange is run with. */
export interface SealedExchangeContext {
  handshake: Handshake;
  /** The server's keys for sealed exchanges. */
  keys: SealedServerKeys;
  /** Where bad requests are counted. */
  report: AbuseReporter;
  peer: Peer;
  /** The exchange's place in the handshake gate. */
  slot: HandshakeSlot;
  /** The client's last frame is in: the request timeout no longer applies. */
  requestRead(): void;
  /** Noise message 2 is going out: from now on only sealed answers may follow. */
  keyed(): void;
  /** Fires when the exchange is abandoned (a deadline, shutdown). */
  signal: AbortSignal;
  /** Monotonic milliseconds by which the answer must be ready. */
  deadline: number;
  /** Told the status of each refusal written, plain or sealed (the metrics count them). */
  onRefused?: (status: number) => void;
}

/** How a sealed exchange ended. */
export type SealedExchangeEnd =
  /** A plain state-2 refusal went out (over the rate, a bad state 0). */
  | { kind: "refused-early" }
  /** The client went away before its request (state 3). */
  | { kind: "closed" }
  /** The state-3 frame was the wrong one or did not open: counted, not answered. */
  | { kind: "unanswerable"; reason: string }
  /** The sealed answer (state 4) went out: a refusal, a room list page, or an admission. */
  | { kind: "answered"; outcome: HandshakeOutcome };

/**
 * Runs a sealed exchange whose state-0 frame is `hello`. Rejects when the
 * link fails (an admission whose answer cannot be written is revoked
 * first), or with a {@linkcode ProtocolError} when the state-3 frame's
 * header is bad (see {@linkcode badHeaderReply}).
 */
export async function runSealedExchange(
  hello: SealedHello,
  link: FrameLink,
  context: SealedExchangeContext,
): Promise<SealedExchangeEnd> {
  const { handshake, report, peer } = context;
  const refuseEarly = async (refusal: Refusal): Promise<SealedExchangeEnd> => {
    await link.write(earlyRefusalFrame(hello.operation, hello.roomName, refusal));
    context.onRefused?.(refusal.status);
    return { kind: "refused-early" };
  };
  const overRate = handshake.chargeRequest(peer);
  if (overRate !== null) return await refuseEarly(overRate);
  let responder: SealedResponder;
  let serverHello: Uint8Array;
  try {
    responder = new SealedResponder(context.keys, hello);
    serverHello = responder.serverHello();
  } catch (error) {
    const message = error instanceof ProtocolError
      ? error.message
      : "the client's handshake message is unusable";
    report("bad-request", peer.addressKey, message);
    return await refuseEarly({ status: 400, error: message });
  }
  context.keyed();
  await link.write(serverHello);
  const sealed = await link.next();
  context.requestRead();
  if (sealed === null) return { kind: "closed" };
  context.slot.requestRead();
  let outcome: HandshakeOutcome;
  try {
    const request = responder.openRequest(sealed);
    outcome = await handshake.answer(request, {
      peer,
      signal: context.signal,
      deadline: context.deadline,
      sealed: true,
    });
  } catch (error) {
    if (error instanceof UnanswerableFrame) {
      report("bad-request", peer.addressKey, error.message);
      return { kind: "unanswerable", reason: error.message };
    }
    if (!(error instanceof ProtocolError)) throw error;
    outcome = handshake.refuseMalformed(peer, error, true);
  }
  try {
    await link.write(responder.answer(outcome));
  } catch (error) {
    // The member was admitted but will never learn its keys.
    if (outcome.kind === "admitted") handshake.revoke(outcome.token);
    throw error;
  }
  if (outcome.kind === "refused") context.onRefused?.(outcome.refusal.status);
  return { kind: "answered", outcome };
}

/**
 * What answers a frame whose header was bad (a {@linkcode ProtocolError}
 * from the frame parser), counting it: a plain operation's refusal echoes
 * it (an unknown one says LIST_ROOMS, the one without side effects, so that
 * every answer is a valid frame a client can parse); a sealed operation's
 * is a plain state-2 refusal, but only before the key exchange (`keyed`
 * false): after it, the client hears nothing but sealed answers, so the
 * answer is null and the carrier closes unanswered.
 */
export function badHeaderReply(
  error: ProtocolError,
  operation: number,
  keyed: boolean,
  peer: Peer,
  report: AbuseReporter,
): Uint8Array | null {
  report(
    error.status === 413 ? "oversized-request" : "bad-request",
    peer.addressKey,
    error.message,
  );
  const refusal = { status: error.status, error: error.message } as Refusal;
  if (isSealedOperation(operation)) {
    return keyed ? null : earlyRefusalFrame(operation, new Uint8Array(0), refusal);
  }
  return encodeTcrpResponse(
    isPlainOperation(operation) ? operation : Operation.LIST_ROOMS,
    new Uint8Array(0),
    refusal,
  );
}
