/**
 * WebSocket members over real sockets, the parts around their lifetime: a
 * takeover after a reload closes the old socket 4409; a membership that ends
 * closes its socket 1000 after CLOSED; `/metrics` counts members by
 * transport, refusals by status and the WebSocket front's figures.
 */
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { resumeProof } from "../protocol/resume.ts";
import type { ServerConfig } from "../server/config.ts";
import { WsCloseCode } from "../server/ws/ws_link.ts";
import { ask, cheapPasswords } from "../testing/sealed_tcrp.ts";
import { errorLines, startTestServer, type TestServer } from "../testing/test_server.ts";
import { closeCode, openWebSocketPipe, WsTestMember } from "../testing/ws_client.ts";
import { waitUntil } from "../testing/wait.ts";
import { kindOf, Member, Socket } from "../server/sealed/sealed_loopback_test_util.ts";
import { SealedTestClient } from "../server/sealed/sealed_client_test_util.ts";
import { requestSealedMembership } from "../client/tcrp_client.ts";
import { server, trusting } from "../testing/sealed_tcrp.ts";

async function withWsServer(
  overrides: Partial<ServerConfig>,
  run: (s: TestServer) => Promise<void>,
): Promise<void> {
  const s = startTestServer({ allowPlaintext: false, rateLimit: 0, ...overrides }, {
    passwords: cheapPasswords,
    http: { port: 0, hostName: null },
  });
  try {
    await run(s);
    assert.deepEqual(errorLines(s), []);
  } finally {
    await s.shutdown();
  }
}

const url = (s: TestServer) => `ws://127.0.0.1:${s.httpAddr!.port}/ws`;

async function admit(s: TestServer, operation: "create" | "join", room: string, name: string) {
  const pipe = await openWebSocketPipe(url(s));
  const member = await WsTestMember.admit(pipe, ask(operation, room, name), s.staticPublicKey);
  await member.hello();
  return member;
}

Deno.test("ws lifecycle: a takeover after a reload continues the member on the new socket; the old one closes 4409; nobody sees a join or a leave", async () => {
  await withWsServer({}, async (s) => {
    const ann = await admit(s, "create", "reload", "ann");
    const bob = await admit(s, "join", "reload", "bob");
    // bob's page reloads: it lost the keys but kept the ticket.
    const { sessionId, clientKey } = bob.client.session;
    const pipe = await openWebSocketPipe(url(s));
    const again = await WsTestMember.admit(pipe, {
      ...ask("join", "reload", "bob"),
      resume: { sessionId, proof: resumeProof(nodeCrypto, clientKey, sessionId) },
    }, s.staticPublicKey);
    assert.equal(await closeCode(bob.pipe), WsCloseCode.REPLACED);
    await again.hello();
    again.send({ kind: "message", msgId: 1, text: "after the reload" });
    assert.ok(await ann.until((b) => b.kind === "event" && b.text === "after the reload"));
    const events = ann.bodies.flatMap((b) =>
      b.kind === "event" && b.type !== 1 ? [`${b.type} ${b.name}`] : []
    );
    assert.deepEqual(events, ["2 ann", "2 bob"], "the joins only: no leave, no second join");
    assert.equal(s.registry.memberCount, 2);
    ann.pipe.close();
    again.pipe.close();
  });
});

Deno.test("ws lifecycle: a member that leaves: its socket closes 1000, and the others see it leave", async () => {
  await withWsServer({}, async (s) => {
    const ann = await admit(s, "create", "leaving", "ann");
    const bob = await admit(s, "join", "leaving", "bob");
    bob.send({ kind: "leave" });
    assert.equal(await closeCode(bob.pipe), WsCloseCode.DONE);
    assert.ok(await ann.until((b) => b.kind === "event" && b.type === 3 && b.name === "bob"));
    assert.equal(s.registry.memberCount, 1);
    ann.pipe.close();
  });
});

Deno.test("ws lifecycle: /metrics counts members by transport, refusals by status and the WebSocket front", async () => {
  await withWsServer({ metricsAddr: "127.0.0.1:0" }, async (s) => {
    const ann = await admit(s, "create", "counted", "ann");
    const answer = await requestSealedMembership(
      server(s),
      ask("join", "counted", "cat"),
      trusting(s),
    );
    const udp = new Socket(s);
    const cat = new Member(
      new SealedTestClient(nodeCrypto, answer.session, answer.session.signingKey),
      udp,
    );
    try {
      await cat.send({ kind: "hello", lastSeq: 0 });
      await cat.expect((o) => kindOf(o) === "welcome", "cat's WELCOME");
      // A sealed refusal over a WebSocket: 404, and that socket closes.
      const refused = await openWebSocketPipe(url(s));
      await assert.rejects(
        WsTestMember.admit(refused, ask("join", "nowhere", "dan"), s.staticPublicKey),
      );
      assert.equal(await closeCode(refused), WsCloseCode.DONE);
      await waitUntil(() => s.ws.stats.open === 1, "the refused socket closed at the server");
      const response = await fetch(`http://127.0.0.1:${s.metricsAddr!.port}/metrics`);
      const text = await response.text();
      const value = (line: string) => {
        const found = text.split("\n").find((l) => l.startsWith(line + " "));
        assert.ok(found, `${line} in\n${text}`);
        return Number(found.slice(line.length + 1));
      };
      assert.equal(value('chat_members{transport="websocket"}'), 1);
      assert.equal(value('chat_members{transport="sealed-udp"}'), 1);
      assert.equal(value('chat_members{transport="udp"}'), 0);
      assert.equal(value("chat_rooms"), 1);
      assert.equal(value('chat_handshake_refusals_total{status="404"}'), 1);
      assert.equal(value("chat_websocket_connections"), 1);
      assert.ok(value("chat_datagrams_received_total") >= 2, "a HELLO each");
      assert.ok(value("chat_datagram_bytes_sent_total") > 0);
      assert.ok(value("chat_websocket_upgrades_total") >= 2);
      const snapshot = s.metrics();
      assert.equal(snapshot.members.websocket, 1);
      ann.pipe.close();
    } finally {
      await udp.close();
    }
  });
});
