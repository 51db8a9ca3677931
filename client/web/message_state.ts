/**
 * The states of a message we sent, as the log shows them (`data-state`):
 * pending until the server relays it (the session's "delivered", with the
 * room's seq) or gives up on it ("undelivered"); an undelivered one offers a
 * retry, which sends the text again as a new message (a new msgId), pending
 * again. Also where an event goes in the log: in seq order, above our
 * pending messages. Pure: no DOM.
 *
 * @module
 */

/** What `data-state` says. */
export type MessageState = "pending" | "delivered" | "undelivered";

/** What can happen to a message of ours. */
export type MessageInput = "delivered" | "undelivered" | "retry";

/**
 * The state after `input`, or null when `input` means nothing in `state`
 * (a late "undelivered" for a delivered message, a retry of a pending one).
 */
export function nextState(state: MessageState, input: MessageInput): MessageState | null {
  switch (state) {
    case "pending":
      return input === "retry" ? null : input;
    case "undelivered":
      return input === "retry" ? "pending" : null;
    case "delivered":
      return null;
  }
}

/** One entry of the log, as far as ordering goes. */
export interface LogSlot {
  /** The room's seq, or null for an entry without one (a notice, a separator). */
  seq: number | null;
  /** A message of ours still pending or undelivered: it stays below the room's events. */
  ours: boolean;
}

/**
 * Where an event with `seq` goes among the `length` entries of the log
 * (`slot(i)` describes entry i, in log order): after every entry with a
 * lower seq, before entries with a higher one and before our messages that
 * the server has not relayed yet, so the room's events keep their order and
 * what we are sending stays at the bottom. An entry without a seq (a
 * notice, a day separator) just above a later one moves down with it.
 * Walks from the end: an event usually goes last.
 */
export function insertionIndex(
  length: number,
  slot: (index: number) => LogSlot,
  seq: number,
): number {
  const later = (s: LogSlot) => s.ours || (s.seq !== null && s.seq > seq);
  let at = length;
  while (at > 0) {
    const above = slot(at - 1);
    if (later(above)) at--;
    else if (above.seq === null && at < length && later(slot(at))) at--;
    else break;
  }
  return at;
}
