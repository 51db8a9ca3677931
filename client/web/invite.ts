/**
 * The invite link: the page's address with the room in the fragment,
 * `#room=<name>` percent-encoded, and never the password (a fragment is not
 * sent to the server, but it is in the history and whatever the link is
 * pasted into). Pure: no DOM.
 *
 * @module
 */

/** The room an address's fragment names, or null (none, or one that does not decode). */
export function roomFromFragment(hash: string): string | null {
  const fragment = hash.startsWith("#") ? hash.slice(1) : hash;
  for (const part of fragment.split("&")) {
    if (!part.startsWith("room=")) continue;
    try {
      const room = decodeURIComponent(part.slice(5));
      return room === "" ? null : room;
    } catch {
      return null; // a malformed escape: not a room name
    }
  }
  return null;
}

/** `#room=<name>`, with every character outside the unreserved ones percent-encoded. */
export function roomFragment(room: string): string {
  return `#room=${encodeURIComponent(room)}`;
}

/** The invite link for `room` on the page at `href` (its own fragment replaced). */
export function inviteLink(href: string, room: string): string {
  const url = new URL(href);
  url.hash = "";
  return url.href.replace(/#$/, "") + roomFragment(room);
}
