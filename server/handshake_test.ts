/**
 * The handshake without any socket: decoded requests in, outcomes out, with
 * password hashing the test completes by hand.
 */
import assert from "node:assert/strict";
import { ProtocolError } from "../protocol/errors.ts";
import { Operation, type RoomRequest } from "../protocol/tcrp.ts";
import { ConnectionGate } from "./connection_gate.ts";
import type { Outgoing, Peer } from "./endpoint.ts";
import { type Exchange, Handshake, type HandshakeOutcome } from "./handshake.ts";
import { HashQueue } from "./hash_queue.ts";
import { createLogger } from "./log.ts";
import type { PasswordRecord } from "./password.ts";
import { KeyedRateLimiter } from "./rate_limit.ts";
import { DEFAULT_REGISTRY_LIMITS, RoomRegistry } from "./registry.ts";

let now = 0;
const monotonic = () => now;

/** Password hashing that waits until the test says so, recording each derivation. */
class ManualHasher {
  readonly derivations: string[] = [];
  #pending: (() => void)[] = [];

  hash = (password: string): Promise<PasswordRecord> =>
    this.#derive(`hash ${password}`, { salt: new Uint8Array(16), hash: encode(password) });

  verify = (password: string, record: PasswordRecord): Promise<boolean> =>
    this.#derive(`verify ${password}`, String(record.hash) === String(encode(password)));

  /** Finishes every derivation started so far. */
  finishAll(): void {
    for (const finish of this.#pending.splice(0)) finish();
  }

  #derive<T>(label: string, result: T): Promise<T> {
    this.derivations.push(label);
    return new Promise((resolve) => this.#pending.push(() => resolve(result)));
  }
}

const encode = (text: string) => new TextEncoder().encode(text);
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function setup(options: { requestRate?: number; hashConcurrency?: number } = {}) {
  now = 0;
  const registry = new RoomRegistry({
    ...DEFAULT_REGISTRY_LIMITS,
    clocks: { monotonic, wall: () => 1_700_000_000_000 + now },
  });
  const hasher = new ManualHasher();
  const sent: Outgoing[] = [];
  const reports: string[] = [];
  const handshake = new Handshake({
    registry,
    send: (out) => sent.push(...out),
    accepted: {
      status: 200,
      udpPort: 9002,
      maxDatagramBytes: 4096,
      heartbeatSeconds: 10,
      idleTimeoutSeconds: 300,
    },
    gate: new ConnectionGate({ maxPerIp: 2, maxTotal: 3 }),
    requestLimiter: new KeyedRateLimiter({
      ratePerSecond: options.requestRate ?? 0,
      burst: (options.requestRate ?? 0) * 3,
      clock: monotonic,
    }),
    hashQueue: new HashQueue({ concurrency: options.hashConcurrency ?? 4, monotonic }),
    report: (kind, key) => reports.push(`${kind} ${key}`),
    log: createLogger("error", () => {}),
    passwords: hasher,
  });
  return { registry, hasher, handshake, sent, reports };
}

const peer = (address = "192.0.2.1"): Peer => ({ address, addressKey: address });

function exchange(overrides: Partial<Exchange> = {}): Exchange {
  return {
    peer: peer(),
    signal: new AbortController().signal,
    deadline: now + 10_000,
    ...overrides,
  };
}

function request(
  operation: "create" | "join",
  roomName: string,
  username: string,
  password: string | null = null,
): RoomRequest {
  return {
    operation: operation === "create" ? Operation.CREATE_ROOM : Operation.JOIN_ROOM,
    roomName,
    username,
    password,
    capacity: null,
  };
}

/** "admitted", "rooms" or the refusal status. */
const statusOf = (outcome: HandshakeOutcome) =>
  outcome.kind === "refused" ? outcome.refusal.status : outcome.kind;

Deno.test("handshake: create and join rooms; LIST shows them; the join's event is sent", async () => {
  const { handshake, sent } = setup();
  const created = await handshake.answer(request("create", "lobby", "ann"), exchange());
  assert.equal(statusOf(created), "admitted");
  assert(created.kind === "admitted");
  assert.equal(created.token.length, 32);
  assert.equal(created.accepted.udpPort, 9002);
  assert.equal(
    statusOf(await handshake.answer(request("join", "lobby", "bob"), exchange())),
    "admitted",
  );
  const list = await handshake.answer({ operation: Operation.LIST_ROOMS }, exchange());
  assert(list.kind === "rooms");
  assert.deepEqual(list.rooms.map((r) => [r.name, r.members]), [["lobby", 2]]);
  assert.equal(sent.length, 0, "nobody has an endpoint yet, so no events go out");
});

Deno.test("handshake: bad names are 400 and reported; the request rate is per address", async () => {
  const { handshake, reports } = setup({ requestRate: 1 });
  const bad = await handshake.answer(request("create", "x", " ann"), exchange());
  assert.equal(statusOf(bad), 400);
  assert.equal(statusOf(await handshake.answer(request("create", "", "ann"), exchange())), 400);
  assert.equal(
    statusOf(await handshake.answer(request("create", "a", "ann"), exchange())),
    "admitted",
  );
  assert.equal(statusOf(await handshake.answer(request("create", "b", "ann"), exchange())), 429);
  const malformed = handshake.refuseMalformed(
    peer(),
    new ProtocolError("payload is not valid JSON"),
  );
  assert.equal(statusOf(malformed), 429, "a malformed request counts against the rate too");
  const other = handshake.refuseMalformed(peer("192.0.2.2"), new ProtocolError("bad", 413));
  assert.equal(statusOf(other), 413);
  assert.deepEqual(reports, [
    "bad-request 192.0.2.1",
    "bad-request 192.0.2.1",
    "request-rate 192.0.2.1",
    "request-rate 192.0.2.1",
    "bad-request 192.0.2.2",
  ]);
});

Deno.test("handshake: a locked room's name is held while its password hashes", async () => {
  const { handshake, hasher } = setup();
  const first = handshake.answer(request("create", "staff", "ann", "s3cret"), exchange());
  await settle();
  assert.deepEqual(hasher.derivations, ["hash s3cret"]);
  // A second CREATE of the name gets 409 at once, with no hash of its own.
  const second = await handshake.answer(request("create", "staff", "bob", "other"), exchange());
  assert.equal(statusOf(second), 409);
  assert.deepEqual(hasher.derivations, ["hash s3cret"]);
  // The held name is invisible: not listed, and a JOIN finds no room.
  const list = await handshake.answer({ operation: Operation.LIST_ROOMS }, exchange());
  assert(list.kind === "rooms");
  assert.deepEqual(list.rooms, []);
  assert.equal(statusOf(await handshake.answer(request("join", "staff", "cid"), exchange())), 404);
  hasher.finishAll();
  assert.equal(statusOf(await first), "admitted");
  // Now it is a locked room: no password 401 without a hash; a wrong one after a verify.
  assert.equal(statusOf(await handshake.answer(request("join", "staff", "cid"), exchange())), 401);
  const wrong = handshake.answer(request("join", "staff", "cid", "guess"), exchange());
  await settle();
  hasher.finishAll();
  assert.equal(statusOf(await wrong), 401);
  const right = handshake.answer(request("join", "staff", "cid", "s3cret"), exchange());
  await settle();
  hasher.finishAll();
  assert.equal(statusOf(await right), "admitted");
  assert.deepEqual(hasher.derivations, ["hash s3cret", "verify guess", "verify s3cret"]);
});

Deno.test("handshake: the hold covers every spelling and lookalike of the name being created", async () => {
  const { handshake, hasher } = setup();
  const first = handshake.answer(request("create", "Papa", "ann", "s3cret"), exchange());
  await settle();
  const refusal = async (roomName: string) => {
    const outcome = await handshake.answer(request("create", roomName, "bob", "x"), exchange());
    assert(outcome.kind === "refused");
    return `${outcome.refusal.status} ${outcome.refusal.error}`;
  };
  assert.equal(await refusal("PAPA"), '409 room "Papa" already exists');
  // All Cyrillic, so the name itself is accepted; its skeleton is "Papa"'s.
  assert.equal(
    await refusal("\u0420\u0430\u0440\u0430"),
    '409 the room name "\u0420\u0430\u0440\u0430" looks the same as the room "Papa"',
  );
  assert.deepEqual(hasher.derivations, ["hash s3cret"]);
  hasher.finishAll();
  assert.equal(statusOf(await first), "admitted");
  // Released into the registry, which refuses the same names the same way.
  assert.equal(await refusal("papa"), '409 room "Papa" already exists');
  assert.equal(
    statusOf(await handshake.answer(request("create", "Papas", "bob"), exchange())),
    "admitted",
  );
});

Deno.test("handshake: what is refused without the password is refused before hashing it", async () => {
  const { handshake, hasher } = setup();
  await handshake.answer(request("create", "taken", "ann"), exchange());
  const dup = await handshake.answer(request("create", "taken", "bob", "pw"), exchange());
  assert.equal(statusOf(dup), 409);
  const missing = await handshake.answer(request("join", "nowhere", "bob", "pw"), exchange());
  assert.equal(statusOf(missing), 404);
  assert.deepEqual(hasher.derivations, []);
});

Deno.test("handshake: a cancelled exchange commits nothing, queued or already hashing", async () => {
  const { handshake, hasher, registry } = setup({ hashConcurrency: 1 });
  const hashing = new AbortController();
  const queued = new AbortController();
  const first = handshake.answer(
    request("create", "a", "ann", "pw"),
    exchange({ signal: hashing.signal }),
  );
  const second = handshake.answer(
    request("create", "b", "bob", "pw"),
    exchange({ signal: queued.signal }),
  );
  await settle();
  assert.deepEqual(hasher.derivations, ["hash pw"], "one at a time");
  queued.abort(new Error("client gone"));
  await assert.rejects(second, /client gone/);
  hashing.abort(new Error("deadline"));
  hasher.finishAll();
  await assert.rejects(first, /deadline/);
  await settle();
  assert.deepEqual(hasher.derivations, ["hash pw"], "the dropped one never hashed");
  assert.equal(registry.roomCount, 0);
  // The held names were released.
  assert.equal(
    statusOf(await handshake.answer(request("create", "a", "ann"), exchange())),
    "admitted",
  );
});

Deno.test("handshake: waiting for a hash slot past the deadline is 503", async () => {
  const { handshake, hasher } = setup({ hashConcurrency: 1 });
  const first = handshake.answer(request("create", "a", "ann", "pw"), exchange());
  const late = handshake.answer(
    request("create", "b", "bob", "pw"),
    exchange({ deadline: now + 5 }),
  );
  now += 5;
  assert.equal(statusOf(await late), 503);
  hasher.finishAll();
  assert.equal(statusOf(await first), "admitted");
});

Deno.test("handshake: the gate refuses a third connection from one address (429), a fourth in all (503)", () => {
  const { handshake, reports } = setup();
  const a1 = handshake.open(peer("a"));
  const a2 = handshake.open(peer("a"));
  const a3 = handshake.open(peer("a"));
  assert(a1.ok && a2.ok && !a3.ok);
  assert.equal(a3.refusal.status, 429);
  const b1 = handshake.open(peer("b"));
  const c1 = handshake.open(peer("c"));
  assert(b1.ok && !c1.ok);
  assert.equal(c1.refusal.status, 503);
  a1.slot.close();
  a1.slot.close(); // twice is once
  assert(handshake.open(peer("c")).ok);
  assert(!handshake.open(peer("c")).ok, "the second close freed nothing");
  assert.deepEqual(reports, ["handshake-limit a", "connection-limit c", "connection-limit c"]);
});

Deno.test("handshake: revoke undoes a membership whose token was not delivered", async () => {
  const { handshake, registry } = setup();
  const outcome = await handshake.answer(request("create", "r", "ann"), exchange());
  assert(outcome.kind === "admitted");
  handshake.revoke(outcome.token);
  assert.equal(registry.roomCount, 0);
  assert.equal(registry.memberCount, 0);
});
