/**
 * Revision-2 MESSAGE and LEAVE through the registry: per-sender order, the
 * rate shaping instead of refusing, REFUSED for what is outside the window,
 * too big or skipped, and LEAVE releasing everything. The window alone is
 * tested in message_window_test.ts; revision 1 in registry_test.ts.
 */
import assert from "node:assert/strict";
import type { ClientBody, ServerBody } from "../protocol/datagram.ts";
import type { Endpoint, Outgoing } from "./endpoint.ts";
import { DEFAULT_REGISTRY_LIMITS, type RegistryOptions, RoomRegistry } from "./registry.ts";
import { ipBoundTransport } from "./fake_transport_test_util.ts";

let now = 1_000_000;
const clocks = { monotonic: () => now, wall: () => now };
const transport = ipBoundTransport;
const names = new Map<Endpoint, string>();

type Client = { token: Uint8Array; ep: Endpoint };

function setup(overrides: Partial<RegistryOptions> = {}) {
  now = 1_000_000;
  let counter = 0;
  let holdingCalls = 0;
  const reg = new RoomRegistry({
    ...DEFAULT_REGISTRY_LIMITS,
    clocks,
    randomBytes: (size) => new TextEncoder().encode(String(++counter).padStart(size, "0")),
    onHolding: () => holdingCalls++,
    ...overrides,
  });
  const enter = (name: string, protocol: number, create = false): Client => {
    const ep: Endpoint = { transport, address: `10.0.0.${names.size + 1}`, addressKey: name };
    names.set(ep, name);
    const request = {
      roomName: "r",
      username: name,
      peer: { address: ep.address, addressKey: name },
    };
    const result = create
      ? reg.create({ ...request, password: null, capacity: null, protocol })
      : reg.join({ ...request, passwordProof: null, protocol });
    if (!result.ok) throw new Error(result.error);
    const client = { token: result.token, ep };
    send(client, { kind: "hello", lastSeq: 0 });
    return client;
  };
  const send = (c: Client, body: ClientBody) =>
    reg.handleDatagram(c.ep, { roomName: "r", token: c.token, body });
  const ann = enter("ann", 1, true); // host, revision 1
  const bob = enter("bob", 2);
  return { reg, ann, bob, send, enter, holdingCalls: () => holdingCalls };
}

const msg = (msgId: number, text = `t${msgId}`): ClientBody => ({ kind: "message", msgId, text });

/** What bob is told, compactly: "ack 1 #3", "refused 2 429", ... (events to ann left out). */
function toBob(out: Outgoing[]): string[] {
  return out.flatMap(({ to, body }) =>
    to.filter((ep) => names.get(ep) === "bob").map(() => describe(body))
  );
}

function describe(b: ServerBody): string {
  if (b.kind === "ack") return `ack ${b.msgId} #${b.seq}`;
  if (b.kind === "refused") return `refused ${b.msgId} ${b.code}`;
  if (b.kind === "event") return `event${b.type} ${b.text}`;
  if (b.kind === "error") return `error${b.code}`;
  return b.kind === "closed" ? `closed${b.reason}` : b.kind;
}

/** Texts of the message EVENTs ann receives, in order. */
const annSees = (out: Outgoing[]) =>
  out.flatMap(({ to, body }) =>
    body.kind === "event" && body.type === 1 && to.some((ep) => names.get(ep) === "ann")
      ? [body.text]
      : []
  );

Deno.test("revision 2: msgIds leave in order whatever order they arrive in", () => {
  const { reg, send, bob, holdingCalls } = setup();
  assert.deepEqual(toBob(send(bob, msg(2))), []);
  assert.equal(reg.holdingMembers, 1);
  assert.equal(holdingCalls(), 1);
  assert.deepEqual(toBob(send(bob, msg(3))), []);
  assert.deepEqual(toBob(send(bob, msg(3))), [], "held already: no ACK until release");
  const out = send(bob, msg(1));
  assert.deepEqual(toBob(out), [
    "ack 1 #3",
    "event1 t1",
    "ack 2 #4",
    "event1 t2",
    "ack 3 #5",
    "event1 t3",
  ]);
  assert.deepEqual(annSees(out), ["t1", "t2", "t3"]);
  assert.equal(reg.holdingMembers, 0);
  assert.equal(reg.heldMessages, 0);
  // A repeat below the window is acknowledged again, not relayed.
  assert.deepEqual(toBob(send(bob, msg(2))), ["ack 2 #4"]);
});

Deno.test("revision 2: the rate shapes a burst (never ERROR 429); releaseDue lets it out", () => {
  const { reg, send, bob } = setup({ rateLimit: 20, messageWindow: 64 });
  const out: Outgoing[] = [];
  for (let id = 1; id <= 60; id++) out.push(...send(bob, msg(id)));
  // The burst of 40 leaves at once; the rest wait for tokens, none is refused.
  assert.equal(toBob(out).filter((s) => s.startsWith("ack")).length, 40);
  assert.ok(!toBob(out).some((s) => s.startsWith("error") || s.startsWith("refused")));
  assert.equal(reg.heldMessages, 20);
  for (let i = 0; i < 20 && reg.holdingMembers > 0; i++) {
    now += 50;
    out.push(...reg.releaseDue());
  }
  assert.equal(reg.holdingMembers, 0);
  assert.deepEqual(annSees(out), Array.from({ length: 60 }, (_, i) => `t${i + 1}`));
  assert.equal(now - 1_000_000, 1_000, "20 more at 20 a second: one second");
});

Deno.test("revision 2: outside the window, REFUSED 429 (not final: it may come again)", () => {
  const { send, bob } = setup({ messageWindow: 4 });
  assert.deepEqual(toBob(send(bob, msg(5))), ["refused 5 429"]);
  assert.deepEqual(toBob(send(bob, msg(4))), []);
  assert.deepEqual(toBob(send(bob, msg(1))).filter((s) => s.startsWith("ack")), ["ack 1 #3"]);
  // Window now 2..5: 5 fits.
  assert.deepEqual(toBob(send(bob, msg(5))), []);
});

Deno.test("revision 2: a gap is skipped after the gap timeout (REFUSED 410, remembered)", () => {
  const { reg, send, bob } = setup({ gapTimeoutMs: 5_000 });
  send(bob, msg(2));
  now += 4_999;
  assert.deepEqual(toBob(reg.releaseDue()), []);
  now += 1;
  assert.deepEqual(toBob(reg.releaseDue()), ["refused 1 410", "ack 2 #3", "event1 t2"]);
  assert.deepEqual(toBob(send(bob, msg(1))), ["refused 1 410"], "the same answer again");
  assert.equal(reg.holdingMembers, 0);
});

Deno.test("revision 2: too big is REFUSED 413 for good, and later ones still go", () => {
  const { send, bob } = setup();
  const big = "x".repeat(4_085);
  send(bob, msg(3));
  assert.deepEqual(toBob(send(bob, msg(2, big))), ["refused 2 413"]);
  assert.deepEqual(toBob(send(bob, msg(1))), [
    "ack 1 #3",
    "event1 t1",
    "ack 3 #4",
    "event1 t3",
  ]);
  assert.deepEqual(toBob(send(bob, msg(2, big))), ["refused 2 413"]);
});

Deno.test("revision 2: msgId 0 is ERROR 400", () => {
  const { send, bob } = setup();
  assert.deepEqual(toBob(send(bob, msg(0))), ["error400"]);
});

Deno.test("revision 2: the window's bytes and the server's held cap refuse 429", () => {
  const { send, bob, enter } = setup({ messageWindowBytes: 4_096, maxHeldMessages: 2 });
  assert.deepEqual(toBob(send(bob, msg(2, "y".repeat(4_000)))), []);
  assert.deepEqual(toBob(send(bob, msg(3, "y".repeat(100)))), ["refused 3 429"]);
  const cid = enter("cid", 2);
  send(cid, msg(2));
  const third = send(cid, msg(3));
  assert.equal(third.length, 1);
  assert.deepEqual(third[0]!.body.kind === "refused" && third[0]!.body.code, 429);
});

Deno.test("revision 2: LEAVE releases everything held, in order, before 'left'", () => {
  const { reg, send, bob } = setup({ rateLimit: 1 });
  send(bob, msg(1));
  send(bob, msg(2));
  send(bob, msg(3)); // 1 and 2 took the burst of 2; 3 waits for the rate
  send(bob, msg(5)); // 4 never comes
  assert.equal(reg.heldMessages, 2);
  const out = send(bob, { kind: "leave" });
  assert.deepEqual(toBob(out), [
    "ack 3 #5",
    "event1 t3",
    "refused 4 410",
    "ack 5 #6",
    "event1 t5",
    "closed5",
  ]);
  assert.deepEqual(annSees(out), ["t3", "t5"]);
  assert.equal(describe(out.at(-1)!.body), "event3 ");
  assert.equal(reg.heldMessages, 0);
  assert.equal(reg.holdingMembers, 0);
});

Deno.test("revision 2: a member removed otherwise gives its held messages back to the pool", () => {
  const { reg, send, bob, ann } = setup();
  send(bob, msg(2));
  send(bob, msg(3));
  assert.equal(reg.heldMessages, 2);
  send(ann, { kind: "leave" }); // the host leaves: the room closes
  assert.equal(reg.heldMessages, 0);
  assert.equal(reg.holdingMembers, 0);
});

Deno.test("revision 1 beside revision 2: arrival order and ERROR 429, as before", () => {
  const { send, ann } = setup({ rateLimit: 1 });
  assert.deepEqual(annSees(send(ann, msg(5))), ["t5"]);
  assert.deepEqual(annSees(send(ann, msg(2))), ["t2"]);
  const over = send(ann, msg(7));
  assert.equal(over[0]!.body.kind, "error");
});
