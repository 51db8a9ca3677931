/**
 * Sealed members reached through WebSocket links (docs/protocol.md 7.3),
 * without sockets: the harness's registry, transport and front end, with
 * fake sockets that record what they are sent and report a buffered amount
 * the test sets.
 */
import assert from "node:assert/strict";
import { peekSealedHeader, RESET_DATAGRAM_BYTES } from "../../protocol/sealed_datagram.ts";
import { newWsLinkStats, SLOW_READER_MS, WsCloseCode, WsLink } from "../ws/ws_link.ts";
import { bodyOf, type SealedTestClient } from "./sealed_client_test_util.ts";
import { SealedHarness } from "./sealed_harness_test_util.ts";
import type { SealedSession } from "./sessions.ts";

const SOFT = 1_000;
const HARD = 5_000;

/** A socket that records what it is sent. */
class FakeSocket {
  sent: Uint8Array[] = [];
  bufferedAmount = 0;
  isOpen = true;
  closedWith: number | null = null;
  send(bytes: Uint8Array): boolean {
    if (!this.isOpen) return false;
    this.sent.push(bytes);
    return true;
  }
  flush(): void {}
  close(code: number): void {
    this.closedWith = code;
    this.isOpen = false;
  }
}

function setup() {
  const moves: { session: SealedSession; from: WsLink; to: WsLink }[] = [];
  const h = new SealedHarness({
    front: { onLinkMoved: (session, from, to) => moves.push({ session, from, to }) },
  });
  const stats = newWsLinkStats();
  const link = (address = "10.0.0.1") => {
    const socket = new FakeSocket();
    const l = new WsLink(socket, { address, addressKey: address }, {
      limits: { softBytes: SOFT, hardBytes: HARD },
      stats,
      monotonic: () => h.now,
    });
    return { socket, link: l };
  };
  /** A WebSocket member: admitted, its session bound to a fresh link, and welcomed. */
  const wsMember = (client: SealedTestClient) => {
    const session = h.sessions.byId(client.session.sessionId)!;
    const ws = link();
    h.transport.bindLink(session, ws.link);
    const out = receiveOn(ws.link, client.seal({ kind: "hello", lastSeq: 0 }));
    assert.equal(out.verdict, "dispatched");
    for (const bytes of ws.socket.sent) client.open(bytes);
    ws.socket.sent.length = 0;
    return { ...ws, session };
  };
  const receiveOn = (l: WsLink, bytes: Uint8Array) => {
    const received = h.front.handleFromLink(bytes, l);
    h.router.send(received.outgoing);
    return received;
  };
  return { h, moves, stats, link, wsMember, receiveOn };
}

const kinds = (client: SealedTestClient, sent: Uint8Array[]) =>
  sent.map((bytes) => bodyOf(client.open(bytes))?.kind ?? peekSealedHeader(bytes).type);

Deno.test("sealed link: a WebSocket member gets its WELCOME and the room's EVENTs on its socket, sealed as for UDP; a UDP member in the room gets the same EVENT bytes", () => {
  const { h, wsMember, receiveOn } = setup();
  const ann = h.create("lab", "ann");
  const bob = h.join("lab", "bob");
  const annWs = wsMember(ann);
  h.receive(bob.seal({ kind: "hello", lastSeq: 0 }), "127.0.0.1:5002").forEach((s) =>
    bob.open(s.bytes)
  );
  h.sent.length = 0;
  // ann (WebSocket) speaks: the ACK and her own EVENT on her socket, the EVENT to bob by UDP.
  receiveOn(annWs.link, ann.seal({ kind: "message", msgId: 1, text: "hi from a page" }));
  assert.deepEqual(kinds(ann, annWs.socket.sent).sort(), ["ack", "event"]);
  const room = annWs.socket.sent.find((b) => peekSealedHeader(b).type === "room")!;
  assert.equal(h.sent.length, 1);
  assert.deepEqual(h.sent[0]!.bytes, room, "one seal for the room, whatever carries it");
  const event = bodyOf(bob.open(h.sent[0]!.bytes));
  assert.equal(event?.kind === "event" && event.text, "hi from a page");
  // bob (UDP) speaks: ann's socket gets the EVENT.
  annWs.socket.sent.length = 0;
  h.receive(bob.seal({ kind: "message", msgId: 1, text: "hi from a terminal" }), "127.0.0.1:5002");
  assert.deepEqual(kinds(ann, annWs.socket.sent), ["event"]);
});

Deno.test("sealed link: a resume moves the endpoint only on the highest counter; the old link is named to onLinkMoved; an older counter is answered where it came from", () => {
  const { h, wsMember, link, receiveOn, moves } = setup();
  const ann = h.create("lab", "ann");
  const first = wsMember(ann);
  const stale = ann.seal({ kind: "heartbeat", lastSeq: 0 }); // an older counter, kept back
  const second = link();
  const out = receiveOn(second.link, ann.seal({ kind: "hello", lastSeq: 0 }));
  assert.equal(out.verdict, "dispatched");
  assert.equal(first.session.endpoint!.link, second.link);
  assert.equal(moves.length, 1);
  assert.equal(moves[0]!.from, first.link);
  assert.equal(moves[0]!.to, second.link);
  assert.equal(kinds(ann, second.socket.sent)[0], "welcome");
  assert.equal(first.socket.sent.length, 0);
  // A third socket with an older counter: answered there, the endpoint stays.
  const third = link();
  assert.equal(receiveOn(third.link, stale).verdict, "dispatched");
  assert.equal(first.session.endpoint!.link, second.link);
  assert.equal(kinds(ann, third.socket.sent)[0], "heartbeatAck");
  assert.equal(moves.length, 1);
});

Deno.test("sealed link: a WebSocket session is not served by UDP, nor a UDP session by a WebSocket; an unknown session gets a reset on the socket", () => {
  const { h, wsMember, link, receiveOn } = setup();
  const ann = h.create("lab", "ann");
  const bob = h.join("lab", "bob");
  const annWs = wsMember(ann);
  assert.deepEqual(h.receive(ann.seal({ kind: "heartbeat", lastSeq: 0 }), "127.0.0.1:5001"), []);
  assert.equal(h.front.stats.wrongTransport, 1);
  assert.equal(annWs.session.endpoint!.link, annWs.link);
  const other = link();
  assert.equal(
    receiveOn(other.link, bob.seal({ kind: "hello", lastSeq: 0 })).verdict,
    "wrongTransport",
  );
  assert.equal(other.socket.sent.length, 0);
  assert.equal(h.front.stats.wrongTransport, 2);
  // A session the server does not know: a stateless reset, on that socket.
  h.registry.shutdown();
  const gone = link();
  const verdict = receiveOn(gone.link, ann.seal({ kind: "hello", lastSeq: 0 })).verdict;
  assert.equal(verdict, "unknownSession");
  assert.equal(gone.socket.sent.length, 1);
  assert.equal(gone.socket.sent[0]!.length, RESET_DATAGRAM_BYTES);
  assert.equal(ann.open(gone.socket.sent[0]!)?.channel, "reset");
});

Deno.test("sealed link: over the soft limit EVENTs are shed and the rest still sent; over the hard limit, or over soft for 10 s, the socket closes 4008", () => {
  const { h, wsMember, receiveOn, stats } = setup();
  const ann = h.create("lab", "ann");
  const bob = h.join("lab", "bob");
  const annWs = wsMember(ann);
  const bobWs = wsMember(bob);
  annWs.socket.bufferedAmount = SOFT + 1;
  receiveOn(bobWs.link, bob.seal({ kind: "message", msgId: 1, text: "one" }));
  assert.deepEqual(annWs.socket.sent, [], "the EVENT was shed");
  assert.equal(stats.shed, 1);
  assert.deepEqual(kinds(bob, bobWs.socket.sent).sort(), ["ack", "event"], "bob unaffected");
  // A control datagram still goes while under hard.
  receiveOn(annWs.link, ann.seal({ kind: "heartbeat", lastSeq: 0 }));
  assert.deepEqual(kinds(ann, annWs.socket.sent), ["heartbeatAck"]);
  // Over soft for 10 s: closed.
  h.now += SLOW_READER_MS;
  receiveOn(bobWs.link, bob.seal({ kind: "message", msgId: 2, text: "two" }));
  assert.equal(annWs.socket.closedWith, WsCloseCode.SLOW_READER);
  assert.equal(stats.slowClosed, 1);
  // Over hard at once: closed, and nothing is sealed for a closed socket.
  bobWs.socket.bufferedAmount = HARD + 1;
  const seals = h.transport.stats.memberSeals;
  receiveOn(bobWs.link, bob.seal({ kind: "heartbeat", lastSeq: 0 }));
  assert.equal(bobWs.socket.closedWith, WsCloseCode.SLOW_READER);
  assert.equal(stats.slowClosed, 2);
  assert.equal(h.transport.stats.memberSeals, seals);
});

Deno.test("sealed link: a closed socket (a member in its grace) costs no seal; its datagrams are counted as sent to a closed socket", () => {
  const { h, wsMember, receiveOn, stats } = setup();
  const ann = h.create("lab", "ann");
  const bob = h.join("lab", "bob");
  const annWs = wsMember(ann);
  const bobWs = wsMember(bob);
  annWs.socket.isOpen = false;
  const seals = h.transport.stats.memberSeals;
  receiveOn(bobWs.link, bob.seal({ kind: "message", msgId: 1, text: "while ann is away" }));
  assert.equal(stats.toClosed, 1);
  assert.equal(h.transport.stats.memberSeals, seals + 1, "only bob's ACK");
});
