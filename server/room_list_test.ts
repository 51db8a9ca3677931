import assert from "node:assert/strict";
import { usernameKey } from "../protocol/names.ts";
import type { RoomSummary } from "../protocol/tcrp.ts";
import { type KeyedRoom, pageBytes, pageOfRooms } from "./room_list.ts";

const keyed = (rooms: RoomSummary[]): KeyedRoom[] =>
  rooms.map((room) => ({ key: usernameKey(room.name), room }));

const room = (name: string): RoomSummary => ({
  name,
  members: 1,
  capacity: null,
  passwordProtected: false,
});

Deno.test("pageOfRooms: sorted by canonical key, cut at the limit, next is the last key", () => {
  const rooms = ["Zeta", "alpha", "Beta", "gamma", "Delta"].map(room);
  const first = pageOfRooms(keyed(rooms), { limit: 2 });
  assert.deepEqual(first.rooms.map((r) => r.name), ["alpha", "Beta"]);
  assert.equal(first.next, "beta");
  const second = pageOfRooms(keyed(rooms), { cursor: first.next, limit: 2 });
  assert.deepEqual(second.rooms.map((r) => r.name), ["Delta", "gamma"]);
  const last = pageOfRooms(keyed(rooms), { cursor: second.next, limit: 2 });
  assert.deepEqual(last.rooms.map((r) => r.name), ["Zeta"]);
  assert.equal(last.next, null);
  assert.equal(pageOfRooms(keyed(rooms), { limit: 5 }).next, null, "exactly full: last");
  assert.equal(pageOfRooms(keyed([]), {}).next, null);
});

Deno.test("pageOfRooms: the default limit is 100", () => {
  const rooms = Array.from({ length: 250 }, (_, i) => room(`r${String(i).padStart(3, "0")}`));
  const page = pageOfRooms(keyed(rooms), {});
  assert.equal(page.rooms.length, 100);
  assert.equal(page.next, "r099");
});

Deno.test("pageOfRooms: rooms opened and closed between pages; those open throughout are listed once", () => {
  // A random walk: between pages, rooms open and close; every room open for
  // the whole walk must appear exactly once, and nothing appears twice.
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let walk = 0; walk < 50; walk++) {
    const open = new Set(Array.from({ length: 300 }, (_, i) => `room ${i}`));
    const throughout = new Set(open);
    let next = 1000;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = pageOfRooms(keyed([...open].map(room)), {
        cursor,
        limit: 1 + Math.floor(random() * 40),
      });
      seen.push(...page.rooms.map((r) => r.name));
      cursor = page.next;
      for (let i = 0; i < 10; i++) {
        const names = [...open];
        const gone = names[Math.floor(random() * names.length)]!;
        open.delete(gone);
        throughout.delete(gone);
        open.add(`${random() < 0.5 ? "Room" : "room"} ${next++}`);
      }
    } while (cursor !== null);
    assert.equal(new Set(seen).size, seen.length, "nothing twice");
    for (const name of throughout) assert(seen.includes(name), `${name} was listed`);
  }
});

Deno.test("pageBytes: the UTF-8 size of the JSON answer", () => {
  const page = { rooms: [room("部屋")], next: null };
  assert.equal(
    pageBytes(page),
    new TextEncoder().encode(JSON.stringify({ status: 200, ...page })).length,
  );
  assert(pageBytes(page) > 60);
});
