/**
 * The registry's per-address member limit, its member headroom, and the
 * order of join refusals before and after a password is hashed.
 */
import assert from "node:assert/strict";
import type { Peer } from "./endpoint.ts";
import type { PasswordRecord } from "./password.ts";
import {
  DEFAULT_REGISTRY_LIMITS,
  HEADROOM_MEMBERS_PER_ADDRESS,
  type RegistryOptions,
  RoomRegistry,
} from "./registry.ts";

const clocks = { monotonic: () => 0, wall: () => 1_700_000_000_000 };
const peer = (address: string): Peer => ({ address, addressKey: address });

function registry(overrides: Partial<RegistryOptions> = {}): RoomRegistry {
  return new RoomRegistry({ ...DEFAULT_REGISTRY_LIMITS, clocks, ...overrides });
}

function create(
  reg: RoomRegistry,
  room: string,
  from: string,
  password: PasswordRecord | null = null,
) {
  return reg.create({
    roomName: room,
    username: "host",
    password,
    capacity: null,
    peer: peer(from),
  });
}

function join(
  reg: RoomRegistry,
  room: string,
  name: string,
  from: string,
  proof: PasswordRecord | null = null,
) {
  return reg.join({ roomName: room, username: name, passwordProof: proof, peer: peer(from) });
}

const statusOf = (result: { ok: boolean; status?: number }) => result.ok ? 200 : result.status;

Deno.test("registry: members per address, across rooms, are limited (429) and freed as they go", () => {
  const reg = registry({ maxMembersPerIp: 5 });
  assert.equal(statusOf(create(reg, "a", "10.0.0.1")), 200);
  assert.equal(statusOf(create(reg, "b", "10.0.0.1")), 200);
  for (const name of ["x", "y", "z"]) assert.equal(statusOf(join(reg, "a", name, "10.0.0.1")), 200);
  assert.equal(reg.membersFrom("10.0.0.1"), 5);
  assert.equal(statusOf(join(reg, "b", "w", "10.0.0.1")), 429);
  assert.equal(reg.refuseJoin({ roomName: "b", peer: peer("10.0.0.1") })?.status, 429);
  assert.equal(statusOf(create(reg, "c", "10.0.0.1")), 429, "a create adds a member too");
  assert.equal(statusOf(join(reg, "b", "w", "10.0.0.2")), 200, "another address is not affected");
  // Closing room b (its host goes) frees its members' slots, whoever they came from.
  const tokenOfHost = create(reg, "d", "10.0.0.3");
  assert(tokenOfHost.ok);
  reg.revoke(tokenOfHost.token);
  assert.equal(reg.membersFrom("10.0.0.3"), 0);
  const shutdownCount = reg.memberCount;
  assert.equal(shutdownCount, 6);
  reg.shutdown();
  assert.equal(reg.membersFrom("10.0.0.1"), 0);
  assert.equal(statusOf(create(reg, "a", "10.0.0.1")), 200);
});

Deno.test("registry: past 80% of --max-members only addresses with fewer than 32 members get a slot", () => {
  const reg = registry({ maxMembers: 200, maxMembersPerRoom: 1000, maxMembersPerIp: 1000 });
  const crowd = "10.0.0.1";
  assert.equal(statusOf(create(reg, "big", crowd)), 200);
  // One address takes 160 of 200 slots: allowed until the headroom starts.
  for (let i = 1; i < 160; i++) assert.equal(statusOf(join(reg, "big", `m${i}`, crowd)), 200);
  const refused = join(reg, "big", "m160", crowd);
  assert.equal(statusOf(refused), 503);
  assert(!refused.ok && /nearly full/.test(refused.error));
  assert.equal(reg.refuseJoin({ roomName: "big", peer: peer(crowd) })?.status, 503);
  assert.equal(statusOf(create(reg, "other", crowd)), 503);
  // An address with fewer than 32 members still gets in, up to 32 of them.
  for (let i = 0; i < HEADROOM_MEMBERS_PER_ADDRESS; i++) {
    assert.equal(statusOf(join(reg, "big", `class${i}`, "10.0.0.2")), 200, `class${i}`);
  }
  assert.equal(statusOf(join(reg, "big", "class32", "10.0.0.2")), 503);
  for (let i = 0; i < 8; i++) assert.equal(statusOf(join(reg, "big", `x${i}`, "10.0.0.3")), 200);
  assert.equal(reg.memberCount, 200);
  const full = join(reg, "big", "late", "10.0.0.4");
  assert(!full.ok && full.status === 503 && /member limit/.test(full.error), "the total holds");
});

Deno.test("registry: refuseJoin says 429, 404, 403, 503 without the password; join says 401 before 409", () => {
  const reg = registry({ maxMembersPerIp: 3, maxMembers: 1000 });
  const record: PasswordRecord = { salt: new Uint8Array(16), hash: new Uint8Array(32) };
  assert.equal(statusOf(create(reg, "locked", "10.0.0.9", record)), 200);
  assert.equal(reg.refuseJoin({ roomName: "nowhere", peer: peer("10.0.0.1") })?.status, 404);
  assert.equal(reg.refuseJoin({ roomName: "locked", peer: peer("10.0.0.1") }), null);
  // Without the right proof, a taken name is 401, not 409: nobody learns who is inside.
  assert.equal(statusOf(join(reg, "locked", "host", "10.0.0.1")), 401);
  assert.equal(statusOf(join(reg, "locked", "host", "10.0.0.1", record)), 409);
  assert.equal(statusOf(join(reg, "locked", "ann", "10.0.0.1", record)), 200);
  const small = reg.create({
    roomName: "small",
    username: "host",
    password: null,
    capacity: 1,
    peer: peer("10.0.0.9"),
  });
  assert(small.ok);
  assert.equal(reg.refuseJoin({ roomName: "small", peer: peer("10.0.0.1") })?.status, 403);
  assert.equal(
    statusOf(join(reg, "small", "host", "10.0.0.1")),
    409,
    "409 before 403 after hashing",
  );
  // 429 comes first: before a room that does not exist.
  join(reg, "locked", "bob", "10.0.0.1", record);
  join(reg, "locked", "cid", "10.0.0.1", record);
  assert.equal(reg.refuseJoin({ roomName: "nowhere", peer: peer("10.0.0.1") })?.status, 429);
});

Deno.test("registry: each refusal for members per address is reported once, as member-limit", () => {
  const reports: string[] = [];
  const reg = registry({
    maxMembersPerIp: 1,
    maxRoomsPerIp: 5,
    onAbuse: (kind, key) => reports.push(`${kind} ${key}`),
  });
  assert.equal(statusOf(create(reg, "a", "10.0.0.1")), 200);
  assert.equal(
    reg.refuseCreate({ roomName: "b", username: "h", capacity: null, peer: peer("10.0.0.1") })
      ?.status,
    429,
  );
  assert.deepEqual(reports, [], "asking is not refusing");
  assert.equal(statusOf(create(reg, "b", "10.0.0.1")), 429);
  assert.equal(reg.refuseJoin({ roomName: "a", peer: peer("10.0.0.1") })?.status, 429);
  assert.equal(statusOf(join(reg, "a", "x", "10.0.0.1")), 429);
  assert.deepEqual(reports, Array(3).fill("member-limit 10.0.0.1"));
});
