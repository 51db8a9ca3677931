/**
 * WebSocketConnector over real loopback sockets, against a scripted server
 * made with `Deno.serve` + `Deno.upgradeWebSocket` (fine for a test; the
 * real server frames WebSocket itself): the sealed exchange one frame per
 * message, the subprotocol, then datagrams both ways on the same socket,
 * the close code on the channel, a resume socket, LIST, and the failures
 * (a fatal close, a close mid-exchange, junk, no answer, an abort).
 */
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { NoiseNxResponder } from "../protocol/noise.ts";
import { encodeSealedAnswer, type SealedAnswer, sealedPrologue } from "../protocol/sealed_tcrp.ts";
import {
  encodeTcrpFrame,
  Operation,
  type RoomRequest,
  SealedState,
  TCRP_HEADER_BYTES,
  TcrpFrameParser,
} from "../protocol/tcrp.ts";
import { ChatClosedError } from "./connector.ts";
import { ChatRefusedError, ChatTransportError } from "./errors.ts";
import {
  listRoomsOverWebSocket,
  WebSocketConnector,
  type WebSocketConnectorOptions,
} from "./ws_connector.ts";
import { SEALED_ACCEPTED, sealedSessionFixture } from "./fake_sealed_server_test_util.ts";

const SERVER_KEY = nodeCrypto.x25519KeyPair();

const ACCEPTED = SEALED_ACCEPTED;
const SESSION = sealedSessionFixture(false);

const JOIN: RoomRequest = {
  operation: Operation.JOIN_ROOM,
  roomName: "lobby",
  username: "bob",
  password: null,
  capacity: null,
  protocol: 2,
};

const BUILD = "0123456789ab";

/** One server-side socket as the script sees it. */
interface ServerSocket {
  ws: WebSocket;
  offered: string | null;
  /** Binary messages received after the sealed answer (the datagram phase). */
  datagrams: Uint8Array[];
  /** Every message received, binary or text. */
  received: (Uint8Array | string)[];
}

/** What the scripted server does with one socket once it is open. */
type Script = (socket: ServerSocket) => void;

/** Runs the sealed exchange on `socket` with `answer`; then records datagrams. */
function sealedServer(answer: (plaintext: string) => SealedAnswer, after?: Script): Script {
  return (socket) => {
    const parser = new TcrpFrameParser({ maxPayloadBytes: 1 << 20 });
    let cipher: ReturnType<NoiseNxResponder["split"]> | null = null;
    let answered = false;
    socket.ws.addEventListener("message", (event) => {
      if (!(event.data instanceof ArrayBuffer)) return;
      const bytes = new Uint8Array(event.data);
      if (answered) {
        socket.datagrams.push(bytes);
        return;
      }
      for (const frame of parser.push(bytes)) {
        const reply = (state: SealedState, payload: Uint8Array) =>
          socket.ws.send(encodeTcrpFrame({ ...frame, state, payload }));
        if (frame.state === SealedState.HELLO) {
          const header = encodeTcrpFrame(frame).subarray(0, TCRP_HEADER_BYTES);
          const noise = new NoiseNxResponder(
            nodeCrypto,
            sealedPrologue(header, frame.roomName),
            SERVER_KEY,
          );
          noise.readMessage1(frame.payload);
          reply(SealedState.SERVER_HELLO, noise.writeMessage2());
          cipher = noise.split();
        } else if (cipher !== null) {
          const text = new TextDecoder().decode(cipher.receive.decrypt(frame.payload));
          reply(SealedState.ANSWER, cipher.send.encrypt(encodeSealedAnswer(answer(text))));
          answered = true;
          after?.(socket);
        }
      }
    });
  };
}

const admit = (): SealedAnswer => ({ kind: "admitted", accepted: ACCEPTED, session: SESSION });

/** The scripted server's state, for the test to look at. */
interface Scripted {
  url: string;
  sockets: ServerSocket[];
  /** The options of a connector for this server (it trusts exactly its key). */
  options: WebSocketConnectorOptions;
}

/**
 * Serves WebSockets on 127.0.0.1:0, each running the next script (the last
 * one repeats); closes every socket (server and client) and the server
 * after `body`, waiting until they are closed.
 */
async function withScriptedServer(
  scripts: Script[],
  body: (server: Scripted) => Promise<void>,
  { echoProtocol = true }: { echoProtocol?: boolean } = {},
): Promise<void> {
  const sockets: ServerSocket[] = [];
  const clients: WebSocket[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const offered = request.headers.get("sec-websocket-protocol");
    const { socket: ws, response } = Deno.upgradeWebSocket(
      request,
      echoProtocol && offered !== null ? { protocol: offered } : {},
    );
    ws.binaryType = "arraybuffer";
    const socket: ServerSocket = { ws, offered, datagrams: [], received: [] };
    ws.addEventListener("message", (event) => {
      socket.received.push(
        event.data instanceof ArrayBuffer ? new Uint8Array(event.data) : String(event.data),
      );
    });
    const script = scripts[Math.min(sockets.length, scripts.length - 1)]!;
    sockets.push(socket);
    ws.addEventListener("open", () => script(socket));
    return response;
  });
  const RecordingWebSocket = class extends WebSocket {
    constructor(url: string, protocols: string[]) {
      super(url, protocols);
      clients.push(this);
    }
  };
  try {
    await body({
      url: `ws://127.0.0.1:${server.addr.port}/ws`,
      sockets,
      options: {
        url: `ws://127.0.0.1:${server.addr.port}/ws`,
        crypto: nodeCrypto,
        checkServerKey: (key) => assert.deepEqual(key, SERVER_KEY.publicKey),
        WebSocket: RecordingWebSocket,
      },
    });
  } finally {
    for (const ws of [...clients, ...sockets.map((s) => s.ws)]) {
      if (ws.readyState !== WebSocket.CLOSED) ws.close();
    }
    await until(() => [...clients, ...sockets.map((s) => s.ws)].every((ws) => ws.readyState === 3));
    await server.shutdown();
  }
}

/** Polls `condition` every 5 ms for at most 5 s. */
async function until(condition: () => boolean, what = "the condition"): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test("ws connector: the sealed exchange, then datagrams both ways on the same socket, reliable", async () => {
  const requests: string[] = [];
  await withScriptedServer([sealedServer((text) => {
    requests.push(text);
    return admit();
  }, (socket) => socket.ws.send(Uint8Array.of(0, 1, 2)))], async ({ sockets, options }) => {
    const connector = new WebSocketConnector({ ...options, build: BUILD });
    const connection = await connector.connect(JOIN, { timeoutMs: 5_000 });
    assert.equal(connection.reliable, true);
    assert.deepEqual(connection.accepted, ACCEPTED);
    assert.deepEqual(connection.sealed, { ...SESSION, serverStaticKey: SERVER_KEY.publicKey });
    assert.equal(sockets[0]!.offered, `chat.ws.1.build.${BUILD}`);
    assert.equal(JSON.parse(requests[0]!).username, "bob");
    // Each handshake message was exactly one frame: state 0 (32 bytes), state 3.
    const [hello, request] = sockets[0]!.received as Uint8Array[];
    assert.equal(hello!.length, TCRP_HEADER_BYTES + "lobby".length + 32);
    assert.equal(request!.length, TCRP_HEADER_BYTES + "lobby".length + 256 + 16);
    // The datagram the server sent right after its answer is not lost between the phases.
    assert.deepEqual(await connection.channel.receive(), Uint8Array.of(0, 1, 2));
    connection.channel.send(Uint8Array.of(9, 9));
    await until(() => sockets[0]!.datagrams.length === 1, "the datagram at the server");
    assert.deepEqual(sockets[0]!.datagrams[0], Uint8Array.of(9, 9));
    // Text is garbage in the datagram phase: dropped, not a failure.
    sockets[0]!.ws.send("junk");
    sockets[0]!.ws.send(Uint8Array.of(7));
    assert.deepEqual(await connection.channel.receive(), Uint8Array.of(7));
    assert.equal(connection.channel.closeInfo, null);
    // What the server sent before it closed is still read, then the close.
    for (const byte of [1, 2, 3]) sockets[0]!.ws.send(Uint8Array.of(byte));
    sockets[0]!.ws.close(4008, "slow reader");
    await until(() => connection.channel.closeInfo !== null, "the close to arrive");
    for (const byte of [1, 2, 3]) {
      assert.deepEqual(await connection.channel.receive(), Uint8Array.of(byte));
    }
    assert.equal(await connection.channel.receive(), null);
    assert.deepEqual(connection.channel.closeInfo, { code: 4008, reason: "slow reader" });
  });
});

Deno.test("ws connector: reconnect opens a new socket, same subprotocol, no handshake; its first message is ours", async () => {
  await withScriptedServer([sealedServer(admit), () => {}], async ({ sockets, options }) => {
    const connector = new WebSocketConnector(options);
    const connection = await connector.connect(JOIN, { timeoutMs: 5_000 });
    assert.equal(sockets[0]!.offered, "chat.ws.1");
    connection.channel.close();
    assert.equal(connection.channel.closeInfo, null, "closed by us: no close info");
    const channel = await connector.reconnect(connection, { timeoutMs: 5_000 });
    assert.equal(sockets.length, 2);
    assert.equal(sockets[1]!.offered, "chat.ws.1");
    channel.send(Uint8Array.of(0, 1, 42));
    await until(() => sockets[1]!.received.length === 1, "the resume datagram");
    assert.deepEqual(sockets[1]!.received, [Uint8Array.of(0, 1, 42)]);
    sockets[1]!.ws.close(4409, "continued on a newer connection");
    assert.equal(await channel.receive(), null);
    assert.deepEqual(channel.closeInfo, { code: 4409, reason: "continued on a newer connection" });
    channel.send(Uint8Array.of(1)); // on a closed socket: nothing, no throw
  });
});

Deno.test("ws connector: 4426 or 4403 at once is a final ChatClosedError with the reason", async () => {
  for (
    const [code, reason] of [[4426, "this page is out of date: reload it"], [4403, ""]] as const
  ) {
    await withScriptedServer([(socket) => socket.ws.close(code, reason)], async ({ options }) => {
      const connector = new WebSocketConnector({ ...options, build: BUILD });
      const error = await connector.connect(JOIN, { timeoutMs: 5_000 }).catch((e) => e);
      assert.ok(error instanceof ChatClosedError, String(error));
      assert.ok(error instanceof ChatRefusedError, "final, like a sealed refusal");
      assert.equal(error.status, code);
      assert.equal(
        error.message,
        reason === "" ? "the server refused this page's origin" : reason,
      );
    });
  }
});

Deno.test("ws connector: a close during the exchange is a ChatTransportError naming the code", async () => {
  await withScriptedServer([(socket) => {
    socket.ws.addEventListener("message", () => socket.ws.close(1011, "server error"));
  }], async ({ options }) => {
    const error = await new WebSocketConnector(options).connect(JOIN, { timeoutMs: 5_000 }).catch((
      e,
    ) => e);
    assert.ok(error instanceof ChatTransportError, String(error));
    assert.match(error.message, /1011: server error/);
  });
});

Deno.test("ws connector: junk in the handshake (text, two frames in one message) is a ChatTransportError", async () => {
  const text: Script = (socket) =>
    socket.ws.addEventListener("message", () => socket.ws.send("hello"));
  await withScriptedServer([text], async ({ options }) => {
    const error = await new WebSocketConnector(options).connect(JOIN, { timeoutMs: 5_000 }).catch((
      e,
    ) => e);
    assert.ok(error instanceof ChatTransportError, String(error));
    assert.match(error.message, /text message/);
  });
  await withScriptedServer([(socket) => {
    socket.ws.addEventListener("message", (event) => {
      const frame = new TcrpFrameParser({ maxPayloadBytes: 1 << 20 }).push(
        new Uint8Array(event.data as ArrayBuffer),
      )[0]!;
      const one = encodeTcrpFrame({
        ...frame,
        state: SealedState.SERVER_HELLO,
        payload: new Uint8Array(96),
      });
      const two = new Uint8Array(one.length * 2);
      two.set(one);
      two.set(one, one.length);
      socket.ws.send(two);
    });
  }], async ({ options }) => {
    const error = await new WebSocketConnector(options).connect(JOIN, { timeoutMs: 5_000 }).catch((
      e,
    ) => e);
    assert.ok(error instanceof ChatTransportError, String(error));
    assert.match(error.message, /not one TCRP frame/);
  });
});

Deno.test("ws connector: no answer in time, an abort, a server that ignores the subprotocol: transport errors", async () => {
  await withScriptedServer([() => {}], async ({ options }) => {
    const connector = new WebSocketConnector(options);
    const started = performance.now();
    const error = await connector.connect(JOIN, { timeoutMs: 300 }).catch((e) => e);
    assert.ok(error instanceof ChatTransportError, String(error));
    assert.match(error.message, /within 300 ms/);
    assert.ok(performance.now() - started < 3_000);
    const abort = new AbortController();
    const connecting = connector.connect(JOIN, { timeoutMs: 5_000, signal: abort.signal });
    abort.abort();
    const aborted = await connecting.catch((e) => e);
    assert.ok(aborted instanceof ChatTransportError);
    assert.match(aborted.message, /cancelled/);
  });
  await withScriptedServer([() => {}], async ({ options }) => {
    const error = await new WebSocketConnector(options).connect(JOIN, { timeoutMs: 5_000 })
      .catch((e) => e);
    assert.ok(error instanceof ChatTransportError, String(error));
    assert.match(error.message, /subprotocol/);
  }, { echoProtocol: false });
});

Deno.test("ws connector: listRoomsOverWebSocket asks for one page and closes", async () => {
  const requests: string[] = [];
  const list = {
    status: 200 as const,
    rooms: [{ name: "lobby", members: 2, capacity: 10, passwordProtected: true, sealed: true }],
    next: "abc",
  };
  await withScriptedServer([sealedServer((text) => {
    requests.push(text);
    return { kind: "rooms", list };
  }, (socket) => socket.ws.close(1000))], async ({ sockets, options }) => {
    const page = await listRoomsOverWebSocket({ ...options, cursor: "xyz", limit: 50 });
    assert.deepEqual(page, list);
    assert.deepEqual(JSON.parse(requests[0]!), { cursor: "xyz", limit: 50 });
    assert.equal(sockets[0]!.received.length, 2, "state 0 and state 3 only");
    assert.equal(
      new TcrpFrameParser({ maxPayloadBytes: 1 << 20 }).push(
        sockets[0]!.received[0] as Uint8Array,
      )[0]!.operation,
      Operation.SEALED_LIST_ROOMS,
    );
  });
});
