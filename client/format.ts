/**
 * Turns session events into lines for people (`[hh:mm] name: text`) or for
 * programs (one JSON object per line). No I/O here.
 */
import { escapeJsonForDisplay } from "../protocol/display_text.ts";
import { describeClose, describeHostChange, describeIdleWarning } from "./event_text.ts";
import { displayWidth, screenText } from "./screen/text_width.ts";
import type { SessionEvent } from "./session.ts";

export { describeClose, displayWidth };

/** How lines are styled. */
export interface FormatStyle {
  /** ANSI colours (names in stable colours, notices dim). */
  color: boolean;
}

const NAME_COLORS = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96];

/** The colour a name always gets, from a hash of the name. */
export function nameColor(name: string): number {
  let hash = 2166136261;
  for (const unit of name.toLowerCase()) {
    hash = Math.imul(hash ^ unit.codePointAt(0)!, 16777619) >>> 0;
  }
  return NAME_COLORS[hash % NAME_COLORS.length]!;
}

/**
 * Makes a name, a message or a server's text safe to print: control
 * characters (escape sequences included), bidi controls (U+202A–202E,
 * U+2066–2069, U+200E/F, U+061C), zero-width characters (U+200B–200F but
 * joiners where they join, U+2060–2064, U+FEFF) and line separators become
 * U+FFFD (protocol/display_text.ts), so a peer or a server cannot move the
 * cursor, rewrite or reorder the screen of whoever reads it, or hide a
 * character in a name; a tab becomes spaces.
 */
export function sanitize(text: string): string {
  return screenText(text);
}

/**
 * The answer to /members: "3 here: ann (host), bob, carol", every name the
 * server gave made safe to print.
 */
export function membersLine(members: readonly string[], host: string): string {
  const names = members.map((m) => (m === host ? `${sanitize(m)} (host)` : sanitize(m)));
  return `${names.length} here: ${names.join(", ")}`;
}

/**
 * The wire convention of an action: a message whose text starts with "/me "
 * (the reference client sends `/me waves` as exactly that text) is shown as
 * `* ann waves`. Returns the action's text, or null for an ordinary message.
 */
export function actionText(text: string): string | null {
  return text.startsWith("/me ") ? text.slice(4) : null;
}

/**
 * `text` padded with spaces to `width` terminal cells (wide characters
 * count two), for tables; longer text is returned as it is.
 */
export function padCells(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - displayWidth(text)));
}

function clock(time: Date): string {
  return `${String(time.getHours()).padStart(2, "0")}:${
    String(time.getMinutes()).padStart(2, "0")
  }`;
}

/** One line for a person, or null for events a person need not see. */
export function formatEvent(event: SessionEvent, style: FormatStyle): string | null {
  const paint = (code: number, text: string) => style.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  const dim = (text: string) => paint(2, text);
  const name = (who: string) => paint(nameColor(who), sanitize(who));
  switch (event.type) {
    case "welcome": {
      const members = event.members.map(sanitize).join(", ");
      const where = `"${sanitize(event.room)}" (host ${sanitize(event.host)}; here: ${members})`;
      const line = dim(event.rejoined ? `* Back in ${where}` : `* You are in ${where}`);
      return event.previousHost === undefined
        ? line
        : `${line}\n${paint(33, `* ${describeHostChange(event.previousHost, event.host)}`)}`;
    }
    case "rejoining":
      return paint(
        33,
        `* ${sanitize(event.reason)}. Rejoining for up to ${
          Math.round(event.timeoutMs / 1000)
        } s;` +
          " what you type meanwhile is sent once back in.",
      );
    case "reconnecting": // a reliable connection (WebSocket) resuming on a new socket
      return paint(
        33,
        `* ${sanitize(event.reason)}. Reconnecting; what you type meanwhile is sent once back.`,
      );
    case "reconnected":
      return dim("* Reconnected");
    case "message": {
      // "/me waves" is an action (the reference client's convention, docs/protocol.md).
      const action = actionText(event.text);
      return action === null
        ? `[${clock(event.time)}] ${name(event.name)}: ${sanitize(event.text)}`
        : `[${clock(event.time)}] * ${name(event.name)} ${sanitize(action)}`;
    }
    case "joined":
      return dim(`[${clock(event.time)}] * ${sanitize(event.name)} joined`);
    case "left":
      return dim(`[${clock(event.time)}] * ${sanitize(event.name)} left`);
    case "timedOut":
      return dim(`[${clock(event.time)}] * ${sanitize(event.name)} timed out`);
    case "delivered":
      return null;
    case "undelivered":
      return paint(31, `! not delivered: ${sanitize(event.text)}`);
    case "idleWarning":
      return paint(33, `* ${describeIdleWarning(event.removeInMs)}`);
    case "missed":
      return dim(`* ${event.toSeq - event.fromSeq + 1} earlier event(s) could not be recovered`);
    case "error":
      return paint(31, `! server: ${sanitize(event.text)}`);
    case "closed":
      return dim(`* ${describeClose(event.reason, sanitize(event.text))}`);
  }
}

/**
 * One JSON line for a program; every event is included. Texts are kept
 * exactly, but DEL, C1 controls (which JSON.stringify leaves raw, and a
 * terminal may obey: U+009B is CSI), bidi and zero-width characters are
 * written as \u escapes too (protocol/display_text.ts): the same JSON value.
 */
export function formatEventJson(event: SessionEvent): string {
  const value = "time" in event ? { ...event, time: event.time.toISOString() } : event;
  return escapeJsonForDisplay(JSON.stringify(value));
}
