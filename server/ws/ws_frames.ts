/**
 * The handshake phase of a WebSocket as a {@linkcode FrameLink}
 * (sealed_exchange.ts): each binary message must hold exactly one whole
 * TCRP frame (docs/protocol.md 7.3), and the sealed exchange reads at most
 * two (state 0, state 3). Server frames go out one per message.
 *
 * @module
 */
import { TCRP_HEADER_BYTES, type TcrpFrame, TcrpFrameParser } from "../../protocol/tcrp.ts";
import type { FrameLink } from "../sealed_exchange.ts";

/** The largest handshake message: one TCRP frame with a 255-byte room name and a full payload. */
export function handshakeMessageLimit(maxPayloadBytes: number): number {
  return TCRP_HEADER_BYTES + 255 + maxPayloadBytes;
}
import type { WsSocket } from "./ws_link.ts";

/** A message that is not exactly one whole TCRP frame, or one frame too many: closed 4400. */
export class NotOneFrame extends Error {
  /** Says what was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "NotOneFrame";
  }
}

/** Frames a handshake takes: state 0 and state 3. */
export const HANDSHAKE_FRAMES = 2;

/**
 * Parses one message as exactly one whole TCRP frame. A bad header throws
 * the parser's ProtocolError (400 or 413, answered as over TCP); a message
 * that holds part of a frame, or more than one, throws {@linkcode NotOneFrame}.
 */
export function oneFrame(message: Uint8Array, maxPayloadBytes: number): TcrpFrame {
  const parser = new TcrpFrameParser({ maxPayloadBytes });
  const frames = parser.push(message);
  if (frames.length !== 1 || parser.pendingBytes !== 0) {
    throw new NotOneFrame(
      frames.length === 0
        ? `a message of ${message.length} bytes is not a whole TCRP frame`
        : "a message holds more than one TCRP frame",
    );
  }
  return frames[0]!;
}

/**
 * Messages in, frames out, for one sealed exchange. `push` takes each
 * message after the first (state 0, which the exchange is given itself) as
 * it arrives; `next` hands them to the exchange in order; `end` makes a
 * waiting or later `next` resolve null (the socket closed, or the exchange
 * was abandoned).
 */
export class HandshakeFrames implements FrameLink {
  #socket: WsSocket;
  #maxPayloadBytes: number;
  #queue: (TcrpFrame | Error)[] = [];
  #waiting: ((frame: TcrpFrame | Error | null) => void) | null = null;
  /** The first frame (state 0) counts: the exchange was handed it. */
  #taken = 1;
  #ended = false;

  /** Frames of a socket whose first frame (state 0) the exchange already has. */
  constructor(socket: WsSocket, maxPayloadBytes: number) {
    this.#socket = socket;
    this.#maxPayloadBytes = maxPayloadBytes;
  }

  /**
   * A message: parsed and queued (a parse error is queued too, and thrown
   * by the `next` that reaches it, so it is judged in order). Returns false
   * when the handshake already has all the frames it takes: the caller
   * closes 4400.
   */
  push(message: Uint8Array): boolean {
    if (this.#taken + this.#queue.length >= HANDSHAKE_FRAMES) return false;
    let item: TcrpFrame | Error;
    try {
      item = oneFrame(message, this.#maxPayloadBytes);
    } catch (error) {
      item = error as Error;
    }
    if (this.#waiting !== null) {
      const resolve = this.#waiting;
      this.#waiting = null;
      this.#taken++;
      resolve(item);
    } else {
      this.#queue.push(item);
    }
    return true;
  }

  /** No more frames: a waiting `next` resolves null. */
  end(): void {
    this.#ended = true;
    const resolve = this.#waiting;
    this.#waiting = null;
    resolve?.(null);
  }

  async next(): Promise<TcrpFrame | null> {
    let item: TcrpFrame | Error | null;
    if (this.#queue.length > 0) {
      this.#taken++;
      item = this.#queue.shift()!;
    } else if (this.#ended) {
      item = null;
    } else {
      item = await new Promise<TcrpFrame | Error | null>((resolve) => this.#waiting = resolve);
    }
    if (item instanceof Error) throw item;
    return item;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.#socket.send(bytes)) return Promise.reject(new Error("the WebSocket is closed"));
    return Promise.resolve();
  }
}
