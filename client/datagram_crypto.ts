/**
 * A hook to transform every datagram on its way out and in (sealed sessions
 * will encrypt here, with WebCrypto, which is asynchronous), applied as a
 * wrapper around the channel so the session's protocol logic does not change.
 */
import type { HostPort } from "../protocol/host_port.ts";
import type { DatagramChannel } from "./connector.ts";

/**
 * Transforms datagrams; either method may return a promise.
 *
 * @example A transform that frames every datagram with a marker byte
 * ```ts
 * const framing: DatagramCrypto = {
 *   seal: (bytes) => Uint8Array.of(0x7e, ...bytes),
 *   open: (bytes) => (bytes[0] === 0x7e ? bytes.subarray(1) : null),
 * };
 * ```
 */
export interface DatagramCrypto {
  /** Turns a datagram the session wrote into what goes on the wire. */
  seal(bytes: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /**
   * Turns what came off the wire back into a server datagram, or null for
   * one that does not open (forged, damaged): it is dropped like garbage.
   * Throwing (or rejecting) is a failure, and ends the session as lost.
   */
  open(bytes: Uint8Array): Uint8Array | null | Promise<Uint8Array | null>;
}

/**
 * `channel` with `crypto` applied both ways. Sealing runs at once for each
 * send (several may be under way together) but datagrams leave in the order
 * they were sent; received datagrams are opened one at a time, in order. A
 * seal that throws makes the next receive reject with that error, so the
 * session sees it.
 */
export function sealChannel(channel: DatagramChannel, crypto: DatagramCrypto): DatagramChannel {
  return new SealedChannel(channel, crypto);
}

class SealedChannel implements DatagramChannel {
  #inner: DatagramChannel;
  #crypto: DatagramCrypto;
  /** The previous send's turn on the wire: each send waits for it, so order holds. */
  #sending: Promise<void> = Promise.resolve();
  #receiving: Promise<Uint8Array | null> | undefined;
  #failed: Promise<never>;
  #fail!: (error: unknown) => void;
  #closed = false;

  constructor(inner: DatagramChannel, crypto: DatagramCrypto) {
    this.#inner = inner;
    this.#crypto = crypto;
    this.#failed = new Promise<never>((_, reject) => (this.#fail = reject));
    this.#failed.catch(() => {}); // seen by the next receive, not unhandled meanwhile
  }

  get local(): HostPort | undefined {
    return this.#inner.local;
  }

  send(bytes: Uint8Array): void {
    if (this.#closed) return;
    let sealing: Promise<Uint8Array>;
    try {
      sealing = Promise.resolve(this.#crypto.seal(bytes));
    } catch (error) {
      sealing = Promise.reject(error);
    }
    this.#sending = this.#sending.then(() => sealing).then(
      (sealed) => {
        if (!this.#closed) this.#inner.send(sealed);
      },
      (error) => this.#fail(error),
    );
  }

  async receive(): Promise<Uint8Array | null> {
    while (true) {
      // A receive cut short by a failure stays pending: the next call reuses it.
      this.#receiving ??= this.#inner.receive();
      const bytes = await Promise.race([this.#receiving, this.#failed]);
      this.#receiving = undefined;
      if (bytes === null) return null;
      const opened = await this.#crypto.open(bytes);
      if (opened !== null) return opened;
    }
  }

  close(): void {
    this.#closed = true;
    this.#inner.close();
  }
}
