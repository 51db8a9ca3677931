/**
 * Sentences for people about how a membership ends or is about to, shared by
 * pipe mode and the chat screen. No I/O, no styling.
 */
import { CloseReason } from "../protocol/datagram.ts";
import { displayText } from "../protocol/display_text.ts";

/** "1 minute", "30 seconds": a whole duration for a sentence. */
export function describeDuration(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000));
  if (seconds % 60 === 0) {
    const minutes = seconds / 60;
    return minutes === 1 ? "1 minute" : `${minutes} minutes`;
  }
  return seconds === 1 ? "1 second" : `${seconds} seconds`;
}

/**
 * After a rejoin into a room whose host is someone else now (the server
 * restarted and another member created the room again first): said plainly,
 * since a different host may be a different room under the same name.
 */
export function describeHostChange(previousHost: string, host: string): string {
  return `The host changed while you were away: it was ${displayText(previousHost)}, ` +
    `it is now ${displayText(host)}.`;
}

/** The notice before an idle removal. */
export function describeIdleWarning(removeInMs: number): string {
  return `You have sent no message for a while: the server removes you in about ` +
    `${describeDuration(removeInMs)} unless you send one.`;
}

/**
 * Why a session ended, for a person. `text` is the server's; for a closed
 * room it is the only place the true reason is (the host left, or was
 * removed for idleness or as lost: see the server's `hostGoneText`), so it is
 * shown, made safe to print here whatever the caller did
 * (protocol/display_text.ts). An old server's text for that ("the host ann
 * left, so the room is closed") reads as well.
 */
export function describeClose(reason: CloseReason | "lost", serverText: string): string {
  const text = displayText(serverText);
  switch (reason) {
    case CloseReason.HOST_LEFT:
      return text.trim() === "" ? "The room was closed because its host left." : sentence(text);
    case CloseReason.IDLE:
      return "You were removed for sending no message for too long.";
    case CloseReason.LOST:
      return "The server stopped hearing from this client and removed it.";
    case CloseReason.SHUTDOWN:
      return "The server is shutting down.";
    case CloseReason.LEFT:
      return "You left the room.";
    case "lost":
      return `Connection lost: ${text}`;
  }
}

/** The text with a capital first letter and a full stop. */
function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
