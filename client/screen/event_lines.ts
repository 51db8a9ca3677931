/**
 * Session events as styled lines for the chat screen: `[hh:mm] name: text`
 * with the name in its room colour, `/me` lines as actions, your own name
 * highlighted where others mention it. Pure: no I/O.
 */
import { actionText, describeClose } from "../format.ts";
import { describeHostChange, describeIdleWarning } from "../event_text.ts";
import type { SessionEvent } from "../session_options.ts";
import type { RoomColors } from "./colors.ts";
import { screenText, type Span } from "./text_width.ts";

/** SGR styles of the screen's lines. */
export const STYLE = {
  dim: "2",
  error: "31",
  warning: "33",
  mention: "1;7",
} as const;

/** True when `text` mentions `name` as a word of its own (case-insensitive). */
export function mentions(text: string, name: string): boolean {
  return mentionPattern(name).test(text);
}

function mentionPattern(name: string): RegExp {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![\\p{L}\\p{N}_])${escaped}(?![\\p{L}\\p{N}_])`, "giu");
}

/** `hh:mm` in local time. */
export function clock(time: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(time.getHours())}:${two(time.getMinutes())}`;
}

/** The line that separates days: `-- Wednesday 2 December 2026 --`. */
export function dayLine(time: Date): Span[] {
  const day = time.toLocaleDateString("en-GB", {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
  });
  return [{ text: `-- ${day.replace(",", "")} --`, style: STYLE.dim }];
}

/** Splits `text` into spans, highlighting each mention of `me`. */
function highlight(text: string, me: string): Span[] {
  const spans: Span[] = [];
  let last = 0;
  for (const match of text.matchAll(mentionPattern(me))) {
    if (match.index > last) spans.push({ text: text.slice(last, match.index), style: "" });
    spans.push({ text: match[0], style: STYLE.mention });
    last = match.index + match[0].length;
  }
  if (last < text.length) spans.push({ text: text.slice(last), style: "" });
  return spans;
}

/** What a line needs to know about the room. */
export interface LineContext {
  /** Our own name. */
  me: string;
  colors: RoomColors;
}

/**
 * The line for one event, or null for events the screen does not show as a
 * line (deliveries, and pacing errors: the session retries those itself, so
 * a person never sees an error for its own pacing).
 */
export function eventSpans(event: SessionEvent, ctx: LineContext): Span[] | null {
  const dim = (text: string): Span[] => [{ text, style: STYLE.dim }];
  const safe = screenText;
  switch (event.type) {
    case "welcome": {
      const members = event.members.map(safe).join(", ");
      const where = `"${safe(event.room)}" (host ${safe(event.host)}; here: ${members})`;
      const line = dim(event.rejoined ? `* Back in ${where}` : `* You are in ${where}`);
      if (event.previousHost === undefined) return line;
      const change = `  * ${describeHostChange(event.previousHost, event.host)}`;
      return [...line, { text: change, style: STYLE.warning }];
    }
    case "rejoining":
      return [{
        text: `* ${safe(event.reason)}. Rejoining for up to ${
          Math.round(event.timeoutMs / 1000)
        } s; what you type meanwhile is sent once back in.`,
        style: STYLE.warning,
      }];
    case "message": {
      const name = { text: safe(event.name), style: ctx.colors.of(event.name) };
      const time = { text: `[${clock(event.time)}] `, style: "" };
      const own = event.name.toLowerCase() === ctx.me.toLowerCase();
      const action = actionText(event.text);
      const text = safe(action ?? event.text);
      const body = own ? [{ text, style: "" }] : highlight(text, ctx.me);
      return action === null
        ? [time, name, { text: ": ", style: "" }, ...body]
        : [time, { text: "* ", style: "" }, name, { text: " ", style: "" }, ...body];
    }
    case "joined":
      return dim(`[${clock(event.time)}] * ${safe(event.name)} joined`);
    case "left":
      return dim(`[${clock(event.time)}] * ${safe(event.name)} left`);
    case "timedOut":
      return dim(`[${clock(event.time)}] * ${safe(event.name)} timed out`);
    case "delivered":
      return null;
    case "undelivered":
      return [{ text: `! not delivered: ${safe(event.text)}`, style: STYLE.error }];
    case "missed":
      return dim(`* ${event.toSeq - event.fromSeq + 1} earlier event(s) could not be recovered`);
    case "error":
      if (event.code === 429) return null;
      return [{ text: `! server: ${safe(event.text)}`, style: STYLE.error }];
    case "closed":
      return dim(`* ${describeClose(event.reason, safe(event.text))}`);
    default:
      return null; // an event type this screen does not draw as a line (the idle warning has its own)
  }
}

/** The notice for the session's idle warning: what happens and how to avoid it. */
export function idleWarningSpans(removeInMs: number): Span[] {
  return [{ text: `* ${describeIdleWarning(removeInMs)}`, style: STYLE.warning }];
}
