/** rejoinRoom on its own, with a scripted connector on virtual time. */
import assert from "node:assert/strict";
import { Operation } from "../protocol/tcrp.ts";
import { VirtualClock } from "../testing/virtual_time.ts";
import { ChatRefusedError, ChatTransportError } from "./errors.ts";
import { type ConnectAnswer, FakeConnector } from "./fake_network_test_util.ts";
import { type RejoinOptions, rejoinRoom } from "./rejoin.ts";

/** rejoinRoom with a scripted server: each call takes the next answer. */
function scripted(answers: ConnectAnswer[], overrides: Partial<RejoinOptions> = {}) {
  const clock = new VirtualClock();
  const connector = new FakeConnector(clock);
  connector.answers = answers;
  connector.otherwise = new ChatTransportError("script ran out");
  const result = rejoinRoom({
    connector,
    scheduler: clock,
    room: "lobby",
    username: "bob",
    password: "pw",
    capacity: 5,
    wasHost: false,
    timeoutMs: 60_000,
    retryBaseMs: 250,
    ...overrides,
  });
  const outcome: { value?: unknown } = {};
  result.then((value) => (outcome.value = value), (error) => (outcome.value = error));
  return { clock, connector, result, outcome: () => outcome.value };
}

Deno.test("rejoinRoom: a joiner retries 404 (room not made again yet), 409, 429 and no connection, 250 ms doubling to 2 s apart", async () => {
  const { clock, connector, result } = scripted([
    new ChatTransportError("connection refused"),
    new ChatRefusedError(404, "no room"),
    new ChatRefusedError(409, "name taken"),
    new ChatRefusedError(429, "slow down"),
    new ChatRefusedError(404, "no room"),
    new ChatRefusedError(404, "no room"),
    "ok",
  ]);
  await clock.advance(10_000);
  const connection = await result;
  assert.equal(connection.channel, connector.channel);
  assert.deepEqual(connector.requestTimes, [0, 250, 750, 1_750, 3_750, 5_750, 7_750]);
  for (const call of connector.requests) {
    assert.equal(call.operation, Operation.JOIN_ROOM);
    assert.equal(call.password, "pw");
    assert.equal(call.capacity, null, "a join carries no capacity");
  }
  connection.channel.close();
});

Deno.test("rejoinRoom: the former host creates; if the room exists it joins at once; if that closes, creates again", async () => {
  const { clock, connector, result } = scripted([
    new ChatRefusedError(409, "room exists"),
    new ChatRefusedError(404, "no room"),
    "ok",
  ], { wasHost: true });
  await clock.advance(1_000);
  (await result).channel.close();
  assert.deepEqual(connector.requests.map((c) => c.operation), [
    Operation.CREATE_ROOM,
    Operation.JOIN_ROOM,
    Operation.CREATE_ROOM,
  ]);
  assert.deepEqual(connector.requestTimes, [0, 0, 250]);
  assert.deepEqual(connector.requests.map((c) => c.capacity), [5, null, 5]);
});

Deno.test("rejoinRoom: a refusal waiting cannot change (400, 401, 403, 503) fails at once", async () => {
  for (const status of [400, 401, 403, 503]) {
    const { clock, connector, outcome } = scripted([
      new ChatRefusedError(status, `no (${status})`),
    ]);
    await clock.settle();
    const error = outcome();
    assert.ok(error instanceof ChatRefusedError && error.status === status, String(error));
    assert.equal(connector.requests.length, 1);
    assert.equal(clock.now(), 0);
  }
});

Deno.test("rejoinRoom: gives up with the last reason exactly when the time is up", async () => {
  const { clock, connector, outcome } = scripted([], { timeoutMs: 5_000 });
  await clock.advance(4_999);
  assert.equal(outcome(), undefined);
  await clock.advance(1);
  const error = outcome();
  assert.ok(error instanceof ChatTransportError && /script ran out/.test(error.message));
  // 250, 500, 1000, 2000 ms apart, then the last wait is cut at the deadline.
  assert.deepEqual(connector.requestTimes, [0, 250, 750, 1_750, 3_750]);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("rejoinRoom: an abort stops the retrying", async () => {
  const abort = new AbortController();
  const { clock, connector, outcome } = scripted([], { signal: abort.signal });
  await clock.advance(300);
  abort.abort();
  await clock.settle();
  const error = outcome();
  assert.ok(error instanceof ChatTransportError && /cancelled/.test(error.message));
  assert.equal(connector.requests.length, 2);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("rejoinRoom: a connector that never answers is given up on by the library's own clock", async () => {
  const clock = new VirtualClock();
  const signals: AbortSignal[] = [];
  const result = rejoinRoom({
    connector: {
      connect: (_request, options) => {
        signals.push(options.signal!);
        return new Promise(() => {}); // ignores its timeout and signal
      },
    },
    scheduler: clock,
    room: "lobby",
    username: "bob",
    password: null,
    capacity: null,
    wasHost: false,
    timeoutMs: 6_000,
    retryBaseMs: 250,
  });
  let error: unknown;
  result.catch((e) => (error = e));
  // The attempt had 5 s (at most 5 s of what is left), and 1 s of grace.
  await clock.advance(5_999);
  assert.equal(signals.length, 1);
  assert.equal(signals[0]!.aborted, false);
  await clock.advance(1);
  assert.ok(signals[0]!.aborted, "the attempt's signal aborts at its deadline");
  assert.ok(error instanceof ChatTransportError, String(error));
  assert.match((error as Error).message, /no answer from the server within 5000 ms/);
  assert.equal(clock.pendingTimers, 0);
});
