import assert from "node:assert/strict";
import { Operation, type RoomRequest } from "../protocol/tcrp.ts";
import { ChatRefusedError, ChatTransportError } from "./errors.ts";
import { type RejoinOptions, rejoinRoom } from "./rejoin.ts";
import type { Membership } from "./tcrp_client.ts";

const MEMBERSHIP: Membership = {
  accepted: {
    status: 200,
    udpPort: 1,
    maxDatagramBytes: 4096,
    heartbeatSeconds: 10,
    idleTimeoutSeconds: 300,
  },
  token: new Uint8Array(32),
  localHostname: "127.0.0.1",
};

/** rejoinRoom with a scripted server: each call takes the next answer. */
function scripted(answers: (Error | "ok")[], overrides: Partial<RejoinOptions> = {}) {
  const calls: RoomRequest[] = [];
  const result = rejoinRoom({
    server: { hostname: "127.0.0.1", port: 1 },
    room: "lobby",
    username: "bob",
    password: "pw",
    capacity: 5,
    wasHost: false,
    timeoutMs: 2_000,
    retryBaseMs: 1,
    request: (_server, request) => {
      calls.push(request);
      const answer = answers.shift() ?? new ChatTransportError("script ran out");
      return answer === "ok" ? Promise.resolve(MEMBERSHIP) : Promise.reject(answer);
    },
    ...overrides,
  });
  return { result, calls };
}

Deno.test("rejoinRoom: a joiner retries 404 (room not made again yet), 409 and no connection", async () => {
  const { result, calls } = scripted([
    new ChatTransportError("connection refused"),
    new ChatRefusedError(404, "no room"),
    new ChatRefusedError(409, "name taken"),
    new ChatRefusedError(429, "slow down"),
    "ok",
  ]);
  assert.equal(await result, MEMBERSHIP);
  assert.equal(calls.length, 5);
  for (const call of calls) {
    assert.equal(call.operation, Operation.JOIN_ROOM);
    assert.equal(call.password, "pw");
  }
});

Deno.test("rejoinRoom: the former host creates; if the room exists it joins; if that closes, creates again", async () => {
  const { result, calls } = scripted([
    new ChatRefusedError(409, "room exists"),
    new ChatRefusedError(404, "no room"),
    "ok",
  ], { wasHost: true });
  assert.equal(await result, MEMBERSHIP);
  assert.deepEqual(calls.map((c) => c.operation), [
    Operation.CREATE_ROOM,
    Operation.JOIN_ROOM,
    Operation.CREATE_ROOM,
  ]);
  assert.equal(calls[0]!.operation === Operation.CREATE_ROOM && calls[0]!.capacity, 5);
});

Deno.test("rejoinRoom: a refusal waiting cannot change (401, 403) fails at once", async () => {
  for (const status of [400, 401, 403, 503]) {
    const { result, calls } = scripted([new ChatRefusedError(status, `no (${status})`)]);
    await assert.rejects(result, (e) => e instanceof ChatRefusedError && e.status === status);
    assert.equal(calls.length, 1);
  }
});

Deno.test("rejoinRoom: gives up with the last reason when the time is up", async () => {
  const started = Date.now();
  const { result, calls } = scripted(
    Array.from({ length: 1000 }, () => new ChatTransportError("connection refused")),
    { timeoutMs: 150, retryBaseMs: 10 },
  );
  await assert.rejects(result, /connection refused/);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 150 && elapsed < 1_000, `gave up after ${elapsed} ms`);
  assert.ok(calls.length >= 3 && calls.length < 20, `${calls.length} attempts`);
});

Deno.test("rejoinRoom: an abort stops the retrying", async () => {
  const controller = new AbortController();
  const { result } = scripted(
    Array.from({ length: 1000 }, () => new ChatTransportError("connection refused")),
    { timeoutMs: 60_000, retryBaseMs: 50, signal: controller.signal },
  );
  setTimeout(() => controller.abort(), 30);
  await assert.rejects(result, /cancelled/);
});
