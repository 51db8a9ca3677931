import assert from "node:assert/strict";
import { CACHE_COUNTER_SPAN, REKEY_INTERVAL_MS, RoomKeys } from "./room_keys.ts";

function keys(options: Partial<ConstructorParameters<typeof RoomKeys>[0]> = {}) {
  let now = 0;
  let fill = 0;
  const room = new RoomKeys<string>({
    random: (size) => new Uint8Array(size).fill(++fill),
    monotonic: () => now,
    ...options,
  });
  return { room, advance: (ms: number) => (now += ms) };
}

Deno.test("room keys: epoch 1 with a fresh key; one counter across epochs; no rekey without a departure", () => {
  const { room } = keys();
  assert.equal(room.epoch, 1);
  assert.equal(room.due(), "seal");
  assert.deepEqual([room.takeCounter(), room.takeCounter()], [0, 1]);
  const first = room.key;
  room.markDeparture();
  assert.equal(room.due(), "rekey"); // the first departure waits for no one
  room.rekey();
  assert.equal(room.epoch, 2);
  assert.notDeepEqual(room.key, first);
  assert.equal(room.takeCounter(), 2);
  assert.equal(room.due(), "seal");
});

Deno.test("room keys: departures rekey at most once per 500 ms; what is due meanwhile is held, bounded", () => {
  const { room, advance } = keys({ maxHeld: 3 });
  room.markDeparture();
  room.rekey();
  advance(100);
  room.markDeparture();
  assert.equal(room.due(), "hold");
  for (const item of ["a", "b", "c"]) assert.equal(room.hold(item), true);
  assert.equal(room.hold("d"), false); // the oldest goes
  assert.deepEqual(room.stats, { rekeys: 1, held: 4, heldDropped: 1 });
  assert.equal(room.rekeyAllowedAt, REKEY_INTERVAL_MS);
  advance(REKEY_INTERVAL_MS - 101);
  assert.equal(room.due(), "hold");
  advance(1);
  assert.equal(room.due(), "rekey");
  assert.deepEqual(room.takeHeld(), ["b", "c", "d"]);
  assert.equal(room.heldCount, 0);
});

Deno.test("room keys: past the counter limit a rekey starts the counter again under a fresh key, without waiting for the cap", () => {
  const { room } = keys({ counterLimit: 1 });
  room.markDeparture();
  room.rekey();
  assert.deepEqual([room.takeCounter(), room.takeCounter()], [0, 1]);
  assert.equal(room.due(), "rekey");
  room.rekey();
  assert.equal(room.takeCounter(), 0);
});

Deno.test("room keys: the last epoch is never passed", () => {
  const { room } = keys({ epochLimit: 2 });
  room.markDeparture();
  room.rekey();
  room.markDeparture();
  assert.equal(room.due(), "exhausted");
  assert.throws(() => room.rekey(), RangeError);
});

Deno.test("room keys: the cache serves one seq's exact bytes, is bounded, and empties at a rekey", () => {
  const { room } = keys({ cacheEntries: 2, cacheBytes: 100 });
  const plain = (seq: number) => new Uint8Array([0x81, 0, 0, 0, seq]);
  room.remember(1, plain(1), new Uint8Array(10), room.takeCounter());
  assert.equal(room.cached(1, plain(1))?.length, 10);
  assert.equal(room.cached(1, plain(2)), undefined); // another event under that seq: never served
  room.remember(2, plain(2), new Uint8Array(10), room.takeCounter());
  room.remember(3, plain(3), new Uint8Array(10), room.takeCounter());
  assert.equal(room.cacheSize, 2);
  assert.equal(room.cached(1, plain(1)), undefined);
  room.remember(4, plain(4), new Uint8Array(90), room.takeCounter()); // past the bytes: the older ones go
  assert.equal(room.cacheSize, 1);
  assert.equal(room.cacheBytes, 95);
  room.markDeparture();
  room.rekey();
  assert.equal(room.cacheSize, 0);
});

Deno.test("room keys: a cached EVENT sealed more than CACHE_COUNTER_SPAN counters ago is sealed afresh", () => {
  const { room } = keys();
  const plain = new Uint8Array([0x81, 0, 0, 0, 7]);
  room.remember(7, plain, new Uint8Array(10), room.takeCounter());
  for (let i = 1; i < CACHE_COUNTER_SPAN; i++) room.takeCounter(); // the next counter is SPAN on
  assert.equal(room.cached(7, plain)?.length, 10, "still within a client's window");
  room.takeCounter();
  // Past it a client would drop the copy as too old to tell from a replay, unopened.
  assert.equal(room.cached(7, plain), undefined);
});
