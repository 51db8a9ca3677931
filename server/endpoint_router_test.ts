import assert from "node:assert/strict";
import type { ServerBody } from "../protocol/datagram.ts";
import type { Endpoint, EndpointTransport, Outgoing } from "./endpoint.ts";
import { EndpointRouter } from "./endpoint_router.ts";

/** A transport that records what it was given, with endpoints that may refuse more. */
class RecordingTransport implements EndpointTransport {
  readonly sent: string[] = [];
  readonly busy = new Set<string>();
  flushes = 0;
  #pending: string[] = [];

  constructor(readonly name: string) {}

  endpoint(address: string, addressKey = address): Endpoint {
    return { transport: this, address, addressKey };
  }

  authenticates(): boolean {
    return true;
  }

  movesTo(): boolean {
    return true;
  }

  canSend(endpoint: Endpoint): boolean {
    return !this.busy.has(endpoint.address);
  }

  queue(bytes: Uint8Array, to: readonly Endpoint[]): void {
    const text = new TextDecoder().decode(bytes);
    for (const endpoint of to) this.#pending.push(`${endpoint.address} ${text}`);
  }

  flush(): void {
    this.flushes++;
    this.sent.push(...this.#pending);
    this.#pending = [];
  }
}

/** Encodes a body as a short label, so tests read what went where. */
const encode = (body: ServerBody) => {
  if (body.kind === "event") return new TextEncoder().encode(`event${body.seq}`);
  return new TextEncoder().encode(body.kind);
};
/** Replays are counted at their real EVENT size (15 bytes and the name "ann"), not the label's. */
const EVENT_BYTES = 18;
const event = (seq: number): ServerBody => ({
  kind: "event",
  seq,
  timeMs: 0,
  type: 1,
  name: "ann",
  text: "",
});

Deno.test("router: live traffic leaves ahead of replays queued before it in the batch", () => {
  const udp = new RecordingTransport("udp");
  const [ann, bob] = [udp.endpoint("ann"), udp.endpoint("bob")];
  const router = new EndpointRouter({ encode });
  const batch: Outgoing[][] = [
    [{ to: [bob], body: event(1), replay: true }, { to: [bob], body: event(2), replay: true }],
    [{ to: [ann], body: { kind: "ack", msgId: 1, seq: 3 } }, { to: [ann, bob], body: event(3) }],
  ];
  for (const out of batch) router.queue(out);
  assert.deepEqual(udp.sent, [], "nothing leaves before the flush");
  router.flush();
  assert.deepEqual(udp.sent, [
    "ann ack",
    "ann event3",
    "bob event3",
    "bob event1",
    "bob event2",
  ]);
  assert.equal(udp.flushes, 1);
  assert.equal(router.stats.queued, 5);
});

Deno.test("router: each endpoint gets the body through its own transport, encoded once", () => {
  const udp = new RecordingTransport("udp");
  const ws = new RecordingTransport("ws");
  let encodings = 0;
  const router = new EndpointRouter({
    encode: (body) => {
      encodings++;
      return encode(body);
    },
  });
  router.send([{
    to: [udp.endpoint("ann"), ws.endpoint("bob"), udp.endpoint("cid")],
    body: event(7),
  }]);
  assert.equal(encodings, 1);
  assert.deepEqual(udp.sent, ["ann event7", "cid event7"]);
  assert.deepEqual(ws.sent, ["bob event7"]);
});

Deno.test("router: an endpoint that cannot take more is skipped and counted", () => {
  const udp = new RecordingTransport("udp");
  udp.busy.add("bob");
  const router = new EndpointRouter({ encode });
  router.send([{ to: [udp.endpoint("ann"), udp.endpoint("bob")], body: event(1) }]);
  assert.deepEqual(udp.sent, ["ann event1"]);
  assert.equal(router.stats.skippedBusy, 1);
});

Deno.test("router: replays wait for a flush and leave round-robin across addresses, up to its cap", () => {
  const udp = new RecordingTransport("udp");
  // ann and amy share an address; bob has his own.
  const ann = udp.endpoint("ann", "10.0.0.1");
  const amy = udp.endpoint("amy", "10.0.0.1");
  const bob = udp.endpoint("bob", "10.0.0.2");
  let backlogs = 0;
  const router = new EndpointRouter({
    encode,
    replayLimits: { flushDatagrams: 4 },
    onBacklog: () => backlogs++,
  });
  router.queue([
    ...[1, 2, 3].map((seq) => ({ to: [ann], body: event(seq), replay: true })),
    ...[4, 5].map((seq) => ({ to: [amy], body: event(seq), replay: true })),
    { to: [bob], body: event(6), replay: true },
  ]);
  assert.deepEqual(udp.sent, [], "replays wait for the flush");
  router.flush();
  assert.deepEqual(udp.sent, ["ann event1", "bob event6", "ann event2", "ann event3"]);
  assert.equal(backlogs, 1, "told that replays still wait");
  router.flush();
  assert.deepEqual(udp.sent.slice(4), ["amy event4", "amy event5"]);
  assert.equal(backlogs, 1, "not told when nothing waits");
  assert.equal(udp.flushes, 2);
  assert.deepEqual(router.stats.replays, {
    waiting: 0,
    waitingBytes: 0,
    taken: 6,
    takenBytes: 6 * EVENT_BYTES,
    dropped: 0,
    droppedBytes: 0,
  });
});

Deno.test("router: live traffic of a later batch leaves ahead of replays still waiting", () => {
  const udp = new RecordingTransport("udp");
  const [ann, bob] = [udp.endpoint("ann"), udp.endpoint("bob")];
  const router = new EndpointRouter({ encode, replayLimits: { flushDatagrams: 1 } });
  router.send([1, 2, 3].map((seq) => ({ to: [bob], body: event(seq), replay: true })));
  assert.deepEqual(udp.sent, ["bob event1"]);
  router.send([
    { to: [ann], body: { kind: "ack", msgId: 9, seq: 4 } },
    { to: [ann, bob], body: event(4) },
    { to: [bob], body: { kind: "error", code: 429, text: "" } },
  ]);
  assert.deepEqual(udp.sent.slice(1), [
    "ann ack",
    "ann event4",
    "bob event4",
    "bob error",
    "bob event2",
  ]);
  assert.equal(router.stats.replays.waiting, 1);
  assert.equal(router.stats.replays.waitingBytes, EVENT_BYTES);
});

Deno.test("router: replays leave within the global rate; live traffic is never held by it", () => {
  let now = 0;
  const udp = new RecordingTransport("udp");
  const [ann, bob] = [udp.endpoint("ann"), udp.endpoint("bob")];
  const router = new EndpointRouter({
    encode,
    replayRate: 100, // a second, in bursts of one flush's cap
    replayLimits: { flushDatagrams: 10 },
    monotonic: () => now,
  });
  const replays = () => udp.sent.filter((line) => line.startsWith("ann")).length;
  router.send(Array.from({ length: 20 }, (_, i) => ({ to: [ann], body: event(i), replay: true })));
  assert.equal(replays(), 10, "a full burst");
  router.send([{ to: [bob], body: { kind: "ack", msgId: 1, seq: 1 } }]);
  assert.equal(udp.sent.at(-1), "bob ack", "live traffic leaves with no tokens left");
  assert.equal(replays(), 10);
  now += 50;
  router.flush();
  assert.equal(replays(), 15, "50 ms: 5 more");
  now += 10_000;
  router.flush();
  assert.equal(replays(), 20, "the rest");
  assert.equal(router.stats.replays.waiting, 0);
});

Deno.test("router: a replay is encoded once, when a flush takes it; one refused never is", () => {
  const udp = new RecordingTransport("udp");
  const encoded: string[] = [];
  const router = new EndpointRouter({
    encode: (body) => {
      encoded.push(body.kind === "event" ? `event${body.seq}` : body.kind);
      return encode(body);
    },
    replayLimits: { addressDatagrams: 2, flushDatagrams: 1 },
  });
  const [ann, bob, cid] = [udp.endpoint("ann"), udp.endpoint("bob"), udp.endpoint("cid")];
  router.queue([
    { to: [ann], body: event(1), replay: true },
    { to: [ann], body: event(2), replay: true },
    { to: [ann], body: event(3), replay: true }, // ann's bound is 2: refused
    { to: [bob, ann, cid], body: event(4), replay: true }, // ann is refused
    { to: [bob], body: event(5), replay: true },
  ]);
  assert.deepEqual(encoded, [], "nothing encoded before a flush takes it");
  for (let i = 0; i < 6; i++) router.flush();
  assert.deepEqual(udp.sent, [
    "ann event1",
    "bob event4",
    "cid event4",
    "ann event2",
    "bob event5",
  ]);
  assert.deepEqual(encoded, ["event1", "event4", "event2", "event5"], "event4 once; event3 never");
  assert.equal(router.stats.replays.dropped, 2);
});

Deno.test("router: a body that does not encode is reported and the rest still go", () => {
  const udp = new RecordingTransport("udp");
  const failed: string[] = [];
  const router = new EndpointRouter({
    encode: (body) => {
      if (body.kind === "closed") throw new RangeError("too long");
      return encode(body);
    },
    onEncodeError: (body, error) => failed.push(`${body.kind}: ${(error as Error).message}`),
  });
  router.send([
    { to: [udp.endpoint("ann")], body: { kind: "closed", reason: 1, text: "" } },
    { to: [udp.endpoint("ann")], body: event(1) },
  ]);
  assert.deepEqual(failed, ["closed: too long"]);
  assert.deepEqual(udp.sent, ["ann event1"]);
});
