import assert from "node:assert/strict";
import { PasswordFailures } from "./password_failures.ts";

Deno.test("PasswordFailures: 20 wrong passwords per room and address, then 1 every 3 s", () => {
  let now = 0;
  const failures = new PasswordFailures({ clock: () => now });
  for (let i = 0; i < 20; i++) {
    assert.equal(failures.refusal("staff", "a"), null, `failure ${i + 1} is allowed`);
    failures.recordFailure("staff", "a");
  }
  assert.equal(failures.refusal("staff", "a"), "address");
  assert.equal(failures.refusal("staff", "b"), null, "another address is not affected");
  assert.equal(failures.refusal("lobby", "a"), null, "another room is not affected");
  now += 2_900;
  assert.equal(failures.refusal("staff", "a"), "address");
  now += 100;
  assert.equal(failures.refusal("staff", "a"), null, "one more after 3 s");
  failures.recordFailure("staff", "a");
  assert.equal(failures.refusal("staff", "a"), "address");
});

Deno.test("PasswordFailures: failures hashed together all count, into debt", () => {
  let now = 0;
  const failures = new PasswordFailures({ clock: () => now });
  // 25 guesses were let in together (each checked before any failed): all 25 are paid for.
  for (let i = 0; i < 25; i++) failures.recordFailure("staff", "a");
  now += 3_000 * 5;
  assert.equal(failures.refusal("staff", "a"), "address", "still 1 in debt after 15 s");
  now += 3_000;
  assert.equal(failures.refusal("staff", "a"), null);
});

Deno.test("PasswordFailures: a room's ceiling of 200, then 2 a second, across addresses", () => {
  let now = 0;
  const failures = new PasswordFailures({ clock: () => now });
  for (let i = 0; i < 200; i++) {
    const address = `10.0.${i >> 8}.${i & 255}`;
    assert.equal(failures.refusal("staff", address), null);
    failures.recordFailure("staff", address);
  }
  assert.equal(failures.refusal("staff", "192.0.2.99"), "room", "a new address is refused too");
  assert.equal(failures.refusal("lobby", "192.0.2.99"), null);
  now += 500;
  assert.equal(failures.refusal("staff", "192.0.2.99"), null, "one more every 0.5 s");
});

Deno.test("PasswordFailures: memory is bounded; sweep forgets recovered budgets", () => {
  let now = 0;
  const failures = new PasswordFailures({ clock: () => now, maxKeys: 100 });
  for (let i = 0; i < 500; i++) {
    failures.recordFailure(`room ${i % 3}`, `10.0.${i >> 8}.${i & 255}`);
  }
  assert.equal(failures.size.pairs, 100, "pairs past the bound are not tracked");
  assert.equal(failures.size.rooms, 3);
  // The rooms' ceiling still counted all 500.
  assert.equal(failures.refusal("room 0", "192.0.2.1"), null, "167 of 200 used");
  for (let i = 0; i < 40; i++) failures.recordFailure("room 0", "192.0.2.1");
  assert.equal(failures.refusal("room 0", "192.0.2.2"), "room");
  now += 3 * 60_000;
  failures.sweep();
  assert.deepEqual(failures.size, { pairs: 0, rooms: 0 });
});
