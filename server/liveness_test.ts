/** When a membership ends by itself, rule by rule, and the grace list's bookkeeping. */
import assert from "node:assert/strict";
import { CloseReason } from "../protocol/datagram.ts";
import type { Endpoint } from "./endpoint.ts";
import { ipBoundTransport } from "./fake_transport_test_util.ts";
import { dueRemoval, GraceList } from "./liveness.ts";
import type { Member } from "./room_state.ts";

const timeouts = { idleTimeoutMs: 300_000, heartbeatMs: 10_000, helloTimeoutMs: 30_000 };
const endpoint: Endpoint = { transport: ipBoundTransport, address: "a", addressKey: "a" };

/** Only the fields the rules read. */
const member = (fields: Partial<Member>): Member =>
  ({
    endpoint,
    joinedAt: 0,
    lastDatagramAt: 0,
    lastMessageAt: 0,
    disconnected: null,
    ...fields,
  }) as Member;

const due = (m: Member, now: number) => {
  const removal = dueRemoval(m, now, timeouts);
  return removal === null ? null : `${removal.label} ${removal.reason}${removal.detail}`;
};

Deno.test("liveness: HELLO timeout, 3 silent heartbeats, idleness, each at its boundary", () => {
  const fresh = member({ endpoint: null });
  assert.equal(due(fresh, 29_999), null);
  assert.equal(due(fresh, 30_000), `revoked ${CloseReason.LOST} sent no HELLO`);
  assert.equal(due(member({ endpoint: null }), 400_000), "revoked 3 sent no HELLO", "not idle");
  assert.equal(due(member({}), 29_999), null);
  assert.equal(due(member({}), 30_000), `lost ${CloseReason.LOST}`);
  const talking = member({ lastDatagramAt: 299_999 });
  assert.equal(due(talking, 299_999), null);
  assert.equal(due(talking, 300_000), `idle ${CloseReason.IDLE}`);
  assert.equal(dueRemoval(talking, 300_000, { ...timeouts, idleTimeoutMs: 0 }), null);
});

Deno.test("liveness: in grace only the grace and idleness count, with or without an endpoint", () => {
  for (const endpointNow of [endpoint, null]) {
    const m = member({ endpoint: endpointNow, disconnected: { at: 5_000, graceMs: 100_000 } });
    assert.equal(due(m, 104_999), null, "no heartbeat or HELLO rule");
    assert.equal(due(m, 105_000), `lost 3 did not reconnect in time`);
    const long = member({ endpoint: endpointNow, disconnected: { at: 5_000, graceMs: 600_000 } });
    assert.equal(due(long, 300_000), `idle ${CloseReason.IDLE}`);
  }
});

Deno.test("grace list: a second start keeps the first deadline; end and clear", () => {
  const list = new GraceList();
  const a = member({});
  const b = member({});
  list.start(a, 1_000, 5_000);
  list.start(a, 4_000, 5_000);
  assert.deepEqual(a.disconnected, { at: 1_000, graceMs: 5_000 });
  list.start(b, 2_000, 5_000);
  assert.equal(list.size, 2);
  list.end(a);
  list.end(a);
  assert.equal(a.disconnected, null);
  assert.equal(list.size, 1);
  list.clear();
  assert.equal(b.disconnected, null);
  assert.equal(list.size, 0);
});
