/**
 * `chat join --json`: one JSON object per line for every session event, and
 * for what pipe mode reports on its own (a refusal, a line never sent). The
 * schema is the README's table; `closed.reason` is always one of
 * {@linkcode CLOSED_REASONS}, never the wire's number.
 */
import { escapeJsonForDisplay } from "../protocol/display_text.ts";
import { CloseReason } from "../protocol/datagram.ts";
import type { SessionEvent } from "./session.ts";

/**
 * Every `closed.reason`: `left` (we left), `hostLeft` (the room closed: its
 * host left or was removed; `text` says which), `idle` (removed for sending
 * no message), `timedOut` (the server heard nothing from us for 3
 * heartbeats), `shutdown` (the server is shutting down), `lost` (this
 * client lost the server: no answer, a rejoin that failed, an internal
 * error).
 */
export const CLOSED_REASONS = ["left", "hostLeft", "idle", "timedOut", "shutdown", "lost"] as const;

/** One of {@linkcode CLOSED_REASONS}. */
export type ClosedReason = typeof CLOSED_REASONS[number];

/** The name of a session's close reason. */
export function closedReasonName(reason: CloseReason | "lost"): ClosedReason {
  switch (reason) {
    case CloseReason.HOST_LEFT:
      return "hostLeft";
    case CloseReason.IDLE:
      return "idle";
    case CloseReason.LOST:
      return "timedOut";
    case CloseReason.SHUTDOWN:
      return "shutdown";
    case CloseReason.LEFT:
      return "left";
    case "lost":
      return "lost";
  }
}

/** What pipe mode reports besides session events. */
export type PipeReport =
  /** The server refused the membership (the TCRP status and its error text). */
  | { type: "refused"; code: number; text: string }
  /**
   * A stdin line that was never sent, so it has no msgId: too long for one
   * datagram, or read after the session ended.
   */
  | { type: "undelivered"; msgId: null; text: string };

/** The JSON value of an event: times as ISO strings, `closed.reason` by name. */
export function jsonValue(event: SessionEvent | PipeReport): Record<string, unknown> {
  if (event.type === "closed") {
    return { type: "closed", reason: closedReasonName(event.reason), text: event.text };
  }
  if ("time" in event) return { ...event, time: event.time.toISOString() };
  return { ...event };
}

/**
 * One JSON line. Texts are kept exactly, but DEL, C1 controls (which
 * JSON.stringify leaves raw, and a terminal may obey: U+009B is CSI), bidi
 * and zero-width characters are written as \u escapes too
 * (protocol/display_text.ts): the same JSON value, nothing a terminal obeys.
 */
export function jsonLine(event: SessionEvent | PipeReport): string {
  return escapeJsonForDisplay(JSON.stringify(jsonValue(event)));
}
