/**
 * A member whose WebSocket closed (docs/protocol.md 7.4): "disconnected" for
 * a grace period in which nobody is told and the heartbeat rule does not
 * apply, then removed as lost; a reconnect or a datagram ends it; the idle
 * rule still applies. All on a clock that moves only when a test moves it.
 */
import assert from "node:assert/strict";
import type { ClientBody, ServerBody } from "../protocol/datagram.ts";
import type { Endpoint, Outgoing } from "./endpoint.ts";
import { DEFAULT_REGISTRY_LIMITS, type RegistryOptions, RoomRegistry } from "./registry.ts";
import { ipBoundTransport } from "./fake_transport_test_util.ts";

const GRACE = 300_000;
const HEARTBEAT = DEFAULT_REGISTRY_LIMITS.heartbeatMs;

let now = 0;

interface Client {
  name: string;
  token: Uint8Array;
  ep: Endpoint;
  send(body: ClientBody): Outgoing[];
}

function setUp(overrides: Partial<RegistryOptions> = {}) {
  now = 0;
  let drawn = 0;
  const reg = new RoomRegistry({
    ...DEFAULT_REGISTRY_LIMITS,
    idleTimeoutMs: 0,
    clocks: { monotonic: () => now, wall: () => 1_700_000_000_000 + now },
    randomBytes: (size) => new Uint8Array(size).fill(++drawn),
    ...overrides,
  });
  const names = new Map<Endpoint, string>();
  const enter = (name: string, how: "create" | "join" = "join", hello = true): Client => {
    const address = `10.0.0.${names.size + 1}`;
    const ep: Endpoint = { transport: ipBoundTransport, address, addressKey: address };
    names.set(ep, name);
    const peer = { address, addressKey: address };
    const result = how === "create"
      ? reg.create({ roomName: "r", username: name, password: null, capacity: null, peer })
      : reg.join({ roomName: "r", username: name, passwordProof: null, peer });
    if (!result.ok) throw new Error(result.error);
    const send = (body: ClientBody) =>
      reg.handleDatagram(ep, { roomName: "r", token: result.token, body });
    if (hello) send({ kind: "hello", lastSeq: 0 });
    return { name, token: result.token, ep, send };
  };
  /** Every delivered datagram, e.g. "bob closed3, ann event4 bob". */
  const show = (out: Outgoing[]) =>
    out.flatMap(({ to, body }) => to.map((ep) => `${names.get(ep)} ${describe(body)}`))
      .join(", ");
  /** Moves the clock in steps of `step`, letting `alive` heartbeat before each tick. */
  const pass = (ms: number, alive: Client[] = [], step = 5_000) => {
    const out: Outgoing[] = [];
    for (let left = ms; left > 0; left -= step) {
      now += Math.min(step, left);
      for (const c of alive) c.send({ kind: "heartbeat", lastSeq: 0xffff_ffff });
      out.push(...reg.tick());
    }
    return show(out);
  };
  return { reg, enter, pass, show };
}

function describe(b: ServerBody): string {
  if (b.kind === "event") return `event${b.type} ${b.name}`;
  if (b.kind === "closed") return `closed${b.reason}${b.reason === 1 ? ` "${b.text}"` : ""}`;
  return b.kind;
}

Deno.test("grace: a disconnected member outlives 3 heartbeats, unannounced, and is removed as lost when its grace ends", () => {
  const { reg, enter, pass } = setUp();
  const ann = enter("ann", "create");
  const bob = enter("bob");
  reg.disconnect(bob.token, GRACE);
  assert.equal(reg.disconnectedCount, 1);
  assert.equal(pass(3 * HEARTBEAT, [ann]), "", "the 3-heartbeat rule does not apply");
  assert.equal(pass(GRACE - 3 * HEARTBEAT - 1, [ann]), "", "nobody is told anything in grace");
  assert.equal(reg.memberCount, 2);
  assert.equal(pass(1, [ann]), "bob closed3, ann event4 bob");
  assert.equal(reg.memberCount, 1);
  assert.equal(reg.disconnectedCount, 0);
});

Deno.test("grace: a disconnected host keeps its room open through the grace, then the room closes saying why", () => {
  const { reg, enter, pass } = setUp();
  const ann = enter("ann", "create");
  const bob = enter("bob");
  reg.disconnect(ann.token, GRACE);
  assert.equal(pass(GRACE - 1, [bob]), "");
  assert.equal(reg.roomCount, 1);
  assert.equal(
    pass(1, [bob]),
    'ann closed3, bob closed1 "the room was closed: its host ann was lost ' +
      '(nothing heard from it for 5 minutes)"',
  );
  assert.equal(reg.roomCount + reg.memberCount + reg.disconnectedCount, 0);
});

Deno.test("grace: a reconnect within the grace keeps the membership; the heartbeat rule applies again from then", () => {
  const { reg, enter, pass } = setUp();
  const ann = enter("ann", "create");
  const bob = enter("bob");
  reg.disconnect(bob.token, GRACE);
  assert.equal(pass(GRACE - HEARTBEAT, [ann]), "");
  reg.reconnect(bob.token);
  assert.equal(reg.disconnectedCount, 0);
  // The old deadline is gone: bob is still here after it, as long as it is heard from.
  assert.equal(pass(2 * HEARTBEAT, [ann, bob]), "");
  assert.equal(reg.memberCount, 2);
  // Connected again, silence is judged as before: 3 heartbeats without a sign of life.
  assert.equal(pass(3 * HEARTBEAT, [ann]), "bob closed3, ann event4 bob");
});

Deno.test("grace: an authenticated datagram ends a disconnect as a reconnect does", () => {
  const { reg, enter, pass } = setUp();
  const ann = enter("ann", "create");
  const bob = enter("bob");
  reg.disconnect(bob.token, GRACE);
  assert.equal(pass(GRACE - 1_000, [ann]), "");
  bob.send({ kind: "hello", lastSeq: 2 });
  assert.equal(reg.disconnectedCount, 0);
  assert.equal(pass(2 * HEARTBEAT, [ann, bob]), "", "past the old deadline");
  assert.equal(reg.memberCount, 2);
});

Deno.test("grace: the idle rule still removes a disconnected member", () => {
  const { reg, enter, pass } = setUp({ idleTimeoutMs: 60_000 });
  const ann = enter("ann", "create");
  const bob = enter("bob");
  ann.send({ kind: "message", msgId: 1, text: "hi" });
  reg.disconnect(bob.token, GRACE);
  assert.equal(pass(59_000, [ann]), "");
  ann.send({ kind: "message", msgId: 2, text: "still here" });
  assert.equal(pass(1_000, [ann]), "bob closed2, ann event4 bob");
  assert.equal(reg.disconnectedCount, 0);
});

Deno.test("grace: a socket closed before HELLO waits for the grace, not the HELLO timeout", () => {
  const { reg, enter, pass } = setUp();
  const ann = enter("ann", "create");
  const bob = enter("bob", "join", false);
  reg.disconnect(bob.token, GRACE);
  assert.equal(pass(DEFAULT_REGISTRY_LIMITS.helloTimeoutMs, [ann]), "");
  assert.equal(reg.memberCount, 2);
  assert.equal(pass(GRACE - DEFAULT_REGISTRY_LIMITS.helloTimeoutMs, [ann]), "ann event4 bob");
});

Deno.test("grace: a host whose socket closed before HELLO is lost at the end of the grace, with the grace in the text", () => {
  const { reg, enter, pass } = setUp();
  const ann = enter("ann", "create", false);
  const bob = enter("bob");
  reg.disconnect(ann.token, 120_000);
  assert.equal(
    pass(120_000, [bob]),
    'bob closed1 "the room was closed: its host ann was lost (nothing heard from it for 2 minutes)"',
  );
});

Deno.test("grace: a second disconnect keeps the first deadline", () => {
  const { reg, enter, pass } = setUp();
  const ann = enter("ann", "create");
  const bob = enter("bob");
  reg.disconnect(bob.token, GRACE);
  assert.equal(pass(GRACE / 2, [ann]), "");
  reg.disconnect(bob.token, GRACE);
  assert.equal(pass(GRACE / 2, [ann]), "bob closed3, ann event4 bob");
});

Deno.test("touch: a sign of life without datagrams keeps a connected member from being lost", () => {
  const { reg, enter, pass } = setUp();
  const ann = enter("ann", "create");
  const bob = enter("bob");
  for (let i = 0; i < 10; i++) {
    assert.equal(pass(HEARTBEAT, [ann]), "");
    reg.touch(bob.token);
  }
  assert.equal(reg.memberCount, 2);
  assert.equal(pass(3 * HEARTBEAT, [ann]), "bob closed3, ann event4 bob");
});

Deno.test("grace: unknown tokens are ignored; the count follows removals, room closes and shutdown", () => {
  const { reg, enter, pass } = setUp();
  const stranger = new Uint8Array(32).fill(0xee);
  reg.touch(stranger);
  reg.disconnect(stranger, GRACE);
  reg.reconnect(stranger);
  assert.equal(reg.disconnectedCount, 0);
  const ann = enter("ann", "create");
  const bob = enter("bob");
  const cid = enter("cid");
  reg.disconnect(bob.token, GRACE);
  reg.disconnect(cid.token, GRACE);
  assert.equal(reg.disconnectedCount, 2);
  assert.equal(cid.send({ kind: "leave" }).length > 0, true);
  assert.equal(reg.disconnectedCount, 1, "a disconnected member that leaves is counted no more");
  ann.send({ kind: "leave" });
  assert.equal(reg.disconnectedCount, 0, "the host's room closed with bob in it");
  const dan = enter("dan", "create");
  reg.disconnect(dan.token, GRACE);
  reg.shutdown();
  assert.equal(reg.disconnectedCount, 0);
  assert.equal(pass(GRACE), "");
});
