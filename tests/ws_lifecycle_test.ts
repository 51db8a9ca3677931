/**
 * WebSocket members over real sockets, the parts around their lifetime: a
 * takeover after a reload closes the old socket 4409; a membership that ends
 * closes its socket 1000 after CLOSED; `/metrics` counts members by
 * transport, refusals by status and the WebSocket front's figures.
 */
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { resumeProof } from "../protocol/resume.ts";
import { WsCloseCode } from "../server/ws/ws_link.ts";
import { ask } from "../testing/sealed_tcrp.ts";
import { closeCode, openWebSocketPipe, WsTestMember } from "../testing/ws_client.ts";
import { waitUntil } from "../testing/wait.ts";
import { admitOverWebSocket, udpMember, withWsServer, wsUrl } from "../testing/ws_server.ts";

Deno.test("ws lifecycle: a takeover after a reload continues the member on the new socket; the old one closes 4409; nobody sees a join or a leave", async () => {
  await withWsServer({}, async (s) => {
    const ann = await admitOverWebSocket(s, "create", "reload", "ann");
    const bob = await admitOverWebSocket(s, "join", "reload", "bob");
    // bob's page reloads: it lost the keys but kept the ticket.
    const { sessionId, clientKey } = bob.client.session;
    const pipe = await openWebSocketPipe(wsUrl(s));
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
    const ann = await admitOverWebSocket(s, "create", "leaving", "ann");
    const bob = await admitOverWebSocket(s, "join", "leaving", "bob");
    bob.send({ kind: "leave" });
    assert.equal(await closeCode(bob.pipe), WsCloseCode.DONE);
    assert.ok(await ann.until((b) => b.kind === "event" && b.type === 3 && b.name === "bob"));
    assert.equal(s.registry.memberCount, 1);
    ann.pipe.close();
  });
});

Deno.test("ws lifecycle: /metrics counts members by transport, refusals by status and the WebSocket front", async () => {
  await withWsServer({ metricsAddr: "127.0.0.1:0" }, async (s) => {
    const ann = await admitOverWebSocket(s, "create", "counted", "ann");
    const cat = await udpMember(s, "counted", "cat");
    try {
      // A sealed refusal over a WebSocket: 404, and that socket closes.
      const refused = await openWebSocketPipe(wsUrl(s));
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
      await cat.socket.close();
    }
  });
});
