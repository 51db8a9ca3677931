/**
 * What the WebSocket tests against a real server share: a server with its
 * HTTP front on an ephemeral port, a WebSocket member admitted and welcomed,
 * and a sealed UDP member of the same room beside it.
 */
import assert from "node:assert/strict";
import { requestSealedMembership } from "../client/tcrp_client.ts";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import type { ServerConfig } from "../server/config.ts";
import { SealedTestClient } from "../server/sealed/sealed_client_test_util.ts";
import { kindOf, Member, Socket } from "../server/sealed/sealed_loopback_test_util.ts";
import type { HttpHooks } from "../server/server.ts";
import { ask, cheapPasswords, server, trusting } from "./sealed_tcrp.ts";
import { errorLines, startTestServer, type TestServer } from "./test_server.ts";
import { openWebSocketPipe, WsTestMember } from "./ws_client.ts";

/** Sealed only, no message rate: what the WebSocket tests run with unless they say otherwise. */
export const WS_TEST_CONFIG: Partial<ServerConfig> = { allowPlaintext: false, rateLimit: 0 };

/** Runs `run` against a server whose HTTP front is on a free port; checks it logged no error. */
export async function withWsServer(
  overrides: Partial<ServerConfig>,
  run: (s: TestServer) => Promise<void>,
  http: HttpHooks = {},
): Promise<void> {
  const s = startTestServer({ ...WS_TEST_CONFIG, ...overrides }, {
    passwords: cheapPasswords,
    http: { port: 0, hostName: null, ...http },
  });
  try {
    await run(s);
    assert.deepEqual(errorLines(s), []);
  } finally {
    await s.shutdown();
  }
}

/** The server's WebSocket address. */
export const wsUrl = (s: TestServer): string => `ws://127.0.0.1:${s.httpAddr!.port}/ws`;

/** A member admitted over a new WebSocket, past its WELCOME. */
export async function admitOverWebSocket(
  s: TestServer,
  operation: "create" | "join",
  room: string,
  name: string,
): Promise<WsTestMember> {
  const pipe = await openWebSocketPipe(wsUrl(s));
  const member = await WsTestMember.admit(pipe, ask(operation, room, name), s.staticPublicKey);
  await member.hello();
  return member;
}

/** A sealed UDP member of `room` (the exchange over TCP), past its WELCOME; close its socket. */
export async function udpMember(s: TestServer, room: string, name: string): Promise<Member> {
  const answer = await requestSealedMembership(server(s), ask("join", room, name), trusting(s));
  const member = new Member(
    new SealedTestClient(nodeCrypto, answer.session, answer.session.signingKey),
    new Socket(s),
  );
  await member.send({ kind: "hello", lastSeq: 0 });
  await member.expect((o) => kindOf(o) === "welcome", `${name}'s WELCOME`);
  return member;
}
