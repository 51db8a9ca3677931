/**
 * The welcome phase: after the membership request, HELLO until the server's
 * WELCOME. HELLO registers our endpoint and asks for the replay; UDP may
 * lose it, so it is repeated, for a bounded time after which UDP is taken to
 * be blocked.
 */
import type { DatagramChannel } from "./connector.ts";
import { ChatTransportError } from "./errors.ts";
import { raceTimeout, type Scheduler } from "./scheduler.ts";

/** One welcome phase, on one connection. */
export interface HelloOptions {
  /** The clock for the repeats and the timeout. */
  scheduler: Scheduler;
  /** Where HELLO goes. */
  channel: DatagramChannel;
  /** The HELLO datagram. */
  hello: Uint8Array;
  /** HELLO is repeated this often... */
  intervalMs: number;
  /** ...for at most this long. */
  timeoutMs: number;
  /** A reliable channel gets one HELLO, not repeats. */
  reliable: boolean;
  /** For the timeout's message: the server's UDP port. */
  udpPort: number;
  /** Settles when WELCOME arrives or the session closes, whichever is first. */
  settled: Promise<unknown>;
  /** True once WELCOME has arrived. */
  isWelcomed: () => boolean;
  /** True once the session has closed. */
  isClosed: () => boolean;
}

/**
 * Sends HELLO every `intervalMs` until WELCOME; rejects with
 * `ChatTransportError` when none comes within `timeoutMs` or the session
 * closes first.
 */
export async function helloUntilWelcome(options: HelloOptions): Promise<void> {
  const { scheduler, timeoutMs } = options;
  const started = scheduler.now();
  let sent = false;
  while (!options.isWelcomed()) {
    if (options.isClosed()) {
      throw new ChatTransportError("the session closed before the server welcomed it");
    }
    const left = timeoutMs - (scheduler.now() - started);
    if (left <= 0) {
      throw new ChatTransportError(
        options.reliable
          ? `no welcome from the server within ${timeoutMs} ms`
          : `no answer from UDP port ${options.udpPort} within ${timeoutMs} ms (is UDP blocked?)`,
      );
    }
    if (!sent || !options.reliable) options.channel.send(options.hello);
    sent = true;
    await raceTimeout(
      scheduler,
      options.settled,
      options.reliable ? left : Math.min(options.intervalMs, left),
    );
  }
}
