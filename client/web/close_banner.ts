/**
 * Which banner a session's end shows, and what it offers: removed for
 * idleness (a rejoin button), out of date (close 4426: a reload button, the
 * server runs another build), or closed, with the reason in words
 * (client/event_text.ts, as the terminal says it). Pure: no DOM.
 *
 * @module
 */
import { CloseReason } from "../../protocol/datagram.ts";
import { describeClose } from "../event_text.ts";

/** A banner's kind, as `data-banner` says it. */
export type EndBanner = "closed" | "idle" | "outdated";

/** What the page shows when the session ends. */
export interface EndNotice {
  banner: EndBanner;
  text: string;
  /** The banner's button: join the same room again, or load the page again; or none. */
  action: "rejoin" | "reload" | null;
}

/** The WebSocket close code that tells an old page to reload (docs/protocol.md 7.2). */
export const OUT_OF_DATE_CODE = 4426;

/** The banner for a closed event (`closeCode`: the WebSocket's, when it closed for good). */
export function endNotice(
  reason: CloseReason | "lost",
  text: string,
  closeCode?: number,
): EndNotice {
  if (closeCode === OUT_OF_DATE_CODE) {
    return {
      banner: "outdated",
      text: "This page is out of date: the server runs a newer version. Reload it.",
      action: "reload",
    };
  }
  if (reason === CloseReason.IDLE) {
    return { banner: "idle", text: describeClose(reason, text), action: "rejoin" };
  }
  return { banner: "closed", text: describeClose(reason, text), action: null };
}
