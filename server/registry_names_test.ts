/**
 * The registry and names (docs/protocol.md section 2): rooms by canonical key
 * (case-insensitive), listed by it in their creators' spelling, and 409 for a
 * username or room name that looks the same as one already there.
 */
import assert from "node:assert/strict";
import type { ClientBody } from "../protocol/datagram.ts";
import { validateRoomName, validateUsername } from "../protocol/names.ts";
import type { Endpoint } from "./endpoint.ts";
import { DEFAULT_REGISTRY_LIMITS, type JoinResult, RoomRegistry } from "./registry.ts";
import { ipBoundTransport } from "./fake_transport_test_util.ts";

const now = 1_000_000;
const clocks = { monotonic: () => now, wall: () => now };
const transport = ipBoundTransport;
const ADDRESS = "10.0.0.1";
const from: Endpoint = { transport, address: ADDRESS, addressKey: ADDRESS };
const peer = { address: ADDRESS, addressKey: ADDRESS };

function registry(): RoomRegistry {
  return new RoomRegistry({ ...DEFAULT_REGISTRY_LIMITS, maxRoomsPerIp: 100, clocks });
}

function create(reg: RoomRegistry, roomName: string, username = "host"): JoinResult {
  return reg.create({ roomName, username, password: null, capacity: null, peer });
}

function join(reg: RoomRegistry, roomName: string, username: string): JoinResult {
  return reg.join({ roomName, username, passwordProof: null, peer });
}

/** "200" or "409 <text>". */
const outcome = (result: JoinResult) => result.ok ? "200" : `${result.status} ${result.error}`;

function token(result: JoinResult): Uint8Array {
  assert(result.ok, outcome(result));
  return result.token;
}

const send = (reg: RoomRegistry, roomName: string, t: Uint8Array, body: ClientBody) =>
  reg.handleDatagram(from, { roomName, token: t, body });

Deno.test("rooms are case- and normalization-insensitive; the creator's spelling is shown", () => {
  const reg = registry();
  const host = token(create(reg, "Lobby"));
  assert.equal(outcome(create(reg, "lobby")), '409 room "Lobby" already exists');
  assert.equal(outcome(create(reg, "LOBBY")), '409 room "Lobby" already exists');
  const bob = token(join(reg, "lobby", "bob"));
  assert.equal(outcome(join(reg, "LOBBY", "cid")), "200");
  assert.deepEqual(reg.listRooms().map((r) => [r.name, r.members]), [["Lobby", 3]]);
  assert.notEqual(reg.passwordOf("lObBy"), undefined);
  assert.equal(outcome(create(reg, "\u00c9t\u00e9")), "200");
  assert.equal(outcome(join(reg, "E\u0301TE\u0301", "dan")), "200"); // NFD, upper case
  // Datagrams name the room in any spelling of it; another room's name is 401.
  const welcome = send(reg, "LOBBY", bob, { kind: "hello", lastSeq: 0 });
  assert.equal(welcome[0]!.body.kind, "welcome");
  const w = welcome[0]!.body;
  assert(w.kind === "welcome");
  assert.equal(w.room, "Lobby");
  assert.equal(send(reg, "lobby", host, { kind: "hello", lastSeq: 0 })[0]!.body.kind, "welcome");
  assert.equal(reg.authenticate(from, { roomName: "lobby", token: bob, body: beat }), "member");
  assert.equal(
    reg.authenticate(from, { roomName: "lobby2", token: bob, body: beat }),
    "unknown-token",
  );
  assert.equal(
    reg.authenticate(from, { roomName: "\u00e9t\u00e9", token: bob, body: beat }),
    "unknown-token",
  );
});

const beat: ClientBody = { kind: "heartbeat", lastSeq: 0 };

Deno.test("LIST is sorted by canonical key, not by spelling", () => {
  const reg = registry();
  for (const name of ["beta", "Alpha", "Gamma", "alps", "ZULU", "delta"]) token(create(reg, name));
  assert.deepEqual(reg.listRooms().map((r) => r.name), [
    "Alpha",
    "alps",
    "beta",
    "delta",
    "Gamma",
    "ZULU",
  ]);
});

Deno.test("a room name that looks the same as an open room is 409; others are not", () => {
  const reg = registry();
  token(create(reg, "paypal"));
  // All Cyrillic (so valid): р а у р а, and І (U+0406), which looks like l.
  const lookalike = validateRoomName("\u0440\u0430\u0443\u0440\u0430\u0406");
  assert.equal(
    outcome(create(reg, "paypaI")),
    '409 the room name "paypaI" looks the same as the room "paypal"',
  );
  assert.match(outcome(create(reg, lookalike)), /^409 .* looks the same as the room "paypal"$/);
  assert.equal(outcome(create(reg, "paypal2")), "200");
  assert.equal(outcome(create(reg, "Sarn")), "200");
  assert.equal(outcome(create(reg, "Sam")), "200", "m is not rn");
  assert.equal(reg.roomCount, 4);
});

Deno.test("a username that looks the same as a member is 409; the same name keeps its text", () => {
  const reg = registry();
  token(create(reg, "lobby", "alice"));
  const cyrillic = validateUsername("\u0430\u0406\u0456\u0441\u0435"); // one script: valid
  assert.equal(
    outcome(join(reg, "lobby", cyrillic)),
    `409 the name "${cyrillic}" looks the same as someone in this room`,
  );
  assert.equal(outcome(join(reg, "lobby", "ALICE")), '409 the name "ALICE" is taken here');
  assert.equal(outcome(join(reg, "lobby", "Sam")), "200");
  assert.equal(outcome(join(reg, "lobby", "Sarn")), "200", "m is not rn");
  assert.equal(
    outcome(join(reg, "lobby", "5arn")),
    "200",
    "5 is not S: not in the table",
  );
  assert.equal(
    outcome(join(reg, "lobby", "SAM")),
    '409 the name "SAM" is taken here',
  );
  // The lookalike is free in another room.
  token(create(reg, "other", "bob"));
  assert.equal(outcome(join(reg, "other", cyrillic)), "200");
});

Deno.test("a member's keys go when it leaves: its lookalike may join then", () => {
  const reg = registry();
  token(create(reg, "lobby", "host"));
  const paypal = token(join(reg, "lobby", "paypal"));
  assert.match(outcome(join(reg, "lobby", "paypaI")), /^409 .*looks the same as someone/);
  send(reg, "lobby", paypal, { kind: "hello", lastSeq: 0 });
  send(reg, "lobby", paypal, { kind: "leave" });
  assert.equal(outcome(join(reg, "lobby", "paypaI")), "200");
  assert.match(outcome(join(reg, "lobby", "PAYPAL")), /^409 .*looks the same as someone/);
});

Deno.test("a closed room's keys go with it: its lookalike may be created then", () => {
  const reg = registry();
  const host = token(create(reg, "paypal", "host"));
  assert.match(outcome(create(reg, "paypaI")), /^409 /);
  send(reg, "paypal", host, { kind: "hello", lastSeq: 0 });
  send(reg, "PAYPAL", host, { kind: "leave" }); // the host leaves: the room closes
  assert.equal(reg.roomCount, 0);
  assert.equal(outcome(create(reg, "paypaI")), "200");
  assert.deepEqual(reg.listRooms().map((r) => r.name), ["paypaI"]);
});
