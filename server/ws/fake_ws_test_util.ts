/**
 * A WebSocket connection without a socket, for the WebSocket front end's
 * tests: the server side is what ws_front.ts drives (WsConnectionLike),
 * the client side a MessagePipe (testing/ws_client.ts). Messages over the
 * connection's current limit close it 1009, as the real one does from the
 * frame header; `stall()` makes it keep what the server sends in its
 * buffer, as a reader that stopped reading does.
 */
import { type MessagePipe, MessageQueue, type PipeClose } from "../../testing/ws_client.ts";
import type { WsCloseInfo, WsConnectionLike } from "./ws_front.ts";

type Handlers = Parameters<WsConnectionLike["start"]>[0];

/** One fake connection: `server` for the front end, `pipe` for the test's client. */
export class FakeWsConnection implements WsConnectionLike {
  maxMessageBytes = 0;
  isOpen = true;
  /** The close the server sent, if it did. */
  closeInfo: WsCloseInfo | null = null;
  readonly closed: Promise<WsCloseInfo>;
  readonly pipe: MessagePipe;
  #handlers: Handlers | null = null;
  #queue = new MessageQueue();
  #stalled: Uint8Array[] = [];
  #stalledBytes = 0;
  #resolveClosed: (info: WsCloseInfo) => void = () => {};

  constructor() {
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    const pipeClosed = this.closed.then((info): PipeClose => ({
      code: info.code,
      reason: info.reason,
    }));
    this.pipe = {
      send: (bytes) => this.#fromClient(bytes),
      receive: (timeoutMs) => this.#queue.receive(timeoutMs),
      closed: pipeClosed,
      close: (code = 1000, reason = "") => this.#finish({ code, reason, byPeer: true }),
    };
  }

  get bufferedAmount(): number {
    return this.#stalledBytes;
  }

  start(handlers: Handlers): void {
    this.#handlers = handlers;
  }

  send(bytes: Uint8Array): boolean {
    if (!this.isOpen) return false;
    if (this.#stalled.length > 0 || this.#stalling) {
      this.#stalled.push(bytes.slice());
      this.#stalledBytes += bytes.length;
    } else {
      this.#queue.push(bytes.slice());
    }
    return true;
  }

  flush(): void {}

  close(code: number, reason: string): void {
    if (!this.isOpen) return;
    this.closeInfo = { code, reason, byPeer: false };
    // What was queued goes before the close, as on a real socket.
    this.#finish(this.closeInfo);
  }

  /** The client stops reading: what the server sends piles up in `bufferedAmount`. */
  stall(): void {
    this.#stalling = true;
  }
  #stalling = false;

  /** A pong (or any frame) from the client. */
  pong(): void {
    this.#handlers?.alive?.();
  }

  #fromClient(bytes: Uint8Array): void {
    if (!this.isOpen) return;
    // Delivered on a later turn, as a socket read would be.
    setTimeout(() => {
      if (!this.isOpen) return;
      if (bytes.length > this.maxMessageBytes) {
        this.close(1009, "message too big");
        return;
      }
      this.#handlers?.alive?.();
      this.#handlers?.message(bytes.slice());
    }, 0);
  }

  #finish(info: WsCloseInfo): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.#queue.end();
    this.#resolveClosed(info);
    queueMicrotask(() => this.#handlers?.closed(info));
  }
}
