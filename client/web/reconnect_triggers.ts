/// <reference lib="dom" />
/**
 * When the page comes back, the connection is tried at once instead of at
 * the next backoff step: the network returned (`online`), the tab became
 * visible (`visibilitychange`; a hidden tab's timers are throttled, and iOS
 * drops a locked page's sockets), or the page was shown again (`pageshow`,
 * from the back/forward cache too).
 *
 * @module
 */

/** Calls `nudge` on each of those; returns the function that stops it. */
export function onComeBack(
  nudge: () => void,
  win: Window = window,
  doc: Document = document,
): () => void {
  const visible = () => {
    if (doc.visibilityState === "visible") nudge();
  };
  win.addEventListener("online", nudge);
  win.addEventListener("pageshow", nudge);
  doc.addEventListener("visibilitychange", visible);
  return () => {
    win.removeEventListener("online", nudge);
    win.removeEventListener("pageshow", nudge);
    doc.removeEventListener("visibilitychange", visible);
  };
}
