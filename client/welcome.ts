/**
 * The welcome phase: after the membership request, HELLO until the server's
 * WELCOME. HELLO registers our endpoint and asks for the replay; UDP may
 * lose it, so it is repeated, for a bounded time after which UDP is taken to
 * be blocked.
 */
import { ChatTransportError } from "./errors.ts";
import { raceTimeout, type Scheduler } from "./scheduler.ts";

/** One welcome phase, on one connection. */
export interface HelloOptions {
  /** The clock for the repeats and the timeout. */
  scheduler: Scheduler;
  /** Sends HELLO (sealed: under a fresh counter each time, so a repeat is not a replay). */
  sendHello: () => void;
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
  /**
   * Why this welcome phase cannot succeed any more (the server reset the
   * session), or null: checked after each wait, it rejects the phase.
   */
  abandoned?: () => string | null;
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
    const abandoned = options.abandoned?.() ?? null;
    if (abandoned !== null) throw new ChatTransportError(abandoned);
    const left = timeoutMs - (scheduler.now() - started);
    if (left <= 0) {
      throw new ChatTransportError(
        options.reliable
          ? `no welcome from the server within ${timeoutMs} ms`
          : `no answer from UDP port ${options.udpPort} within ${timeoutMs} ms (is UDP blocked?)`,
      );
    }
    if (!sent || !options.reliable) options.sendHello();
    sent = true;
    await raceTimeout(
      scheduler,
      options.settled,
      options.reliable ? left : Math.min(options.intervalMs, left),
    );
  }
}
