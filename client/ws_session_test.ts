/**
 * The session library over a real WebSocket against the real server, its
 * HTTP front on a free port (server/web_side.ts, as `chat serve` runs it). Pages' sessions use
 * WebSocketConnector and browserCrypto; a cut socket is resumed without
 * duplicates, a reloaded page takes its membership over with its
 * ticket, and the room list comes over a socket of its own.
 */
import assert from "node:assert/strict";
import { browserCrypto } from "../crypto/browser_crypto.ts";
import { cheapPasswords } from "../testing/sealed_tcrp.ts";
import { errorLines, startTestServer, type TestServer } from "../testing/test_server.ts";
import { waitUntil } from "../testing/wait.ts";
import { ChatClosedError } from "./connector.ts";
import { ChatSession, type SessionEvent, type SessionOptions } from "./session.ts";
import { listRoomsOverWebSocket, WebSocketConnector } from "./ws_connector.ts";

/** A real server with its HTTP front; every client socket is recorded so a test can cut it. */
interface Served {
  server: TestServer;
  url: string;
  /** Client sockets in the order opened. */
  sockets: WebSocket[];
  /** Opens a session as a page would (`build`: the page's build id, offered in the subprotocol). */
  open(options: Partial<SessionOptions> & { username: string; build?: string }): Promise<Page>;
}

/** A session and the events it handed out so far. */
interface Page {
  session: ChatSession;
  events: SessionEvent[];
  texts(): string[];
}

async function withServed(body: (served: Served) => Promise<void>): Promise<void> {
  const server = startTestServer({ allowPlaintext: false, rateLimit: 0 }, {
    passwords: cheapPasswords,
    http: { port: 0, hostName: null }, // the HTTP front `chat serve` runs, on a free port
  });
  const sockets: WebSocket[] = [];
  const Recording = class extends WebSocket {
    constructor(url: string, protocols: string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  };
  const url = `ws://127.0.0.1:${server.httpAddr!.port}/ws`;
  const sessions: ChatSession[] = [];
  const options = {
    url,
    crypto: browserCrypto(),
    checkServerKey: (key: Uint8Array) => assert.deepEqual(key, server.staticPublicKey),
    WebSocket: Recording,
  };
  try {
    await body({
      server,
      url,
      sockets,
      async open({ build, ...given }) {
        const session = await ChatSession.open({
          connector: new WebSocketConnector({ ...options, build }),
          crypto: options.crypto,
          create: false,
          room: "class",
          ...given,
        });
        sessions.push(session);
        const events: SessionEvent[] = [];
        void (async () => {
          for await (const event of session) events.push(event);
        })();
        return {
          session,
          events,
          texts: () => events.flatMap((e) => e.type === "message" ? [e.text] : []),
        };
      },
    });
    assert.deepEqual(errorLines(server), []);
  } finally {
    await Promise.all(sessions.map((session) => session.leave()));
    for (const socket of sockets) if (socket.readyState !== WebSocket.CLOSED) socket.close();
    await waitUntil(
      () => sockets.every((s) => s.readyState === WebSocket.CLOSED),
      "sockets closed",
    );
    await server.shutdown();
  }
}

Deno.test("ws session: two pages share a room over WebSockets; messages delivered once, in order", async () => {
  await withServed(async ({ open, url, server }) => {
    const ann = await open({ username: "ann", create: true, password: "pw" });
    const bob = await open({ username: "bob", password: "pw" });
    ann.session.send("hello bob");
    bob.session.send("hi ann");
    await waitUntil(() => ann.texts().length === 2 && bob.texts().length === 2, "both messages");
    assert.deepEqual(ann.texts(), bob.texts(), "the same order for both");
    assert.equal(ann.events.filter((e) => e.type === "delivered").length, 1);
    assert.deepEqual(bob.session.members.sort(), ["ann", "bob"]);
    const list = await listRoomsOverWebSocket({
      url,
      crypto: browserCrypto({ forceFallback: true }),
      checkServerKey: (key) => assert.deepEqual(key, server.staticPublicKey),
    });
    assert.deepEqual(
      list.rooms.map((r) => [r.name, r.members, r.passwordProtected, r.sealed]),
      [["class", 2, true, true]],
    );
  });
});

Deno.test("ws session: a cut socket resumes; what was sent meanwhile arrives once, nothing twice", async () => {
  await withServed(async ({ open, sockets }) => {
    const ann = await open({ username: "ann", create: true });
    const bob = await open({ username: "bob" });
    ann.session.send("before");
    await waitUntil(() => bob.texts().length === 1, "the first message");
    const bobSocket = sockets[1]!;
    bobSocket.close(4000, "cut"); // as a proxy or a sleeping phone would
    bob.session.send("typed while away");
    ann.session.send("while bob was away");
    await waitUntil(
      () => bob.events.some((e) => e.type === "reconnected"),
      "bob to reconnect",
      10_000,
    );
    await waitUntil(() => bob.texts().length === 3 && ann.texts().length === 3, "every message");
    assert.deepEqual(bob.texts().sort(), ["before", "typed while away", "while bob was away"]);
    assert.deepEqual(ann.texts(), bob.texts(), "the same order, no duplicates");
    assert.deepEqual(
      bob.events.filter((e) => e.type === "reconnecting").map((e) => e.type),
      ["reconnecting"],
    );
    assert.equal(bob.events.filter((e) => e.type === "delivered").length, 1);
    assert.equal(ann.events.filter((e) => e.type === "left").length, 0, "nobody was told");
    assert.equal(sockets.length, 3, "one new socket");
  });
});
Deno.test("ws session: a reloaded page takes its membership over with its ticket: same name, nobody told, the old one closed 4409", async () => {
  await withServed(async ({ open }) => {
    const ann = await open({ username: "ann", create: true });
    const first = await open({ username: "bob" });
    const ticket = first.session.resumeTicket;
    assert.ok(ticket !== null);
    // The page reloads: its session is gone with its keys; it has the ticket, and the password.
    const reloaded = await open({ username: "bob", resume: ticket });
    assert.notDeepEqual(reloaded.session.resumeTicket, ticket, "a new session");
    // The old page (here still open: the server had not seen it go) is told it continued elsewhere.
    await waitUntil(() => first.events.some((e) => e.type === "closed"), "the old page to close");
    assert.deepEqual(first.events.at(-1), {
      type: "closed",
      reason: "lost",
      text: "continued on a newer connection",
      closeCode: 4409,
    });
    reloaded.session.send("back after a reload");
    await waitUntil(() => ann.texts().includes("back after a reload"), "the message");
    await waitUntil(() => reloaded.texts().includes("back after a reload"), "its own message");
    const comings = ann.events.flatMap((e) =>
      (e.type === "joined" || e.type === "left" || e.type === "timedOut") && e.name === "bob"
        ? [e.type]
        : []
    );
    assert.deepEqual(comings, ["joined"], "bob joined once; the takeover told nobody");
    assert.deepEqual(ann.session.members.sort(), ["ann", "bob"]);
  });
});

Deno.test("ws session: a page of another build is told to reload (4426), and open says so", async () => {
  await withServed(async ({ open }) => {
    const error = await open({ username: "ann", create: true, build: "0123456789ab" })
      .catch((e) => e);
    assert.ok(error instanceof ChatClosedError, String(error));
    assert.equal(error.closeCode, 4426);
    assert.equal(error.message, "this page is out of date: reload it");
  });
});
