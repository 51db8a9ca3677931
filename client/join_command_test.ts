/**
 * What `chat join` asks the server for, decided without a terminal: the
 * same function builds the session for the interactive menu and for pipe mode.
 */
import assert from "node:assert/strict";
import { decodeUtf8 } from "../protocol/bytes.ts";
import { encodeTcrpRequest, TCRP_HEADER_BYTES } from "../protocol/tcrp.ts";
import { VirtualClock } from "../testing/virtual_time.ts";
import { FakeConnector, welcome } from "./fake_network_test_util.ts";
import { type JoinFlags, serverKeyCheckFor, sessionOptionsOf } from "./join_command.ts";
import { nodeSha256, PinStore, ServerKeyChangedError } from "./pin_store.ts";
import { isolatedEnv } from "../testing/isolated_env.ts";
import { ChatSession } from "./session.ts";
import { TcpUdpConnector } from "./tcp_udp_connector.ts";
import { nodeCrypto } from "../crypto/node_crypto.ts";

const FLAGS: JoinFlags = { server: { hostname: "127.0.0.1", port: 9001 }, capacity: 4 };
const ACCEPT_ANY_KEY = () => {};

/** The JSON payload of the TCRP request a session opened with these flags and choice sends. */
async function requestPayload(create: boolean): Promise<Record<string, unknown>> {
  const clock = new VirtualClock();
  const connector = new FakeConnector(clock);
  const options = sessionOptionsOf(FLAGS, {
    create,
    room: "lobby",
    username: "alice",
    password: null,
  }, ACCEPT_ANY_KEY);
  const opening = ChatSession.open({ ...options, connector, scheduler: clock });
  await clock.settle();
  connector.channel.inject(welcome(0));
  const session = await opening;
  await session.leave();
  const bytes = encodeTcrpRequest(connector.requests[0]!);
  return JSON.parse(decodeUtf8(bytes.subarray(TCRP_HEADER_BYTES + "lobby".length), "payload"));
}

Deno.test("chat join --capacity, then Join in the menu: the request carries no capacity", async () => {
  assert.deepEqual(await requestPayload(false), { username: "alice", protocol: 2 });
  assert.equal(
    sessionOptionsOf(
      FLAGS,
      { create: false, room: "r", username: "u", password: "p" },
      ACCEPT_ANY_KEY,
    )
      .capacity,
    null,
  );
});

Deno.test("chat join --capacity, then Create: the request carries the capacity", async () => {
  assert.deepEqual(await requestPayload(true), { username: "alice", capacity: 4, protocol: 2 });
});

Deno.test("chat join: the session goes to --server over TCP + UDP, with --rejoin-timeout in ms", () => {
  const options = sessionOptionsOf(
    { ...FLAGS, rejoinTimeout: 5 },
    { create: true, room: "r", username: "u", password: null },
    ACCEPT_ANY_KEY,
  );
  assert.ok(options.connector instanceof TcpUdpConnector);
  assert.equal(options.crypto, nodeCrypto, "always sealed, with node:crypto");
  assert.deepEqual(options.connector.server, FLAGS.server);
  assert.deepEqual(options.timings, { rejoinTimeoutMs: 5_000 });
  const choice = { create: true, room: "r", username: "u", password: null };
  assert.deepEqual(
    sessionOptionsOf(FLAGS, choice, ACCEPT_ANY_KEY).timings,
    {},
    "no flag: the default",
  );
});

Deno.test("the key check of join and rooms: --server-key alone decides, else the pins with trust on first use", async () => {
  await using home = await isolatedEnv();
  const server = { hostname: "127.0.0.1", port: 9001 };
  const keyA = new Uint8Array(32).fill(1);
  const keyB = new Uint8Array(32).fill(2);
  let opened = 0;
  const pins = () => {
    opened++;
    return new PinStore(home.pinsFile);
  };
  const said: string[] = [];
  // --server-key: no pins opened, only that key passes.
  const explicit = serverKeyCheckFor(
    { server, serverKey: nodeSha256.sha256(keyB) },
    pins,
    (l) => said.push(l),
  );
  await explicit(keyB);
  await assert.rejects(async () => await explicit(keyA), ServerKeyChangedError);
  assert.equal(opened, 0);
  // The pins: the first contact is pinned and said once, on stderr's behalf.
  const check = serverKeyCheckFor({ server }, pins, (l) => said.push(l));
  await check(keyA);
  await check(keyA);
  assert.equal(said.length, 1);
  assert.match(said[0]!, /^chat: first contact with 127\.0\.0\.1:9001: trusting its key SHA256:/);
  assert.ok(said[0]!.includes(home.pinsFile));
  await assert.rejects(
    async () => await serverKeyCheckFor({ server }, pins, () => {})(keyB),
    ServerKeyChangedError,
  );
});
