/**
 * When a host's membership ends, the others get CLOSED 1 (no new reason
 * code: older clients drop unknown ones) whose text says the true cause:
 * the host left, was removed for idleness, was lost, or never connected.
 */
import assert from "node:assert/strict";
import { type ClientBody, CloseReason } from "../protocol/datagram.ts";
import type { Endpoint, Outgoing } from "./endpoint.ts";
import { DEFAULT_REGISTRY_LIMITS, type RegistryOptions, RoomRegistry } from "./registry.ts";
import { hostGoneText } from "./room_state.ts";
import { ipBoundTransport } from "./fake_transport_test_util.ts";

let now = 0;
const transport = ipBoundTransport;

let nextToken = 0;
function setUp(overrides: Partial<RegistryOptions> = {}) {
  now = 0;
  const reg = new RoomRegistry({
    ...DEFAULT_REGISTRY_LIMITS,
    clocks: { monotonic: () => now, wall: () => 1_700_000_000_000 + now },
    randomBytes: (size) => new Uint8Array(size).fill(++nextToken),
    ...overrides,
  });
  const enter = (name: string, create: boolean, hello = true) => {
    const address = `10.0.0.${nextToken + 1}`;
    const ep: Endpoint = { transport, address, addressKey: address };
    const peer = { address, addressKey: address };
    const result = create
      ? reg.create({ roomName: "r", username: name, password: null, capacity: null, peer })
      : reg.join({ roomName: "r", username: name, passwordProof: null, peer });
    if (!result.ok) throw new Error(result.error);
    const send = (body: ClientBody): Outgoing[] =>
      reg.handleDatagram(ep, { roomName: "r", token: result.token, body });
    if (hello) send({ kind: "hello", lastSeq: 0 });
    return { ep, send };
  };
  return { reg, enter };
}

/** The CLOSED 1 text `bob` got in `out`. */
function closedTextFor(out: Outgoing[], bob: Endpoint): string {
  const closed = out.find((o) => o.to.includes(bob) && o.body.kind === "closed");
  assert.ok(closed !== undefined && closed.body.kind === "closed", "bob got a CLOSED");
  assert.equal(closed.body.reason, CloseReason.HOST_LEFT);
  return closed.body.text;
}

Deno.test("host gone: LEAVE says the host left", () => {
  const { enter } = setUp();
  const ann = enter("ann", true);
  const bob = enter("bob", false);
  assert.equal(
    closedTextFor(ann.send({ kind: "leave" }), bob.ep),
    "the room was closed: its host ann left",
  );
});

Deno.test("host gone: removed for idleness, with the server's idle timeout", () => {
  const { reg, enter } = setUp({ idleTimeoutMs: 300_000 });
  const ann = enter("ann", true);
  const bob = enter("bob", false);
  const out: Outgoing[] = [];
  // ann heartbeats (she is there, reading) and bob talks: only ann is idle.
  for (now = 5_000; now <= 300_000 && out.length === 0; now += 5_000) {
    ann.send({ kind: "heartbeat", lastSeq: 0 });
    bob.send({ kind: "message", msgId: now / 5_000, text: "talking alone" });
    out.push(...reg.tick().filter((o) => o.body.kind === "closed"));
  }
  assert.equal(now, 305_000, "removed at the 300 s sweep");
  assert.equal(
    closedTextFor(out, bob.ep),
    "the room was closed: its host ann was removed after 5 minutes without a message",
  );
});

Deno.test("host gone: lost after 3 heartbeats, or never connected", () => {
  const lost = setUp({ heartbeatMs: 10_000, idleTimeoutMs: 0 });
  lost.enter("ann", true);
  const bob = lost.enter("bob", false);
  now = 30_000;
  bob.send({ kind: "heartbeat", lastSeq: 0 });
  assert.equal(
    closedTextFor(lost.reg.tick(), bob.ep),
    "the room was closed: its host ann was lost (nothing heard from it for 30 seconds)",
  );

  const silent = setUp({ helloTimeoutMs: 30_000, idleTimeoutMs: 0 });
  silent.enter("zed", true, false);
  const yan = silent.enter("yan", false);
  now = 30_000;
  yan.send({ kind: "heartbeat", lastSeq: 0 });
  assert.equal(
    closedTextFor(silent.reg.tick(), yan.ep),
    "the room was closed: its host zed never connected (no HELLO within 30 seconds)",
  );
});

Deno.test("hostGoneText: durations in whole minutes or seconds", () => {
  const timeouts = { idleTimeoutMs: 90_000, heartbeatMs: 20_000, helloTimeoutMs: 1_000 };
  assert.equal(
    hostGoneText("ann", CloseReason.IDLE, true, timeouts),
    "the room was closed: its host ann was removed after 90 seconds without a message",
  );
  assert.equal(
    hostGoneText("ann", CloseReason.LOST, true, timeouts),
    "the room was closed: its host ann was lost (nothing heard from it for 1 minute)",
  );
  assert.equal(
    hostGoneText("ann", CloseReason.LOST, false, timeouts),
    "the room was closed: its host ann never connected (no HELLO within 1 second)",
  );
});
