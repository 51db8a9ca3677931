/**
 * The warning before the server's idle removal. The server removes a member
 * that has had no MESSAGE relayed for `idleTimeoutSeconds` (its state-1
 * answer says how long); this arms one timer on the session's scheduler so
 * the front end can say so while there is still time to type something.
 */
import type { Scheduler, TimerId } from "./scheduler.ts";

/** How long before the removal the warning comes, when the timeout allows it. */
export const IDLE_WARNING_LEAD_MS = 60_000;

/**
 * How long before an idle removal to warn: a minute, or half the timeout
 * when the timeout is under two minutes (a warning at its very start would
 * say nothing); null when there is no idle timeout (0).
 */
export function idleWarningLeadMs(idleTimeoutMs: number): number | null {
  if (!(idleTimeoutMs > 0)) return null;
  return Math.min(IDLE_WARNING_LEAD_MS, idleTimeoutMs / 2);
}

/** What {@linkcode IdleWarning} needs. */
export interface IdleWarningOptions {
  scheduler: Scheduler;
  /** Called once per quiet stretch, `removeInMs` before the server's removal. */
  warn: (removeInMs: number) => void;
}

/**
 * One timer, re-armed whenever the server counts the member as active (a
 * membership starts, a message is acknowledged), cancelled when the
 * membership pauses or ends.
 */
export class IdleWarning {
  #options: IdleWarningOptions;
  #timer: TimerId | undefined;
  #idleTimeoutMs = 0;

  /** A warning that waits for {@linkcode start}. */
  constructor(options: IdleWarningOptions) {
    this.#options = options;
  }

  /** A membership began (WELCOME): the server's idle clock starts now. */
  start(idleTimeoutSeconds: number): void {
    this.#idleTimeoutMs = idleTimeoutSeconds * 1000;
    this.activity();
  }

  /**
   * The server relayed one of our messages (its ACK arrived), which resets
   * its idle clock. Counted at the ACK rather than at sending, since a
   * message the server refused (rate, size) does not count there either;
   * the ACK comes half a round trip after the server's reset, so the warning
   * errs by that much, late, against a removal swept twice a second.
   */
  activity(): void {
    this.stop();
    const leadMs = idleWarningLeadMs(this.#idleTimeoutMs);
    if (leadMs === null) return;
    this.#timer = this.#options.scheduler.setTimeout(() => {
      this.#timer = undefined;
      this.#options.warn(leadMs);
    }, this.#idleTimeoutMs - leadMs);
  }

  /** No membership to warn about (rejoining, closed). */
  stop(): void {
    this.#options.scheduler.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
