/**
 * A room's mode (sealed or plain, fixed at creation) and the onRemoved hook:
 * called once for every member removed, whatever the reason.
 */
import assert from "node:assert/strict";
import { CloseReason, decodeClientDatagram, encodeClientDatagram } from "../protocol/datagram.ts";
import type { Endpoint, Peer } from "./endpoint.ts";
import { ipBoundTransport } from "./fake_transport_test_util.ts";
import type { PasswordRecord } from "./password.ts";
import { DEFAULT_REGISTRY_LIMITS, type RegistryOptions, RoomRegistry } from "./registry.ts";
import type { Member } from "./room_state.ts";

let now = 1_000_000;
const clocks = { monotonic: () => now, wall: () => now };
const peer = (address = "192.0.2.1"): Peer => ({ address, addressKey: address });

function registry(overrides: Partial<RegistryOptions> = {}) {
  now = 1_000_000;
  const removed: string[] = [];
  const reg = new RoomRegistry({
    ...DEFAULT_REGISTRY_LIMITS,
    clocks,
    onRemoved: (member: Member) => removed.push(`${member.room.name}/${member.name}`),
    ...overrides,
  });
  return { reg, removed };
}

function create(
  reg: RoomRegistry,
  room: string,
  name: string,
  sealed: boolean,
  password?: PasswordRecord,
) {
  const result = reg.create({
    roomName: room,
    username: name,
    password: password ?? null,
    capacity: null,
    peer: peer(),
    sealed,
  });
  assert(result.ok, result.ok ? "" : result.error);
  return result;
}

function join(reg: RoomRegistry, room: string, name: string, sealed: boolean) {
  return reg.join({ roomName: room, username: name, passwordProof: null, peer: peer(), sealed });
}

const endpointAt = (port: number): Endpoint & { port: number } => ({
  transport: ipBoundTransport,
  address: "192.0.2.1",
  addressKey: "192.0.2.1",
  port,
});

/** Says HELLO for a token from `port`, so the member has an endpoint. */
function hello(reg: RoomRegistry, room: string, token: Uint8Array, port: number) {
  const datagram = decodeClientDatagram(
    encodeClientDatagram({ roomName: room, token, body: { kind: "hello", lastSeq: 0 } }),
  );
  return reg.handleDatagram(endpointAt(port), datagram);
}

Deno.test("registry mode: a sealed room takes sealed joins only, a plain room plain ones only (403)", () => {
  const { reg } = registry();
  create(reg, "vault", "ann", true);
  create(reg, "lobby", "bob", false);
  const plainToSealed = join(reg, "vault", "eve", false);
  assert(!plainToSealed.ok);
  assert.equal(plainToSealed.status, 403);
  assert.match(plainToSealed.error, /takes sealed sessions only/);
  const sealedToPlain = join(reg, "lobby", "cid", true);
  assert(!sealedToPlain.ok);
  assert.equal(sealedToPlain.status, 403);
  assert.match(sealedToPlain.error, /plain-text clients only/);
  // The same before the password is looked at (refuseJoin), and absent means plain.
  assert.equal(reg.refuseJoin({ roomName: "vault", peer: peer() })?.status, 403);
  assert.equal(reg.refuseJoin({ roomName: "vault", peer: peer(), sealed: true }), null);
  assert.equal(reg.refuseJoin({ roomName: "lobby", peer: peer(), sealed: true })?.status, 403);
  assert(join(reg, "vault", "dan", true).ok);
  assert(join(reg, "lobby", "dan", false).ok);
  assert.equal(reg.memberCount, 4);
});

Deno.test("registry mode: the mode refusal comes before the password, so a plain client learns nothing of it", () => {
  const { reg } = registry();
  const record: PasswordRecord = { salt: new Uint8Array(16), hash: new Uint8Array(32) };
  create(reg, "vault", "ann", true, record);
  const plain = reg.join({
    roomName: "vault",
    username: "eve",
    passwordProof: record,
    peer: peer(),
  });
  assert(!plain.ok);
  assert.equal(plain.status, 403, "not admitted even with the right password proof");
});

Deno.test("registry mode: LIST rows carry the mode; an admission says the host and the lock", () => {
  const { reg } = registry();
  const record: PasswordRecord = { salt: new Uint8Array(16), hash: new Uint8Array(32) };
  const created = create(reg, "vault", "ann", true, record);
  assert.deepEqual(created.room, { host: "ann", passwordProtected: true });
  create(reg, "lobby", "bob", false);
  const joined = join(reg, "lobby", "cid", false);
  assert(joined.ok);
  assert.deepEqual(joined.room, { host: "bob", passwordProtected: false });
  assert.deepEqual(reg.listRooms().map((r) => [r.name, r.sealed]), [
    ["lobby", false],
    ["vault", true],
  ]);
});

Deno.test("onRemoved: once per member for leave, revoke, time-out, room close and shutdown", () => {
  const { reg, removed } = registry();
  const host = create(reg, "a", "ann", true);
  const bob = join(reg, "a", "bob", true);
  const cid = join(reg, "a", "cid", true);
  const dan = join(reg, "a", "dan", true);
  assert(bob.ok && cid.ok && dan.ok);
  // Revoke (the answer could not be written).
  reg.revoke(bob.token);
  assert.deepEqual(removed, ["a/bob"]);
  reg.revoke(bob.token);
  assert.deepEqual(removed, ["a/bob"], "a second revoke removes nobody");
  // LEAVE.
  hello(reg, "a", cid.token, 1);
  reg.handleDatagram(endpointAt(1), { roomName: "a", token: cid.token, body: { kind: "leave" } });
  assert.deepEqual(removed, ["a/bob", "a/cid"]);
  // The host times out (no HELLO): the room closes and takes dan with it.
  hello(reg, "a", dan.token, 2);
  now += DEFAULT_REGISTRY_LIMITS.helloTimeoutMs;
  const out = reg.tick();
  assert(out.some((o) => o.body.kind === "closed" && o.body.reason === CloseReason.HOST_LEFT));
  assert.deepEqual(removed, ["a/bob", "a/cid", "a/ann", "a/dan"]);
  assert(host.ok);
  // Shutdown removes everyone left, once each.
  create(reg, "b", "eve", false);
  const fay = join(reg, "b", "fay", false);
  assert(fay.ok);
  reg.shutdown();
  assert.deepEqual(removed.slice(4).sort(), ["b/eve", "b/fay"]);
  reg.shutdown();
  assert.equal(removed.length, 6);
});
