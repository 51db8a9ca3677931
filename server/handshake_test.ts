/**
 * The handshake without any socket: decoded requests in, outcomes out, with
 * password hashing the test completes by hand.
 */
import assert from "node:assert/strict";
import { ProtocolError } from "../protocol/errors.ts";
import type { IssuedSession, SealedSessionIssuer } from "../protocol/sealed_types.ts";
import { Operation, type RoomRequest } from "../protocol/tcrp.ts";
import { ConnectionGate } from "./connection_gate.ts";
import type { Outgoing, Peer } from "./endpoint.ts";
import { type Exchange, Handshake, type HandshakeOutcome, PLAINTEXT_REFUSAL } from "./handshake.ts";
import { HashQueue } from "./hash_queue.ts";
import { KeyedBudget } from "./keyed_budget.ts";
import { PasswordFailures } from "./password_failures.ts";
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

/** Sessions numbered 1, 2, ... by their first byte; records what it was asked. */
class CountingIssuer implements SealedSessionIssuer {
  readonly issued: string[] = [];
  fail = false;

  issue(token: Uint8Array, roomName: string): IssuedSession {
    if (this.fail) throw new Error("no sessions left");
    this.issued.push(`${roomName} ${token.length}`);
    const n = this.issued.length;
    return {
      sessionId: new Uint8Array(8).fill(n),
      clientKey: new Uint8Array(32).fill(n),
      serverKey: new Uint8Array(32).fill(n + 100),
      resetToken: new Uint8Array(16).fill(n),
    };
  }
}

function setup(
  options: {
    requestRate?: number;
    hashConcurrency?: number;
    listBurst?: number;
    allowPlaintext?: boolean;
  } = {},
) {
  now = 0;
  const registry = new RoomRegistry({
    ...DEFAULT_REGISTRY_LIMITS,
    clocks: { monotonic, wall: () => 1_700_000_000_000 + now },
  });
  const hasher = new ManualHasher();
  const sessions = new CountingIssuer();
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
    passwordFailures: new PasswordFailures({ clock: monotonic }),
    listBudget: new KeyedBudget({
      ratePerSecond: 1024,
      burst: options.listBurst ?? 1024 * 1024,
      clock: monotonic,
    }),
    report: (kind, key) => reports.push(`${kind} ${key}`),
    log: createLogger("error", () => {}),
    passwords: hasher,
    sessions,
    // Most of these tests speak the plain protocol; the sealed-only refusal has its own.
    allowPlaintext: options.allowPlaintext ?? true,
  });
  return { registry, hasher, handshake, sent, reports, sessions };
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
  assert.equal(list.next, null);
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

Deno.test("handshake: the gate refuses a third connection still reading from one address (429); when full it evicts the oldest still reading", () => {
  const { handshake, reports } = setup();
  const evicted: string[] = [];
  const a1 = handshake.open(peer("a"), () => evicted.push("a1"));
  const a2 = handshake.open(peer("a"), () => evicted.push("a2"));
  const a3 = handshake.open(peer("a"));
  assert(a1.ok && a2.ok && !a3.ok);
  assert.equal(a3.refusal.status, 429);
  a1.slot.requestRead(); // a1's request is in: it no longer counts against "a"
  const a4 = handshake.open(peer("a"), () => evicted.push("a4"));
  assert(a4.ok, "the gate holds 3 now, full");
  // Full: the oldest still reading (a2) is closed for the newcomer; a1 is never evicted.
  const b1 = handshake.open(peer("b"), () => evicted.push("b1"));
  assert(b1.ok);
  assert.deepEqual(evicted, ["a2"]);
  a4.slot.requestRead();
  b1.slot.requestRead();
  const c1 = handshake.open(peer("c"));
  assert(!c1.ok, "all three have their request in: nothing to evict");
  assert.equal(c1.refusal.status, 503);
  a1.slot.close();
  a1.slot.close(); // twice is once
  const c2 = handshake.open(peer("c"));
  assert(c2.ok);
  c2.slot.requestRead();
  assert(!handshake.open(peer("d")).ok, "the second close freed nothing");
  assert.deepEqual(reports.slice(0, 3), [
    "handshake-limit a",
    "handshake-evicted a",
    "connection-limit c",
  ]);
});

Deno.test("handshake: revoke undoes a membership whose token was not delivered", async () => {
  const { handshake, registry } = setup();
  const outcome = await handshake.answer(request("create", "r", "ann"), exchange());
  assert(outcome.kind === "admitted");
  handshake.revoke(outcome.token);
  assert.equal(registry.roomCount, 0);
  assert.equal(registry.memberCount, 0);
});

/** Answers a request whose password derivation the test finishes at once. */
async function answerHashed(
  handshake: Handshake,
  hasher: ManualHasher,
  req: RoomRequest,
  ex = exchange(),
): Promise<HandshakeOutcome> {
  const outcome = handshake.answer(req, ex);
  await settle();
  hasher.finishAll();
  return await outcome;
}

Deno.test("handshake: 20 wrong passwords from one address, then 429 before hashing", async () => {
  const { handshake, hasher, reports } = setup();
  await answerHashed(handshake, hasher, request("create", "staff", "ann", "s3cret"));
  for (let i = 0; i < 20; i++) {
    const wrong = await answerHashed(handshake, hasher, request("join", "staff", `g${i}`, "guess"));
    assert.equal(statusOf(wrong), 401);
  }
  const derivations = hasher.derivations.length;
  const limited = await handshake.answer(request("join", "staff", "g", "s3cret"), exchange());
  assert.equal(statusOf(limited), 429, "even the right password waits: nothing is hashed");
  assert.equal(hasher.derivations.length, derivations);
  assert(reports.includes("password-guesses 192.0.2.1"));
  // Another address, or the same one after 3 s, may try again.
  const other = exchange({ peer: peer("192.0.2.2") });
  assert.equal(
    statusOf(
      await answerHashed(handshake, hasher, request("join", "staff", "bob", "s3cret"), other),
    ),
    "admitted",
  );
  now += 3_000;
  assert.equal(
    statusOf(await answerHashed(handshake, hasher, request("join", "staff", "cid", "s3cret"))),
    "admitted",
  );
  // A missing password is a 401 without a hash, and is not counted as a guess.
  for (let i = 0; i < 30; i++) {
    assert.equal(statusOf(await handshake.answer(request("join", "staff", "x"), exchange())), 401);
  }
});

Deno.test("handshake: a JOIN whose verify ran for a cancelled exchange commits nothing", async () => {
  const { handshake, hasher, registry } = setup();
  await answerHashed(handshake, hasher, request("create", "staff", "ann", "s3cret"));
  const cancel = new AbortController();
  const joining = handshake.answer(
    request("join", "staff", "bob", "s3cret"),
    exchange({ signal: cancel.signal }),
  );
  await settle();
  assert.deepEqual(hasher.derivations, ["hash s3cret", "verify s3cret"]);
  cancel.abort(new Error("the exchange timed out"));
  hasher.finishAll();
  await assert.rejects(joining, /timed out/);
  assert.equal(registry.memberCount, 1, "bob was not admitted");
  // Nor is a wrong password whose exchange was cancelled counted as a failure.
  for (let i = 0; i < 25; i++) {
    const abandoned = new AbortController();
    const guess = handshake.answer(
      request("join", "staff", "eve", "guess"),
      exchange({ signal: abandoned.signal }),
    );
    await settle();
    abandoned.abort(new Error("gone"));
    hasher.finishAll();
    await assert.rejects(guess, /gone/);
  }
  assert.equal(
    statusOf(await answerHashed(handshake, hasher, request("join", "staff", "bob", "s3cret"))),
    "admitted",
  );
});

Deno.test("handshake: JOIN refuses 429 (members from the address) before 404, without hashing", async () => {
  const { handshake, hasher, registry } = setup();
  await answerHashed(handshake, hasher, request("create", "staff", "ann", "s3cret"));
  const crowd = peer("198.51.100.7");
  // Fill the address's 256 memberships in open rooms of its own.
  for (let i = 0; i < 8; i++) {
    const room = `room ${i}`;
    await handshake.answer(request("create", room, "host"), exchange({ peer: crowd }));
    for (let m = 1; m < 32; m++) {
      await handshake.answer(request("join", room, `m${m}`), exchange({ peer: crowd }));
    }
  }
  assert.equal(registry.membersFrom(crowd.addressKey), 256);
  const derivations = hasher.derivations.length;
  for (const room of ["staff", "nowhere"]) {
    const refused = await handshake.answer(
      request("join", room, "one more", "s3cret"),
      exchange({ peer: crowd }),
    );
    assert.equal(statusOf(refused), 429, room);
  }
  assert.equal(hasher.derivations.length, derivations, "nothing was hashed");
});

Deno.test("handshake: a CREATE of a name being created is 409 before the address's room limit (429)", async () => {
  const { handshake, hasher } = setup();
  const busy = peer("198.51.100.8");
  for (let i = 0; i < 32; i++) {
    assert.equal(
      statusOf(
        await handshake.answer(request("create", `r${i}`, "host"), exchange({ peer: busy })),
      ),
      "admitted",
    );
  }
  const first = handshake.answer(request("create", "staff", "ann", "s3cret"), exchange());
  await settle();
  const held = await handshake.answer(request("create", "staff", "bob"), exchange({ peer: busy }));
  assert.equal(statusOf(held), 409);
  const limited = await handshake.answer(
    request("create", "free", "bob"),
    exchange({ peer: busy }),
  );
  assert.equal(statusOf(limited), 429);
  hasher.finishAll();
  assert.equal(statusOf(await first), "admitted");
});

Deno.test("handshake: password checks wait their turn round robin by address", async () => {
  const { handshake, hasher } = setup({ hashConcurrency: 1 });
  const creates = ["a1", "a2", "a3"].map((room) =>
    handshake.answer(request("create", room, "ann", room), exchange({ peer: peer("a") }))
  );
  const other = handshake.answer(
    request("create", "b1", "bob", "b1"),
    exchange({ peer: peer("b") }),
  );
  for (let i = 0; i < 4; i++) {
    await settle();
    hasher.finishAll();
  }
  await Promise.all([...creates, other]);
  assert.deepEqual(hasher.derivations, ["hash a1", "hash b1", "hash a2", "hash a3"]);
});

Deno.test("handshake: LIST pages by canonical key; its bytes count against the address's budget", async () => {
  const { handshake } = setup({ listBurst: 4_000 });
  for (const room of ["beta", "Alpha", "gamma"]) {
    await handshake.answer(request("create", room, "ann"), exchange({ peer: peer(room) }));
  }
  const list = (cursor: string | null, limit: number | null, from = peer()) =>
    handshake.answer({ operation: Operation.LIST_ROOMS, cursor, limit }, exchange({ peer: from }));
  const first = await list(null, 2);
  assert(first.kind === "rooms");
  assert.deepEqual(first.rooms.map((r) => r.name), ["Alpha", "beta"]);
  assert.equal(first.next, "beta");
  const second = await list(first.next, 2);
  assert(second.kind === "rooms");
  assert.deepEqual(second.rooms.map((r) => r.name), ["gamma"]);
  assert.equal(second.next, null);
  // 4,000 bytes of burst: about 17 pages of 230 bytes, then 429 until it refills (1,024 bytes a second here).
  let pages = 2;
  while (statusOf(await list(null, null)) === "rooms") pages++;
  assert(pages > 10 && pages < 40, `${pages} pages`);
  assert.equal(statusOf(await list(null, null)), 429);
  assert.equal(statusOf(await list(null, null, peer("192.0.2.50"))), "rooms", "per address");
  now += 1_000;
  assert.equal(statusOf(await list(null, null)), "rooms");
});

Deno.test("handshake: a class joining with the room's password costs one derivation, not one each", async () => {
  const { handshake, hasher } = setup({ hashConcurrency: 1 });
  await answerHashed(handshake, hasher, request("create", "class", "teacher", "s3cret"));
  const students = Array.from(
    { length: 5 },
    (_, i) => handshake.answer(request("join", "class", `s${i}`, "s3cret"), exchange()),
  );
  const guess = handshake.answer(request("join", "class", "eve", "guess"), exchange());
  for (let i = 0; i < 6; i++) {
    await settle();
    hasher.finishAll();
  }
  assert.deepEqual((await Promise.all(students)).map(statusOf), Array(5).fill("admitted"));
  assert.equal(statusOf(await guess), 401, "a wrong password is still derived and refused");
  assert.deepEqual(hasher.derivations, ["hash s3cret", "verify s3cret", "verify guess"]);
});

const sealed = (overrides: Partial<Exchange> = {}) => exchange({ sealed: true, ...overrides });

Deno.test("handshake: a sealed request makes a sealed room, gets a session, and the room's host and lock", async () => {
  const { handshake, hasher, sessions, registry } = setup();
  const created = await answerHashed(
    handshake,
    hasher,
    request("create", "vault", "ann", "s3cret"),
    sealed(),
  );
  assert(created.kind === "admitted");
  assert.deepEqual(created.room, { host: "ann", passwordProtected: true });
  assert.deepEqual(created.session?.sessionId, new Uint8Array(8).fill(1));
  assert.deepEqual(sessions.issued, ["vault 32"]);
  const joined = await answerHashed(
    handshake,
    hasher,
    request("join", "vault", "bob", "s3cret"),
    sealed(),
  );
  assert(joined.kind === "admitted");
  assert.deepEqual(joined.room, { host: "ann", passwordProtected: true });
  assert.deepEqual(joined.session?.clientKey, new Uint8Array(32).fill(2));
  // A plain JOIN of it is 403 before its password is even checked; a plain one has no session.
  const derivations = hasher.derivations.length;
  const plain = await handshake.answer(request("join", "vault", "eve", "s3cret"), exchange());
  assert(plain.kind === "refused");
  assert.equal(plain.refusal.status, 403);
  assert.match(plain.refusal.error, /sealed sessions only/);
  assert.equal(hasher.derivations.length, derivations);
  const lobby = await handshake.answer(request("create", "lobby", "cid"), exchange());
  assert(lobby.kind === "admitted");
  assert.equal(lobby.session, undefined);
  const crossed = await handshake.answer(request("join", "lobby", "dan"), sealed());
  assert.equal(statusOf(crossed), 403);
  const list = await handshake.answer({ operation: Operation.LIST_ROOMS }, sealed());
  assert(list.kind === "rooms");
  assert.deepEqual(list.rooms.map((r) => [r.name, r.sealed]), [["lobby", false], ["vault", true]]);
  assert.equal(registry.memberCount, 3);
});

Deno.test("handshake: a sealed request is charged to the rate once, at its first frame", async () => {
  const { handshake } = setup({ requestRate: 1 }); // a burst of 3
  for (let i = 0; i < 3; i++) {
    assert.equal(handshake.chargeRequest(peer()), null);
    const outcome = await handshake.answer(request("create", `r${i}`, "ann"), sealed());
    assert.equal(statusOf(outcome), "admitted", "the sealed answer does not charge again");
  }
  assert.equal(handshake.chargeRequest(peer())?.status, 429);
  assert.equal(statusOf(await handshake.answer(request("create", "p", "ann"), exchange())), 429);
  // A sealed request that did not decode is not charged a second time either.
  const malformed = handshake.refuseMalformed(peer(), new ProtocolError("bad JSON"), true);
  assert.equal(statusOf(malformed), 400);
});

Deno.test("handshake: without allowPlaintext every plain request gets the sealed-only refusal", async () => {
  const { handshake, registry, sessions } = setup({ allowPlaintext: false });
  for (
    const plain of [
      request("create", "lobby", "ann"),
      request("join", "lobby", "ann"),
      { operation: Operation.LIST_ROOMS } as const,
    ]
  ) {
    const outcome = await handshake.answer(plain, exchange());
    assert(outcome.kind === "refused");
    assert.deepEqual(outcome.refusal, { status: 400, error: PLAINTEXT_REFUSAL });
  }
  const malformed = handshake.refuseMalformed(peer(), new ProtocolError("payload is not JSON"));
  assert(malformed.kind === "refused");
  assert.equal(malformed.refusal.error, PLAINTEXT_REFUSAL);
  assert.equal(registry.roomCount, 0);
  assert.equal(sessions.issued.length, 0);
  assert.equal(
    statusOf(await handshake.answer(request("create", "vault", "ann"), sealed())),
    "admitted",
  );
});

Deno.test("handshake: a session that cannot be issued undoes the admission", async () => {
  const { handshake, registry, sessions } = setup();
  sessions.fail = true;
  await assert.rejects(
    handshake.answer(request("create", "vault", "ann"), sealed()),
    /no sessions/,
  );
  assert.equal(registry.roomCount, 0);
  assert.equal(registry.memberCount, 0);
});
