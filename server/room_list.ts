/**
 * LIST_ROOMS pages: rooms sorted by their canonical key, cut after a
 * cursor, at most a limit of them. The cursor is the last listed room's key
 * (opaque to clients), so a room open during a whole walk is listed exactly
 * once however others open and close between pages: each page starts
 * strictly after the key the previous one ended on.
 *
 * @module
 */
import { LIST_LIMIT_DEFAULT, type ListRequest, type RoomSummary } from "../protocol/tcrp.ts";

/** One page and the cursor of the next (null: this is the last). */
export interface RoomPage {
  rooms: RoomSummary[];
  next: string | null;
}

/** A listed room and its canonical key (the registry keeps it, so a LIST computes none). */
export interface KeyedRoom {
  key: string;
  room: RoomSummary;
}

/**
 * The page `request` asks for, out of `rooms` (any order). Rooms whose keys
 * are equal are one room to the registry, so the order between them does not
 * matter.
 */
export function pageOfRooms(
  rooms: readonly KeyedRoom[],
  request: Pick<ListRequest, "cursor" | "limit">,
): RoomPage {
  const limit = request.limit ?? LIST_LIMIT_DEFAULT;
  const cursor = request.cursor ?? null;
  const keyed: [string, RoomSummary][] = [];
  for (const { key, room } of rooms) {
    // Keys are compared by UTF-16 code units, a total order that is the same on every call.
    if (cursor === null || key > cursor) keyed.push([key, room]);
  }
  keyed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const page = keyed.slice(0, limit);
  return {
    rooms: page.map(([, room]) => room),
    next: keyed.length > limit ? page.at(-1)![0] : null,
  };
}

/** Bytes of a page's answer as it goes out (the JSON state-1 payload, UTF-8). */
export function pageBytes(page: RoomPage): number {
  return new TextEncoder().encode(JSON.stringify({ status: 200, ...page })).length;
}
