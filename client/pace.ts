/**
 * How a session's messages leave on one membership: the rate, burst and
 * window the server advertised, and for a revision-2 server, retries spaced
 * to fit its gap timeout. See docs/protocol.md section 4.7.
 */
import type { JoinAccepted } from "./connector.ts";
import { DEFAULT_PACE, type OutboxPace, retrySpanMs } from "./outbox.ts";
import type { SessionTimings } from "./session_options.ts";

/** Tries of one message that fit in the server's gap timeout (revision 2). */
const TRIES_WITHIN_GAP = 8;

/**
 * How fast messages may leave, as the server advertised (revision 1: 20 a
 * second, bursts of 40). A revision-2 server skips a msgId that has not
 * arrived within its gap timeout, so tries are spaced to fit 8 in it (all
 * lost at 20% loss: 2.6e-6; spaced up to 2 s only 5 fit, 3.2e-4, and the
 * chaos suite lost 2 of 5,000 that way), and there are more of them, so a
 * message is given up on no sooner than with the session's timings.
 */
export function paceOf(accepted: JoinAccepted, timings: SessionTimings): OutboxPace {
  const pace: OutboxPace = {
    rate: accepted.messageRate ?? DEFAULT_PACE.rate,
    burst: accepted.messageBurst ?? DEFAULT_PACE.burst,
    window: accepted.messageWindow ?? DEFAULT_PACE.window,
  };
  if (accepted.gapTimeoutSeconds === undefined) return pace;
  const { retryBaseMs, retryMaxMs, sendTries } = timings;
  const spacing = Math.min(retryMaxMs, (accepted.gapTimeoutSeconds * 1000) / TRIES_WITHIN_GAP);
  const cap = Math.max(retryBaseMs, spacing);
  const span = retrySpanMs(retryBaseMs, retryMaxMs, sendTries);
  let tries = sendTries;
  while (retrySpanMs(retryBaseMs, cap, tries) < span) tries++;
  return { ...pace, retryMaxMs: cap, sendTries: tries };
}
