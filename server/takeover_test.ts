/**
 * Takeover after a reload (docs/protocol.md 7.4), without sockets: a sealed
 * JOIN carrying a resume ticket of a live session continues that member
 * (name, host role, room; nobody told) under a new session, after the usual
 * password check; a ticket that does not hold makes an ordinary join.
 */
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { bytesToHex } from "../protocol/bytes.ts";
import type { ClientBody, ServerBody } from "../protocol/datagram.ts";
import { ProtocolError } from "../protocol/errors.ts";
import { resumeProof, type ResumeTicket } from "../protocol/resume.ts";
import type { IssuedSession } from "../protocol/sealed_types.ts";
import { decodeSealedRequest, padSealedRequest } from "../protocol/sealed_tcrp.ts";
import { Operation, type RoomRequest } from "../protocol/tcrp.ts";
import { ConnectionGate } from "./connection_gate.ts";
import type { Endpoint, Outgoing, Peer } from "./endpoint.ts";
import { ipBoundTransport } from "./fake_transport_test_util.ts";
import { type Exchange, Handshake, type HandshakeOutcome } from "./handshake.ts";
import { HashQueue } from "./hash_queue.ts";
import { KeyedBudget } from "./keyed_budget.ts";
import { createLogger } from "./log.ts";
import type { PasswordRecord } from "./password.ts";
import { PasswordFailures } from "./password_failures.ts";
import { KeyedRateLimiter } from "./rate_limit.ts";
import { DEFAULT_REGISTRY_LIMITS, type RegistryOptions, RoomRegistry } from "./registry.ts";
import { type SealedSession, SealedSessions } from "./sealed/sessions.ts";

let now = 0;
const monotonic = () => now;
const encode = (text: string) => new TextEncoder().encode(text);

/** Password checks that finish at once, or when the test says so (`hold`). */
class Hasher {
  hold = false;
  #pending: (() => void)[] = [];
  hash = (password: string): Promise<PasswordRecord> =>
    Promise.resolve({ salt: new Uint8Array(16), hash: encode(password) });
  verify = (password: string, record: PasswordRecord): Promise<boolean> => {
    const right = String(record.hash) === String(encode(password));
    if (!this.hold) return Promise.resolve(right);
    return new Promise((resolve) => this.#pending.push(() => resolve(right)));
  };
  finishAll(): void {
    for (const finish of this.#pending.splice(0)) finish();
  }
}

function setUp(limits: Partial<RegistryOptions> = {}) {
  now = 0;
  const replaced: SealedSession[] = [];
  const sessions = new SealedSessions({
    crypto: nodeCrypto,
    staticPrivateKey: nodeCrypto.x25519KeyPair().privateKey,
    monotonic,
    onReplaced: (old) => replaced.push(old),
  });
  const registry = new RoomRegistry({
    ...DEFAULT_REGISTRY_LIMITS,
    clocks: { monotonic, wall: () => 1_700_000_000_000 + now },
    onRemoved: (member) => sessions.onRemoved(member),
    ...limits,
  });
  const hasher = new Hasher();
  const sent: Outgoing[] = [];
  const reports: string[] = [];
  const handshake = new Handshake({
    registry,
    send: (out) => sent.push(...out),
    accepted: {
      status: 200,
      udpPort: 0,
      maxDatagramBytes: 4096,
      heartbeatSeconds: 10,
      idleTimeoutSeconds: 300,
    },
    gate: new ConnectionGate({ maxPerIp: 8, maxTotal: 16 }),
    requestLimiter: new KeyedRateLimiter({ ratePerSecond: 0, burst: 0, clock: monotonic }),
    hashQueue: new HashQueue({ concurrency: 4, monotonic }),
    passwordFailures: new PasswordFailures({
      clock: monotonic,
      perAddress: { ratePerSecond: 0.001, burst: 3 },
    }),
    listBudget: new KeyedBudget({ ratePerSecond: 1024, burst: 1 << 20, clock: monotonic }),
    report: (kind, key, detail) => reports.push(`${kind} ${key}: ${detail}`),
    log: createLogger("error", () => {}),
    passwords: hasher,
    sessions,
    allowPlaintext: false,
  });

  /** A sealed CREATE or JOIN from `address`; its outcome, and the member if admitted. */
  const ask = async (
    how: "create" | "join",
    name: string,
    options: {
      address?: string;
      password?: string;
      resume?: ResumeTicket;
      room?: string;
      protocol?: number;
    } = {},
  ) => {
    const address = options.address ?? "192.0.2.1";
    const request: RoomRequest = {
      operation: how === "create" ? Operation.CREATE_ROOM : Operation.JOIN_ROOM,
      roomName: options.room ?? "r",
      username: name,
      password: options.password ?? null,
      capacity: how === "create" ? 3 : null,
      protocol: options.protocol ?? 2,
      ...(options.resume ? { resume: options.resume } : {}),
    };
    const outcome = await handshake.answer(request, exchangeFrom(address));
    return { outcome, member: outcome.kind === "admitted" ? memberOf(outcome, address) : null };
  };

  const memberOf = (outcome: HandshakeOutcome & { kind: "admitted" }, address: string) => {
    const ep: Endpoint = { transport: ipBoundTransport, address, addressKey: address };
    const session = outcome.session!;
    return {
      token: outcome.token,
      session,
      ep,
      host: outcome.room.host,
      ticket: ticketOf(session),
      send: (body: ClientBody, room = "r") =>
        registry.handleDatagram(ep, { roomName: room, token: outcome.token, body }),
    };
  };

  return { registry, sessions, handshake, hasher, sent, reports, replaced, ask };
}

const exchangeFrom = (address: string): Exchange => ({
  peer: { address, addressKey: address } satisfies Peer,
  signal: new AbortController().signal,
  deadline: now + 10_000,
  sealed: true,
});

/** What the page keeps: the session id and the proof made with its client key. */
const ticketOf = (session: IssuedSession): ResumeTicket => ({
  sessionId: session.sessionId,
  proof: resumeProof(nodeCrypto, session.clientKey, session.sessionId),
});

const statusOf = (outcome: HandshakeOutcome) =>
  outcome.kind === "refused" ? outcome.refusal.status : outcome.kind;

const kinds = (out: Outgoing[]) => out.map((o) => describe(o.body)).join(", ");
function describe(body: ServerBody): string {
  if (body.kind === "welcome") return `welcome ${body.host} [${body.members}] #${body.headSeq}`;
  if (body.kind === "event") return `event${body.type} #${body.seq} ${body.name}`;
  if (body.kind === "heartbeatAck") return `heartbeatAck #${body.headSeq}`;
  if (body.kind === "ack") return `ack ${body.msgId} #${body.seq}`;
  return body.kind;
}

Deno.test("takeover: the host continues under a new session; its role, the member list and the events are unchanged", async () => {
  const { registry, sessions, sent, replaced, ask, reports } = setUp();
  const ann = (await ask("create", "ann")).member!;
  const bob = (await ask("join", "bob", { address: "192.0.2.2" })).member!;
  ann.send({ kind: "hello", lastSeq: 0 });
  bob.send({ kind: "hello", lastSeq: 0 });
  assert.equal(
    kinds(ann.send({ kind: "message", msgId: 1, text: "brb" })),
    "ack 1 #3, event1 #3 ann",
  );
  assert.equal(kinds(bob.send({ kind: "heartbeat", lastSeq: 3 })), "heartbeatAck #3");
  registry.disconnect(ann.token, 300_000); // the page reloaded: its socket closed
  sent.length = 0;

  const { outcome, member: again } = await ask("join", "ann", { resume: ann.ticket });
  assert.equal(statusOf(outcome), "admitted");
  assert.equal(again!.host, "ann", "the answer names the member itself as the host");
  assert.deepEqual(again!.token, ann.token, "the same membership");
  assert.notDeepEqual(again!.session.sessionId, ann.session.sessionId);
  assert.notDeepEqual(again!.session.clientKey, ann.session.clientKey);
  assert.notDeepEqual(again!.session.serverKey, ann.session.serverKey);
  // The old session is gone (its datagrams earn stateless resets); its socket is told.
  assert.equal(sessions.byId(ann.session.sessionId), undefined);
  assert.ok(sessions.byId(again!.session.sessionId));
  assert.deepEqual(replaced.map((s) => s.idHex), [bytesToHex(ann.ticket.sessionId)]);
  assert.equal(sessions.size, 2);
  // Nobody was told: no event, no CLOSED, the same head; still connected, still host.
  assert.deepEqual(sent, []);
  assert.equal(registry.disconnectedCount, 0);
  assert.deepEqual(registry.membership(ann.token), { name: "ann", roomKey: "r", host: true });
  assert.deepEqual(registry.listRooms().map((r) => r.members), [2]);
  assert.deepEqual(reports, []);
  // Until the new session says HELLO, nothing goes to the old endpoint.
  const hi = bob.send({ kind: "message", msgId: 1, text: "hi" });
  assert.equal(kinds(hi), "ack 1 #4, event1 #4 bob");
  assert.deepEqual(hi[1]!.to, [bob.ep]);
  assert.equal(
    kinds(again!.send({ kind: "hello", lastSeq: 3 })),
    "welcome ann [ann,bob] #4, event1 #4 bob",
  );
  // The new session numbers its messages from 1 again: relayed, not taken for a repeat.
  const back = again!.send({ kind: "message", msgId: 1, text: "back" });
  assert.equal(kinds(back), "ack 1 #5, event1 #5 ann");
  assert.equal(back[1]!.to.length, 2);
});

Deno.test("takeover: msgIds start afresh with the new session, in either revision", async () => {
  for (const protocol of [1, 2]) {
    const { ask } = setUp();
    const ann = (await ask("create", "ann", { protocol })).member!;
    ann.send({ kind: "hello", lastSeq: 0 });
    for (let msgId = 1; msgId <= 3; msgId++) ann.send({ kind: "message", msgId, text: "old" });
    const again = (await ask("join", "ann", { resume: ann.ticket, protocol })).member!;
    again.send({ kind: "hello", lastSeq: 4 });
    assert.equal(
      kinds(again.send({ kind: "message", msgId: 1, text: "new" })),
      "ack 1 #5, event1 #5 ann",
      `revision ${protocol}`,
    );
  }
});

Deno.test("takeover: the HELLO timeout counts from the takeover", async () => {
  const { registry, ask } = setUp();
  const ann = (await ask("create", "ann")).member!;
  const bob = (await ask("join", "bob", { address: "192.0.2.2" })).member!;
  bob.send({ kind: "hello", lastSeq: 0 });
  now = 20_000;
  bob.send({ kind: "heartbeat", lastSeq: 2 });
  assert.equal(statusOf((await ask("join", "bob", { resume: bob.ticket })).outcome), "admitted");
  now = 49_999;
  ann.send({ kind: "hello", lastSeq: 0 });
  assert.equal(kinds(registry.tick()), "");
  now = 50_000;
  assert.equal(kinds(registry.tick()), "event4 #3 bob", "no HELLO from the new session in 30 s");
});

Deno.test("takeover: a ticket that does not hold is an ordinary join (409 for a held name), reported", async () => {
  const { sessions, ask, reports } = setUp();
  const ann = (await ask("create", "ann")).member!;
  const bob = (await ask("join", "bob", { address: "192.0.2.2" })).member!;
  const other = (await ask("create", "bob", { room: "s", address: "192.0.2.3" })).member!;
  const wrongProof = { ...bob.ticket, proof: bob.ticket.proof.map((b, i) => i === 31 ? b ^ 1 : b) };
  const unknown = { ...bob.ticket, sessionId: new Uint8Array(8) };
  const forged = ticketOf({ ...bob.session, clientKey: new Uint8Array(32).fill(7) });
  for (const resume of [wrongProof, unknown, forged, other.ticket, ann.ticket]) {
    assert.equal(statusOf((await ask("join", "bob", { resume })).outcome), 409);
  }
  assert.deepEqual(reports, [
    "bad-resume 192.0.2.1: a wrong proof",
    "bad-resume 192.0.2.1: no such session",
    "bad-resume 192.0.2.1: a wrong proof",
    "bad-resume 192.0.2.1: a session of another room or name",
    "bad-resume 192.0.2.1: a session of another room or name",
  ]);
  // Nothing was replaced.
  for (const member of [ann, bob, other]) assert.ok(sessions.byId(member.session.sessionId));
  // A ticket for another name joins that name as usual, beside the ticket's member.
  const cid = await ask("join", "cid", { resume: bob.ticket });
  assert.equal(statusOf(cid.outcome), "admitted");
  assert.notDeepEqual(cid.member!.token, bob.token);
  assert.ok(sessions.byId(bob.session.sessionId));
});

Deno.test("takeover: the name and room compare by canonical key", async () => {
  const { ask, registry } = setUp();
  await ask("create", "ann", { room: "Lobby" });
  const bob = (await ask("join", "Bob", { room: "Lobby" })).member!;
  const again = await ask("join", "BOB", { room: "lobby", resume: bob.ticket });
  assert.equal(statusOf(again.outcome), "admitted");
  assert.deepEqual(again.member!.token, bob.token);
  assert.equal(registry.memberCount, 2);
});

Deno.test("takeover: the room's password is checked as for a join (401, counted); the old session survives a wrong one", async () => {
  const { sessions, ask } = setUp();
  const ann = (await ask("create", "ann", { password: "s3cret" })).member!;
  for (const password of ["wrong", undefined]) {
    const refused = await ask("join", "ann", { resume: ann.ticket, password });
    assert.equal(statusOf(refused.outcome), 401);
  }
  assert.ok(sessions.byId(ann.session.sessionId), "not replaced");
  const taken = await ask("join", "ann", { resume: ann.ticket, password: "s3cret" });
  assert.equal(statusOf(taken.outcome), "admitted");
  assert.equal(sessions.byId(ann.session.sessionId), undefined);
  // Wrong passwords count toward the same limit as a join's (here 3 per address and room).
  const next = taken.member!;
  for (let i = 0; i < 2; i++) {
    assert.equal(
      statusOf((await ask("join", "ann", { resume: next.ticket, password: "x" })).outcome),
      401,
    );
  }
  assert.equal(
    statusOf((await ask("join", "ann", { resume: next.ticket, password: "s3cret" })).outcome),
    429,
  );
});

Deno.test("takeover: a full room and a full server still take it (it adds nobody)", async () => {
  const { ask, registry } = setUp({ maxMembers: 3 });
  await ask("create", "ann"); // capacity 3
  const bob = (await ask("join", "bob")).member!;
  await ask("join", "cid");
  assert.equal(statusOf((await ask("join", "dan")).outcome), 403);
  assert.equal(statusOf((await ask("join", "bob", { resume: bob.ticket })).outcome), "admitted");
  assert.equal(registry.memberCount, 3);
});

Deno.test("takeover: the member's per-address counts, and a host's room, move to the new address", async () => {
  const { ask, registry } = setUp({ maxRoomsPerIp: 1, maxMembersPerIp: 2 });
  const ann = (await ask("create", "ann", { address: "10.0.0.1" })).member!;
  await ask("join", "bob", { address: "10.0.0.2" });
  assert.equal(registry.refuseCreate(creating("10.0.0.1"))?.status, 429);
  const moved = await ask("join", "ann", { address: "10.0.0.2", resume: ann.ticket });
  assert.equal(statusOf(moved.outcome), "admitted");
  assert.equal(registry.membersFrom("10.0.0.1"), 0);
  assert.equal(registry.membersFrom("10.0.0.2"), 2);
  assert.equal(registry.refuseCreate(creating("10.0.0.1")), null, "the room counts elsewhere now");
  assert.equal(registry.refuseCreate(creating("10.0.0.2"))?.status, 429);
  // Its datagrams must come from the new address now.
  const next = moved.member!;
  assert.equal(kinds(ann.send({ kind: "hello", lastSeq: 0 })), "error");
  assert.equal(kinds(next.send({ kind: "hello", lastSeq: 0 })).startsWith("welcome ann"), true);
  // An address at its member limit cannot take a member over from elsewhere.
  const cid = (await ask("join", "cid", { address: "10.0.0.3" })).member!;
  assert.equal(
    statusOf((await ask("join", "cid", { address: "10.0.0.2", resume: cid.ticket })).outcome),
    429,
  );
  assert.equal(registry.membersFrom("10.0.0.3"), 1);
  // Nor can an address that hosts its limit of rooms take a host over.
  await ask("create", "dan", { room: "s", address: "10.0.0.4" });
  const host = (await ask("create", "eve", { room: "t", address: "10.0.0.5" })).member!;
  assert.equal(
    statusOf(
      (await ask("join", "eve", { room: "t", address: "10.0.0.4", resume: host.ticket })).outcome,
    ),
    429,
  );
  assert.equal(registry.membersFrom("10.0.0.5"), 1);
});

Deno.test("takeover: two requests with one ticket: the first takes over, the second meets the name (409)", async () => {
  const { ask, hasher, replaced } = setUp();
  const ann = (await ask("create", "ann", { password: "pw" })).member!;
  hasher.hold = true;
  const first = ask("join", "ann", { resume: ann.ticket, password: "pw" });
  const second = ask("join", "ann", { resume: ann.ticket, password: "pw" });
  await new Promise((resolve) => setTimeout(resolve, 0));
  hasher.finishAll();
  const outcomes = await Promise.all([first, second]);
  assert.deepEqual(outcomes.map((o) => statusOf(o.outcome)), ["admitted", 409]);
  assert.equal(replaced.length, 1);
});

Deno.test("takeover: a ticket on CREATE or LIST is 400", () => {
  const { handshake } = setUp();
  const ticket = { session: "00".repeat(8), proof: "00".repeat(32) };
  for (
    const [operation, room, body] of [
      [Operation.SEALED_CREATE_ROOM, "r", { username: "ann", resume: ticket }],
      [Operation.SEALED_LIST_ROOMS, "", { resume: ticket }],
    ] as const
  ) {
    const plaintext = padSealedRequest(encode(JSON.stringify(body)));
    let outcome: HandshakeOutcome | undefined;
    try {
      decodeSealedRequest(operation, encode(room), plaintext);
    } catch (error) {
      assert.ok(error instanceof ProtocolError);
      outcome = handshake.refuseMalformed(exchangeFrom("192.0.2.1").peer, error, true);
    }
    assert.ok(outcome?.kind === "refused");
    assert.equal(outcome.refusal.status, 400);
    assert.match(outcome.refusal.error, /only for JOIN_ROOM/);
  }
});

Deno.test("takeover: a plain JOIN never takes over, even with a ticket in hand", async () => {
  const { ask, handshake, reports } = setUp();
  const ann = (await ask("create", "ann")).member!;
  const request: RoomRequest = {
    operation: Operation.JOIN_ROOM,
    roomName: "r",
    username: "ann",
    password: null,
    capacity: null,
    resume: ann.ticket,
  };
  const outcome = await handshake.answer(request, { ...exchangeFrom("192.0.2.1"), sealed: false });
  assert.equal(statusOf(outcome), 400, "this server takes sealed sessions only");
  assert.deepEqual(reports, []);
});

const creating = (address: string) => ({
  roomName: `new-${address}`,
  username: "x",
  capacity: null,
  peer: { address, addressKey: address },
});

Deno.test("takeover: a member gone while the password was checked: the request is an ordinary join", async () => {
  const { ask, hasher, registry, replaced } = setUp();
  // Created (hashed), so the takeover's password check is a derivation the test holds.
  const ann = (await ask("create", "ann", { password: "pw" })).member!;
  ann.send({ kind: "hello", lastSeq: 0 });
  registry.disconnect(ann.token, 1_000);
  hasher.hold = true;
  const pending = ask("join", "ann", { resume: ann.ticket, password: "pw" });
  await new Promise((resolve) => setTimeout(resolve, 0));
  now = 1_000;
  registry.tick(); // ann's grace ends: she is lost and her room closes
  hasher.finishAll();
  const { outcome } = await pending;
  assert.equal(statusOf(outcome), 404, "joined as usual: the room is gone");
  assert.deepEqual(replaced, []);
  assert.equal(registry.memberCount, 0);
});

Deno.test("registry.takeOver: an unknown token is 404, a wrong password 401, and nothing changes", () => {
  const { registry } = setUp();
  const peer = { address: "192.0.2.9", addressKey: "192.0.2.9" };
  const unknown = registry.takeOver(new Uint8Array(32), peer, { passwordProof: null });
  assert.equal(unknown.ok ? 200 : unknown.status, 404);
  const record: PasswordRecord = { salt: new Uint8Array(16), hash: encode("pw") };
  const created = registry.create({
    roomName: "r",
    username: "ann",
    password: record,
    capacity: null,
    peer: { address: "192.0.2.1", addressKey: "192.0.2.1" },
  });
  assert.ok(created.ok);
  const other = { salt: new Uint8Array(16), hash: encode("pw") }; // equal, but not the room's
  const wrong = registry.takeOver(created.token, peer, { passwordProof: other });
  assert.equal(wrong.ok ? 200 : wrong.status, 401);
  assert.equal(registry.membersFrom("192.0.2.1"), 1);
  assert.ok(registry.takeOver(created.token, peer, { passwordProof: record }).ok);
  assert.equal(registry.membersFrom("192.0.2.9"), 1);
});
