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

  endpoint(address: string): Endpoint {
    return { transport: this, address, addressKey: address };
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

Deno.test("router: the admitReplay hook decides per endpoint; live traffic never asks it", () => {
  const udp = new RecordingTransport("udp");
  const asked: string[] = [];
  const router = new EndpointRouter({
    encode,
    admitReplay: (endpoint, bytes) => {
      asked.push(`${endpoint.address} ${bytes}`);
      return endpoint.address !== "bob";
    },
  });
  router.send([
    { to: [udp.endpoint("ann")], body: event(1), replay: true },
    { to: [udp.endpoint("bob")], body: event(2), replay: true },
    { to: [udp.endpoint("bob")], body: event(3) },
  ]);
  assert.deepEqual(asked, ["ann 6", "bob 6"]);
  assert.deepEqual(udp.sent, ["bob event3", "ann event1"]);
  assert.equal(router.stats.replaysRefused, 1);
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
