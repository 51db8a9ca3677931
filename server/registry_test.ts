import assert from "node:assert/strict";
import {
  type ClientBody,
  decodeClientDatagram,
  encodeClientDatagram,
  encodeServerDatagram,
  MAX_DATAGRAM_BYTES,
  type ServerBody,
} from "../protocol/datagram.ts";
import { validateRoomName, validateUsername } from "../protocol/names.ts";
import type { Endpoint, Outgoing, Peer } from "./endpoint.ts";
import type { PasswordRecord } from "./password.ts";
import {
  type CreateRequest,
  DEFAULT_REGISTRY_LIMITS,
  type JoinResult,
  type RegistryOptions,
  RoomRegistry,
} from "./registry.ts";
import { ipBoundTransport } from "./fake_transport_test_util.ts";

/** Monotonic time, and how far the wall clock is from it (a clock step changes only that). */
let now = 1_000_000;
let wallStep = 0;
const clocks = { monotonic: () => now, wall: () => now + wallStep };

const transport = ipBoundTransport;

type TestEndpoint = Endpoint & { port: number };
const peer = (address: string): Peer => ({ address, addressKey: address });

/** Deterministic distinct tokens: "000…001", "000…002", … */
const counterBytes = (n = 0) => (size: number) =>
  new TextEncoder().encode(String(++n).padStart(size, "0"));

/** A fresh registry with the default limits, the fake clock reset to 1_000_000. */
function registry(overrides: Partial<RegistryOptions> = {}): RoomRegistry {
  now = 1_000_000;
  wallStep = 0;
  names.clear();
  const options = { ...DEFAULT_REGISTRY_LIMITS, clocks, randomBytes: counterBytes() };
  return new RoomRegistry({ ...options, ...overrides });
}

type Client = { name: string; room: string; token: Uint8Array; ep: TestEndpoint };

/** Who is behind each port, for {@linkcode show}. */
const names = new Map<number, string>();
let nextPort = 20_000;

function endpoint(name: string, address = `10.0.${nextPort % 250}.${nextPort % 7}`): TestEndpoint {
  const ep = { transport, address, addressKey: address, port: nextPort++ };
  names.set(ep.port, name);
  return ep;
}

/** Creates or joins a room (no password, no capacity); no HELLO yet. */
function enter(
  reg: RoomRegistry,
  room: string,
  name: string,
  how = "join",
  address?: string,
): Client {
  const ep = endpoint(name, address);
  const request = { roomName: room, username: name, peer: peer(ep.address) };
  const result = how === "create"
    ? reg.create({ ...request, password: null, capacity: null })
    : reg.join({ ...request, passwordProof: null });
  if (!result.ok) throw new Error(`refused: ${result.status} ${result.error}`);
  return { name, room, token: result.token, ep };
}

function send(reg: RoomRegistry, c: Client, body: ClientBody, from = c.ep): Outgoing[] {
  return reg.handleDatagram(from, { roomName: c.room, token: c.token, body });
}

/** Enters (from `address`, or one of its own) and says HELLO. */
function member(
  reg: RoomRegistry,
  room: string,
  name: string,
  how?: string,
  address?: string,
): Client {
  const c = enter(reg, room, name, how, address);
  send(reg, c, hello(0));
  return c;
}

const msg = (msgId: number, text = `t${msgId}`): ClientBody => ({ kind: "message", msgId, text });
const beat = (lastSeq = 0xffff_ffff): ClientBody => ({ kind: "heartbeat", lastSeq });
const hello = (lastSeq: number): ClientBody => ({ kind: "hello", lastSeq });
const resend = (fromSeq: number, toSeq: number): ClientBody => ({ kind: "resend", fromSeq, toSeq });

/** Every delivered datagram in send order, e.g. "bob ack 7 #3, ann event1 #3 bob". */
function show(out: Outgoing[]): string {
  const nameOf = (ep: Endpoint) => names.get((ep as TestEndpoint).port);
  return out.flatMap(({ to, body }) => to.map((ep) => `${nameOf(ep)} ${describe(body)}`))
    .join(", ");
}

function describe(b: ServerBody): string {
  if (b.kind === "event") return `event${b.type} #${b.seq} ${b.name}`;
  if (b.kind === "ack") return `ack ${b.msgId} #${b.seq}`;
  if (b.kind === "welcome") return `welcome #${b.headSeq}`;
  if (b.kind === "heartbeatAck") return `heartbeatAck #${b.headSeq}`;
  return b.kind === "closed" ? `closed${b.reason}` : `error${b.code}`;
}

/** What {@linkcode show} prints for a MESSAGE relayed in the pair room. */
const relayed = (from: string, msgId: number, seq: number) =>
  `${from} ack ${msgId} #${seq}, ann event1 #${seq} ${from}, bob event1 #${seq} ${from}`;

/** Seqs of the EVENTs in `out`, and the list from..to for comparing them. */
const seqs = (out: Outgoing[]) => out.flatMap((o) => (o.body.kind === "event" ? [o.body.seq] : []));
const span = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Advances the clock in steps, letting `alive` heartbeat before each tick. */
function pass(reg: RoomRegistry, ms: number, alive: Client[] = [], step = 5_000): Outgoing[] {
  const out: Outgoing[] = [];
  for (let left = ms; left > 0; left -= step) {
    now += Math.min(step, left);
    for (const c of alive) send(reg, c, beat());
    out.push(...reg.tick());
  }
  return out;
}

/** "ok" or the refusal status of a create or join (from address "1"). */
const status = (result: JoinResult) => (result.ok ? "ok" : result.status);
const tryJoin = (reg: RoomRegistry, roomName: string, username: string, proof?: PasswordRecord) =>
  status(reg.join({ roomName, username, passwordProof: proof ?? null, peer: peer("1") }));
const tryCreate = (reg: RoomRegistry, roomName: string, username: string, more?: Extra) =>
  status(
    reg.create({ roomName, username, password: null, capacity: null, peer: peer("1"), ...more }),
  );
type Extra = Partial<CreateRequest>;
const secret: PasswordRecord = { salt: new Uint8Array(16), hash: new Uint8Array(32).fill(1) };

/** A room "r" with host ann and member bob, both past HELLO. */
function pair(overrides: Partial<RegistryOptions> = {}) {
  const reg = registry(overrides);
  return { reg, ann: member(reg, "r", "ann", "create"), bob: member(reg, "r", "bob") };
}

Deno.test("create: host, 32-byte token, JOINED as seq 1, WELCOME and replay on HELLO", () => {
  const reg = registry();
  const res = reg.create({
    roomName: "r",
    username: "ann",
    password: null,
    capacity: 5,
    peer: peer("1"),
  });
  assert(res.ok);
  assert.equal(res.token.length, 32);
  assert.deepEqual(res.outgoing, [], "nobody has an endpoint yet");
  assert.equal(reg.roomCount, 1);
  assert.equal(reg.memberCount, 1);
  const from = endpoint("ann", "1");
  const body: ClientBody = { kind: "hello", lastSeq: 0 };
  const out = reg.handleDatagram(from, { roomName: "r", token: res.token, body });
  assert.deepEqual(out, [
    { to: [from], body: { kind: "welcome", headSeq: 1, room: "r", host: "ann", members: ["ann"] } },
    {
      to: [from],
      body: { kind: "event", seq: 1, timeMs: now, type: 2, name: "ann", text: "" },
      replay: true,
    },
  ]);
});

Deno.test("join: JOINED goes to members with an endpoint; the joiner's WELCOME lists all", () => {
  const reg = registry();
  const ann = member(reg, "r", "ann", "create");
  const ep = endpoint("bob", "10.9.9.9");
  const result = reg.join({
    roomName: "r",
    username: "bob",
    passwordProof: null,
    peer: peer("10.9.9.9"),
  });
  assert(result.ok);
  assert.equal(result.token.length, 32);
  assert.notDeepEqual(result.token, ann.token);
  assert.equal(show(result.outgoing), "ann event2 #2 bob");
  const out = send(reg, { name: "bob", room: "r", token: result.token, ep }, hello(0));
  const welcome = { kind: "welcome", headSeq: 2, room: "r", host: "ann", members: ["ann", "bob"] };
  assert.deepEqual(out[0]!.body, welcome);
  assert.equal(show(out), "bob welcome #2, bob event2 #1 ann, bob event2 #2 bob");
  assert.equal(reg.memberCount, 2);
});

Deno.test("join: a token that is already in use is drawn again", () => {
  let calls = 0;
  const reg = registry({ randomBytes: (n) => new Uint8Array(n).fill(++calls <= 2 ? 7 : 8) });
  const ann = enter(reg, "r", "ann", "create");
  const bob = enter(reg, "r", "bob");
  assert.equal(calls, 3);
  assert.notDeepEqual(bob.token, ann.token);
});

Deno.test("refusals: 404, 401, 403 and 409, with nothing changed", () => {
  const reg = registry();
  assert.equal(tryCreate(reg, "locked", "ann", { password: secret, capacity: 2 }), "ok");
  assert.equal(tryJoin(reg, "nowhere", "bob"), 404);
  assert.equal(reg.passwordOf("nowhere"), undefined);
  assert.equal(tryJoin(reg, "locked", "bob"), 401, "missing password");
  assert.equal(tryJoin(reg, "locked", "bob", { ...secret }), 401, "an equal record is no proof");
  assert.equal(reg.memberCount, 1);
  assert.equal(reg.passwordOf("locked"), secret);
  assert.equal(tryJoin(reg, "locked", "bob", reg.passwordOf("locked")!), "ok");
  assert.equal(tryJoin(reg, "locked", "cid", secret), 403, "capacity 2 counts the host");
  assert.equal(tryCreate(reg, "locked", "dan"), 409);
  assert.equal(tryCreate(reg, "open", "Ann"), "ok");
  assert.equal(reg.passwordOf("open"), null);
  assert.equal(tryJoin(reg, "open", "aNN"), 409, "names compare case-insensitively");
  assert.equal(tryJoin(reg, "open", "bob", secret), "ok", "a proof for an open room does no harm");
  assert.equal(tryJoin(reg, "open", "BOB"), 409);
  assert.equal(reg.memberCount, 4);
  assert.deepEqual(reg.listRooms().map((room) => room.members), [2, 2]);
});

Deno.test("refusals: 503 at maxRooms and at maxMembers", () => {
  const reg = registry({ maxRooms: 2, maxMembers: 3 });
  assert.equal(tryCreate(reg, "one", "a"), "ok");
  assert.equal(tryCreate(reg, "two", "a"), "ok");
  assert.equal(tryCreate(reg, "three", "a"), 503, "maxRooms 2");
  assert.equal(tryCreate(reg, "one", "a"), 409, "an existing name is still a 409");
  assert.equal(tryJoin(reg, "one", "b"), "ok");
  assert.equal(tryJoin(reg, "two", "b"), 503, "maxMembers 3");
  reg.shutdown();
  assert.equal(tryCreate(reg, "one", "a"), "ok");
  assert.equal(tryJoin(reg, "one", "b"), "ok");
  assert.equal(tryJoin(reg, "one", "c"), "ok");
  assert.equal(tryCreate(reg, "two", "d"), 503, "create past maxMembers");
  assert.equal(reg.roomCount, 1);
  assert.equal(reg.memberCount, 3);
});

Deno.test("listRooms: members, capacity and passwordProtected, sorted by name", () => {
  const reg = registry();
  tryCreate(reg, "zoo", "a");
  tryCreate(reg, "Apple", "b", { password: secret, capacity: 3 });
  tryCreate(reg, "mid", "c", { capacity: 10 });
  tryJoin(reg, "zoo", "d");
  assert.deepEqual(reg.listRooms(), [
    { name: "Apple", members: 1, capacity: 3, passwordProtected: true, sealed: false },
    { name: "mid", members: 1, capacity: 10, passwordProtected: false, sealed: false },
    { name: "zoo", members: 2, capacity: null, passwordProtected: false, sealed: false },
  ]);
  assert.deepEqual(registry().listRooms(), []);
});

Deno.test("HELLO: lastSeq 0 replays the last 50 events, lastSeq N those after N", () => {
  const { reg, ann, bob } = pair({ rateLimit: 0 });
  for (let i = 1; i <= 70; i++) send(reg, ann, msg(i)); // head 72
  const fresh = send(reg, bob, hello(0));
  assert.equal(describe(fresh[0]!.body), "welcome #72");
  assert.deepEqual(seqs(fresh), span(23, 72));
  assert.equal(fresh.length, 51);
  assert.deepEqual(seqs(send(reg, bob, hello(65))), span(66, 72));
  assert.equal(show(send(reg, bob, hello(72))), "bob welcome #72");
});

Deno.test("historyBytes: past a room's text budget the oldest events are not replayed", () => {
  // "ann" + a 10-character text cost 2 × 13 = 26; 100 bytes keep the newest 3.
  const { reg, ann, bob } = pair({ rateLimit: 0, historyBytes: 100 });
  for (let i = 1; i <= 10; i++) send(reg, ann, msg(i, "0123456789")); // head 12
  assert.deepEqual(seqs(send(reg, bob, hello(0))), span(10, 12));
  assert.deepEqual(seqs(send(reg, bob, hello(5))), span(10, 12), "lastSeq 5: only what is kept");
});

Deno.test("MESSAGE: ACK to the sender, EVENT to every member with an endpoint", () => {
  const { reg, ann, bob } = pair();
  enter(reg, "r", "cid"); // no HELLO, so no endpoint
  const out = send(reg, bob, msg(7, "hello all"));
  assert.equal(show(out), relayed("bob", 7, 4));
  const event = { kind: "event", seq: 4, timeMs: now, type: 1, name: "bob", text: "hello all" };
  assert.deepEqual(out[1]!.body, event);
  now += 5;
  assert.equal(show(send(reg, bob, msg(7, "again"))), "bob ack 7 #4", "a repeated msgId");
  assert.equal(show(send(reg, bob, msg(8))), relayed("bob", 8, 5));
  assert.equal(show(send(reg, ann, msg(7))), relayed("ann", 7, 6), "msgIds are per member");
});

Deno.test("MESSAGE: a member's last 1024 msgIds are remembered, older ones relayed anew", () => {
  const { reg, bob } = pair({ rateLimit: 0 });
  for (let msgId = 1; msgId <= 1_025; msgId++) send(reg, bob, msg(msgId)); // seqs 3-1027
  assert.equal(show(send(reg, bob, msg(2))), "bob ack 2 #4", "the oldest remembered");
  assert.equal(show(send(reg, bob, msg(1_025))), "bob ack 1025 #1027", "the newest");
  assert.equal(show(send(reg, bob, msg(1))), relayed("bob", 1, 1_028), "forgotten");
  assert.equal(show(send(reg, bob, msg(2))), relayed("bob", 2, 1_029), "forgotten in turn");
});

Deno.test("MESSAGE: one whose EVENT would not fit in a datagram gets 413 and is not relayed", () => {
  const { reg } = pair();
  const big = member(reg, "r", validateUsername("日".repeat(32))); // 96 bytes of name
  // Round-tripped through the codec, so each datagram is one the server really accepts.
  const wire = (text: string) =>
    decodeClientDatagram(
      encodeClientDatagram({ roomName: "r", token: big.token, body: msg(1, text) }),
    );
  const largest = "x".repeat(MAX_DATAGRAM_BYTES - (2 + 1 + 32 + 5)); // fills a client datagram
  const out = reg.handleDatagram(big.ep, wire(largest));
  for (const o of out) assert.ok(encodeServerDatagram(o.body).length <= MAX_DATAGRAM_BYTES);
  assert.equal(show(out), `${big.name} error413`);
  const fits = "x".repeat(MAX_DATAGRAM_BYTES - 15 - 96); // EVENT of exactly 4096 bytes
  const sent = reg.handleDatagram(big.ep, wire(fits));
  assert.deepEqual(sent.map((o) => [o.body.kind, o.to.length]), [["ack", 1], ["event", 3]]);
  assert.equal(encodeServerDatagram(sent[1]!.body).length, MAX_DATAGRAM_BYTES);
});

Deno.test("HEARTBEAT resends what the client is missing; RESEND sends a range", () => {
  const { reg, ann, bob } = pair();
  for (let i = 1; i <= 4; i++) send(reg, ann, msg(i)); // seqs 3..6
  assert.equal(show(send(reg, bob, beat(4))), "bob event1 #5 ann, bob event1 #6 ann");
  assert.deepEqual(send(reg, bob, beat(6)), []);
  assert.deepEqual(seqs(send(reg, bob, resend(2, 4))), [2, 3, 4]);
  assert.deepEqual(seqs(send(reg, bob, resend(5, 99))), [5, 6]);
  assert.deepEqual(send(reg, bob, resend(7, 9)), []);
});

Deno.test("history: only historyLimit events are kept for RESEND", () => {
  const { reg, ann, bob } = pair({ historyLimit: 5 });
  for (let i = 1; i <= 8; i++) send(reg, ann, msg(i)); // head 10, kept 6..10
  assert.deepEqual(seqs(send(reg, bob, resend(1, 10))), span(6, 10));
  assert.deepEqual(send(reg, bob, resend(1, 5)), []);
  assert.deepEqual(seqs(send(reg, bob, hello(2))), span(6, 10));
});

Deno.test("LEAVE: CLOSED 5 to the leaver, LEFT to the others", () => {
  const { reg, bob } = pair();
  assert.equal(show(send(reg, bob, { kind: "leave" })), "bob closed5, ann event3 #3 bob");
  assert.equal(reg.memberCount, 1);
  assert.equal(show(send(reg, bob, beat())), "bob error401");
  assert.equal(tryJoin(reg, "r", "BOB"), "ok", "the name is free again");
});

Deno.test("host LEAVE: CLOSED 5 to the host, CLOSED 1 to the rest; the room is gone", () => {
  const { reg, ann, bob } = pair();
  const cid = member(reg, "r", "cid");
  assert.equal(show(send(reg, ann, { kind: "leave" })), "ann closed5, bob closed1, cid closed1");
  assert.deepEqual(reg.listRooms(), []);
  assert.equal(reg.memberCount, 0);
  const dan = member(reg, "r", "dan", "create");
  for (const old of [ann, bob, cid]) {
    assert.equal(show(send(reg, old, beat())), `${old.name} error401`);
  }
  assert.equal(show(send(reg, dan, msg(1))), "dan ack 1 #2, dan event1 #2 dan");
});

Deno.test("401: unknown token, token from another IP, token for another room change nothing", () => {
  const { reg, ann, bob } = pair();
  const zed = member(reg, "other", "zed", "create");
  const eve = { ...bob, token: new Uint8Array(32).fill(0xee), ep: endpoint("eve") };
  assert.equal(show(send(reg, eve, { kind: "leave" })), "eve error401");
  const thief = endpoint("thief", "192.0.2.1");
  for (const body of [{ kind: "leave" }, msg(1), beat(0), hello(0)] as ClientBody[]) {
    assert.equal(show(send(reg, bob, body, thief)), "thief error401");
  }
  assert.equal(show(send(reg, { ...zed, room: "r" }, { kind: "leave" })), "zed error401");
  assert.equal(show(send(reg, { ...bob, room: "other" }, msg(2))), "bob error401");
  assert.equal(reg.memberCount, 3);
  assert.deepEqual(reg.listRooms().map((r) => r.members), [1, 2]);
  // The endpoint did not move and the log did not grow: the next message is seq 3, to bob's port.
  assert.equal(show(send(reg, ann, msg(1))), relayed("ann", 1, 3));
  // Nor do the thief's datagrams keep bob alive.
  const out: Outgoing[] = [];
  for (let i = 0; i < 3; i++) {
    now += 10_000;
    for (const c of [ann, zed]) send(reg, c, beat());
    send(reg, bob, beat(), thief);
    out.push(...reg.tick());
  }
  assert.equal(show(out), "bob closed3, ann event4 #4 bob");
});

Deno.test("a datagram from a new port of the same IP moves the endpoint", () => {
  const { reg, ann, bob } = pair();
  send(reg, bob, beat(), endpoint("bob2", bob.ep.address));
  assert.equal(show(send(reg, ann, msg(1))), "ann ack 1 #3, ann event1 #3 ann, bob2 event1 #3 ann");
});

Deno.test("idle: no MESSAGE for idleTimeoutMs means CLOSED 2 and TIMED_OUT", () => {
  const { reg, ann, bob } = pair({ idleTimeoutMs: 60_000 });
  assert.deepEqual(pass(reg, 30_000, [ann, bob]), []);
  send(reg, ann, msg(1));
  assert.deepEqual(pass(reg, 29_999, [ann, bob]), []);
  assert.equal(show(pass(reg, 1, [ann, bob])), "bob closed2, ann event4 #4 bob");
  assert.equal(reg.memberCount, 1);
});

Deno.test("idle: idleTimeoutMs 0 turns it off", () => {
  const { reg, ann, bob } = pair({ idleTimeoutMs: 0 });
  assert.deepEqual(pass(reg, 3_600_000, [ann, bob]), []);
  assert.equal(reg.memberCount, 2);
});

Deno.test("lost: 3 heartbeats without a datagram means CLOSED 3; heartbeats keep one in", () => {
  const { reg, ann } = pair();
  assert.deepEqual(pass(reg, 29_999, [ann], 29_999), []);
  assert.equal(show(pass(reg, 1, [ann])), "bob closed3, ann event4 #3 bob");
  assert.deepEqual(pass(reg, 200_000, [ann]), [], "ann keeps heartbeating");
  assert.equal(reg.memberCount, 1);
});

Deno.test("no HELLO within helloTimeoutMs: the token is revoked and the room told", () => {
  const reg = registry();
  const ann = member(reg, "r", "ann", "create");
  const bob = enter(reg, "r", "bob");
  assert.deepEqual(pass(reg, 29_999, [ann], 29_999), []);
  assert.equal(show(pass(reg, 1, [ann])), "ann event4 #3 bob");
  assert.equal(show(send(reg, bob, hello(0))), "bob error401");
  assert.equal(reg.memberCount, 1);
});

Deno.test("host timing out closes the room", () => {
  const { reg, bob } = pair();
  const cid = enter(reg, "r", "cid"); // never says HELLO: nothing to send it
  assert.equal(show(pass(reg, 30_000, [bob])), "ann closed3, bob closed1");
  assert.deepEqual(reg.listRooms(), []);
  assert.equal(reg.memberCount, 0);
  assert.equal(show(send(reg, cid, beat())), "cid error401");
  // A host that never says HELLO is revoked, which closes the room too.
  const silent = registry();
  const zed = enter(silent, "s", "zed", "create");
  const yan = member(silent, "s", "yan");
  assert.equal(show(pass(silent, 30_000, [yan])), "yan closed1");
  assert.equal(silent.roomCount + silent.memberCount, 0);
  assert.equal(show(send(silent, zed, hello(0))), "zed error401");
});

Deno.test("rate limit 20: a burst of 40 passes, the 41st gets 429, 20 more a second later", () => {
  const { reg, ann, bob } = pair({ rateLimit: 20 });
  const burst = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => show(send(reg, bob, msg(from + i))));
  const ok = (i: number) => relayed("bob", i, i + 2);
  assert.deepEqual(burst(1, 40), span(1, 40).map(ok));
  assert.deepEqual(burst(41, 1), ["bob error429"], "not relayed");
  now += 1_000;
  assert.deepEqual(burst(41, 21), [...span(41, 60).map(ok), "bob error429"]);
  assert.equal(show(send(reg, ann, msg(1))).split(", ").length, 3, "ann has her own bucket");
});

Deno.test("rate limit 0: 500 messages in one instant are all relayed", () => {
  const { reg, bob } = pair({ rateLimit: 0 });
  for (let i = 1; i <= 500; i++) {
    assert.equal(show(send(reg, bob, msg(i))), relayed("bob", i, i + 2));
  }
});

Deno.test("shutdown: CLOSED 4 to every member with an endpoint, registry emptied", () => {
  const { reg, ann } = pair();
  const zed = member(reg, "s", "zed", "create");
  enter(reg, "s", "cid");
  assert.equal(show(reg.shutdown()), "ann closed4, bob closed4, zed closed4");
  assert.equal(reg.roomCount + reg.memberCount, 0);
  assert.deepEqual(reg.listRooms(), []);
  assert.equal(show(send(reg, ann, beat())), "ann error401");
  assert.equal(show(send(reg, zed, beat())), "zed error401");
  assert.deepEqual(reg.shutdown(), []);
});

Deno.test("WELCOME fits in a datagram for 200 members with long multi-byte names", () => {
  const room = validateRoomName('"'.repeat(99) + "ルーム".repeat(17)); // 252 bytes
  for (const prefix of ["日".repeat(29), "😀".repeat(29), '"\\'.repeat(14) + "é"]) {
    const style = (i: number) => prefix + i; // 32 characters
    const reg = registry();
    const host = member(reg, room, validateUsername(style(100)), "create");
    for (let i = 101; i < 300; i++) enter(reg, room, validateUsername(style(i)));
    assert.equal(reg.listRooms()[0]!.members, 200);
    const out = send(reg, host, hello(0));
    const welcome = out[0]!.body;
    assert(welcome.kind === "welcome");
    assert.ok(welcome.members.length > 10, `only ${welcome.members.length} names`);
    assert.deepEqual(welcome.members, Array.from(welcome.members, (_, i) => style(100 + i)));
    for (const o of out) assert.ok(encodeServerDatagram(o.body).length <= MAX_DATAGRAM_BYTES);
  }
});

Deno.test("replay budget: per address, shared by its members; 1 per request plus 1 per event, 4096 at once, 1000 a second; cut, then 429", () => {
  const { reg, ann, bob } = pair({ rateLimit: 1_000 }); // ann may say 1000 at once
  for (let i = 1; i <= 1_000; i++) send(reg, ann, msg(i)); // head 1002
  // Three members from one address (their HELLOs replay too, from the same budget).
  const [x1, x2, x3] = ["x1", "x2", "x3"].map((name) => member(reg, "r", name, "join", "10.9.9.9"));
  now += 10_000; // every budget full again
  const all = span(1, 1_005);
  assert.deepEqual(seqs(send(reg, x1!, resend(1, 1_005))), all, "1006 of 4096");
  assert.deepEqual(seqs(send(reg, x2!, resend(1, 1_005))), all, "2012");
  assert.deepEqual(seqs(send(reg, x3!, resend(1, 1_005))), all, "3018");
  assert.deepEqual(seqs(send(reg, x1!, resend(1, 1_005))), all, "4024");
  assert.deepEqual(seqs(send(reg, x2!, resend(1, 1_005))), span(1, 71), "cut: 72 left");
  assert.equal(show(send(reg, x3!, resend(1, 1))), "x3 error429", "spent for every member");
  assert.deepEqual(seqs(send(reg, bob, resend(1, 1_005))), all, "another address has its own");
  now += 100; // 100 datagrams' worth
  assert.deepEqual(seqs(send(reg, x1!, resend(500, 600))), span(500, 598), "99 plus the request");
  assert.equal(show(send(reg, x3!, resend(1, 1))), "x3 error429");
  now += 20;
  assert.deepEqual(seqs(send(reg, x3!, beat(1_000))), span(1_001, 1_005), "HEARTBEAT: 6 of 20");
  assert.deepEqual(seqs(send(reg, x2!, resend(1, 1_005))), span(1, 13), "14 left");
  assert.equal(show(send(reg, x2!, hello(1_004))), "x2 error429", "HELLO shares it");
});

Deno.test("replay budget: none when rate limiting is off", () => {
  const { reg, ann, bob } = pair({ rateLimit: 0 });
  for (let i = 1; i <= 1_000; i++) send(reg, ann, msg(i));
  for (let round = 0; round < 5; round++) {
    assert.equal(seqs(send(reg, bob, resend(1, 1_002))).length, 1_002);
  }
});

Deno.test("HEARTBEAT: replays at most the newest 16 events after lastSeq; RESEND goes deeper", () => {
  const { reg, ann, bob } = pair({ rateLimit: 0 });
  for (let i = 1; i <= 40; i++) send(reg, ann, msg(i)); // head 42
  assert.deepEqual(seqs(send(reg, bob, beat(0))), span(27, 42), "lastSeq 0: the newest 16");
  assert.deepEqual(seqs(send(reg, bob, beat(26))), span(27, 42));
  assert.deepEqual(seqs(send(reg, bob, beat(30))), span(31, 42), "fewer behind: all of them");
  assert.deepEqual(seqs(send(reg, bob, beat(41))), [42]);
  assert.deepEqual(send(reg, bob, beat(42)), [], "up to date: nothing");
  assert.ok(send(reg, bob, beat(0)).every((o) => o.replay === true), "marked as replays");
  assert.deepEqual(seqs(send(reg, bob, resend(1, 42))), span(1, 42));
});

Deno.test("maxRoomsPerIp: a host's address past it gets 429; a closed room frees a slot", () => {
  const reported: string[] = [];
  const reg = registry({
    maxRoomsPerIp: 2,
    onAbuse: (kind, ip, detail) => reported.push(`${kind} ${ip} ${detail}`),
  });
  assert.equal(tryCreate(reg, "one", "a"), "ok");
  const two = reg.create({
    roomName: "two",
    username: "a",
    password: null,
    capacity: null,
    peer: peer("1"),
  });
  assert(two.ok);
  assert.equal(tryCreate(reg, "three", "a"), 429);
  assert.equal(tryCreate(reg, "one", "a"), 409, "an existing name is still a 409");
  assert.equal(
    tryCreate(reg, "three", "a", { peer: peer("2") }),
    "ok",
    "another address has its own",
  );
  assert.deepEqual(reported, ["room-limit 1 already hosts 2 rooms"]);
  assert.equal(tryJoin(reg, "one", "b"), "ok", "joining is not hosting");
  // The host of "two" leaves: the room closes and its address may host another.
  const host = { name: "a", room: "two", token: two.token, ep: endpoint("a", "1") };
  send(reg, host, { kind: "leave" });
  assert.equal(tryCreate(reg, "four", "a"), "ok");
  assert.equal(tryCreate(reg, "five", "a"), 429);
});

Deno.test("maxMembersPerRoom: capacity above it is 400; a room without capacity is full at it", () => {
  const reg = registry({ maxMembersPerRoom: 3 });
  assert.equal(tryCreate(reg, "big", "a", { capacity: 4 }), 400);
  assert.equal(reg.roomCount, 0, "nothing created");
  assert.equal(tryCreate(reg, "exact", "a", { capacity: 3 }), "ok");
  assert.equal(tryCreate(reg, "open", "a"), "ok");
  assert.equal(tryJoin(reg, "open", "b"), "ok");
  assert.equal(tryJoin(reg, "open", "c"), "ok");
  assert.equal(tryJoin(reg, "open", "d"), 403);
  assert.deepEqual(reg.listRooms().map((r) => r.members), [1, 3]);
});

Deno.test("authenticate: member, unknown token, token for another room or from another IP", () => {
  const { reg, bob } = pair();
  const check = (c: Client, from = c.ep) =>
    reg.authenticate(from, { roomName: c.room, token: c.token, body: beat() });
  assert.equal(check(bob), "member");
  assert.equal(check(bob, endpoint("bob", bob.ep.address)), "member", "any port");
  assert.equal(check(bob, endpoint("thief", "192.0.2.1")), "foreign-token");
  assert.equal(check({ ...bob, room: "elsewhere" }), "unknown-token");
  assert.equal(check({ ...bob, token: new Uint8Array(32) }), "unknown-token");
});

Deno.test("a member over its rate limits is reported as flooding, with no message text", () => {
  const reported: string[] = [];
  const { reg, bob } = pair({
    rateLimit: 1,
    onAbuse: (kind, ip, detail) => reported.push(`${kind} ${ip} ${detail}`),
  });
  for (let i = 1; i <= 3; i++) send(reg, bob, msg(i, "secret text"));
  for (let i = 0; i < 1_400; i++) send(reg, bob, resend(1, 2)); // 3 each: past the 4096 burst
  assert.deepEqual(
    new Set(reported),
    new Set([
      `member-flood ${bob.ep.address} MESSAGE over the limit from bob in "r"`,
      `member-flood ${bob.ep.address} HELLO, HEARTBEAT or RESEND replay over the limit from bob in "r"`,
    ]),
  );
});

Deno.test("clock steps: +60 s on the wall clock drops nobody; −1 h keeps no silent ghost", () => {
  const { reg, ann } = pair({ idleTimeoutMs: 60_000 });
  wallStep += 60_000; // the system clock jumps a minute ahead; no time has passed
  assert.deepEqual(reg.tick(), [], "a wall-clock step is not time passing");
  assert.equal(reg.memberCount, 2);
  wallStep -= 3_600_000; // now an hour behind
  // bob goes silent: 3 heartbeat periods later he is gone, however far back the wall clock is.
  assert.deepEqual(pass(reg, 29_999, [ann], 29_999), []);
  assert.equal(show(pass(reg, 1, [ann])), "bob closed3, ann event4 #3 bob");
  // ann heartbeats but says nothing: idle after 60 s of real time.
  assert.equal(show(pass(reg, 30_000, [ann])), "ann closed2");
});

Deno.test("event times never go backwards in a room when the wall clock steps back", () => {
  const { reg, ann, bob } = pair();
  const timeOf = (out: Outgoing[]) => {
    const event = out.find((o) => o.body.kind === "event")!.body;
    assert(event.kind === "event");
    return event.timeMs;
  };
  const before = timeOf(send(reg, ann, msg(1)));
  wallStep -= 3_600_000;
  now += 1_000;
  assert.equal(timeOf(send(reg, bob, msg(1))), before, "held at the newest time");
  wallStep += 3_600_000;
  now += 1_000;
  assert.equal(timeOf(send(reg, ann, msg(2))), before + 2_000, "and moves on with the clock");
  // Another room has its own times.
  const zed = member(reg, "s", "zed", "create");
  assert.equal(timeOf(send(reg, zed, msg(1))), now);
});

Deno.test("revoke: a token that was never delivered leaves at once; a host's room closes", () => {
  const { reg, ann } = pair();
  const cid = enter(reg, "r", "cid");
  assert.equal(show(reg.revoke(cid.token)), "ann event4 #4 cid, bob event4 #4 cid");
  assert.equal(reg.memberCount, 2);
  assert.deepEqual(reg.revoke(cid.token), [], "once");
  const zed = enter(reg, "s", "zed", "create");
  assert.deepEqual(reg.revoke(zed.token), []);
  assert.deepEqual(reg.listRooms().map((r) => r.name), ["r"]);
  assert.equal(show(send(reg, ann, beat())), "");
});
