/**
 * Capture, black box (issue 13, "Tests: Capture"): real `chat join` processes
 * and a real `chat serve`, with a relay in the middle that records every byte
 * both ways (TCP: testing/tcp_recorder.ts; UDP: tools/fault_proxy.ts, which
 * the server advertises with --advertise-udp-port). Nothing secret crosses
 * in clear. And a sealed client facing a server that answers plain, or a
 * server whose handshake was changed on the way, stops before it sends its
 * request (no state-3 frame ever reaches the relay).
 */
import { concatBytes } from "../protocol/bytes.ts";
import assert from "node:assert/strict";
import {
  type ChildHandle,
  type Children,
  type ServerProcess,
  waitForListening,
  withChildren,
  withoutFirstContact,
} from "../testing/cli.ts";
import { findTexts, freeUdpPort, startUdpRecorder, type UdpRecorder } from "../testing/capture.ts";
import {
  type RawFrame,
  type Rewrite,
  splitFrames,
  startTcpRecorder,
  type TcpRecorder,
} from "../testing/tcp_recorder.ts";
import { encodeTcrpResponse, encodeTcrpToken, Operation, SealedState } from "../protocol/tcrp.ts";

const RUN_MS = 15_000;
const LOOPBACK = "127.0.0.1";

/** Parsed `--json` lines of a `chat join`. */
function events(child: ChildHandle): Record<string, unknown>[] {
  return child.stdout.lines.map((line) => JSON.parse(line));
}

/**
 * A `chat serve` whose datagrams and TCRP both pass through recording relays:
 * clients are given the TCP relay's address, and the server advertises the
 * UDP relay's port. The server's UDP port must be chosen before it starts
 * (the relay needs it as its target), so a port taken meanwhile is retried.
 */
async function recordedServer(
  kids: Children,
): Promise<{ server: ServerProcess; tcp: TcpRecorder; udp: UdpRecorder; address: string }> {
  for (let attempt = 1;; attempt++) {
    const udpPort = freeUdpPort();
    const udp = startUdpRecorder({ hostname: LOOPBACK, port: udpPort });
    const process = kids.chat([
      "serve",
      "--host",
      LOOPBACK,
      "--port",
      "0",
      "--udp-port",
      String(udpPort),
      "--advertise-udp-port",
      String(udp.proxy.addr.port),
      "--http-port",
      "0",
    ]);
    try {
      const server = await waitForListening(process, RUN_MS);
      const tcp = startTcpRecorder({ target: { hostname: LOOPBACK, port: server.port } });
      return { server, tcp, udp, address: `${LOOPBACK}:${tcp.addr.port}` };
    } catch (error) {
      await udp.proxy.close();
      if (attempt >= 3 || !/in use/.test(process.stderr.plain)) throw error;
    }
  }
}

/** `chat join` in pipe mode with --json. */
function join(
  kids: Children,
  address: string,
  name: string,
  how: "--create" | "--join",
  room: string,
  extra: string[] = [],
): ChildHandle {
  return kids.chat([
    "join",
    "--server",
    address,
    "--name",
    name,
    how,
    "--room",
    room,
    "--json",
    ...extra,
  ]);
}

Deno.test("capture: no password, username, token or text crosses in clear; the room name does", async () => {
  await withChildren(async (kids) => {
    const { server, tcp, udp, address } = await recordedServer(kids);
    try {
      const room = "staffroom";
      const password = "correct horse battery staple";
      const names = ["annabelle", "bartholomew", "cordelia"];
      const texts = [
        "pineapple upside down cake at noon",
        "crème brûlée für alle ✓ 你好",
        "the quarterly numbers are confidential",
        "meet me by the loading dock",
        "carol says goodbye to everyone",
      ];
      const ann = join(kids, address, names[0]!, "--create", room, ["--password-stdin"]);
      await ann.write(`${password}\n`);
      await ann.stdout.waitFor(/"type":"welcome"/, RUN_MS);
      const bob = join(kids, address, names[1]!, "--join", room, ["--password-stdin"]);
      await bob.write(`${password}\n`);
      await bob.stdout.waitFor(/"type":"welcome"/, RUN_MS);
      // carol's room is the same; she says one thing and leaves (stdin ends).
      const carol = join(kids, address, names[2]!, "--join", room, ["--password-stdin"]);
      await carol.write(`${password}\n${texts[4]}\n`);
      await carol.closeStdin();
      assert.equal(await carol.exited(RUN_MS), 0, carol.describe());

      await ann.write(`${texts[0]}\n${texts[1]}\n`);
      await bob.write(`${texts[2]}\n${texts[3]}\n`);
      for (const member of [ann, bob]) {
        for (const text of texts) {
          await member.stdout.waitFor(`"text":${JSON.stringify(text)}`, RUN_MS);
        }
      }
      // Both leave: bob first, then the host.
      await bob.closeStdin();
      assert.equal(await bob.exited(RUN_MS), 0, bob.describe());
      await ann.stdout.waitFor(/"type":"left".*"name":"bartholomew"/, RUN_MS);
      await ann.closeStdin();
      assert.equal(await ann.exited(RUN_MS), 0, ann.describe());
      for (const member of [ann, bob, carol]) {
        assert.equal(withoutFirstContact(member.stderr.plain), "", member.describe());
        assert.equal(events(member).filter((e) => e.type === "undelivered").length, 0);
      }
      assert.match(server.process.stderr.plain, /left: annabelle from "staffroom"/);

      const captures = [
        ...tcp.streams("toServer").map((bytes, i) => ({ name: `tcp ${i} to server`, bytes })),
        ...tcp.streams("toClient").map((bytes, i) => ({ name: `tcp ${i} to client`, bytes })),
        ...udp.datagrams.map((d, i) => ({ name: `udp ${i} ${d.direction}`, bytes: d.bytes })),
      ];
      // Positive controls: the capture saw the whole conversation, and the
      // room name (public by design: it is in the TCRP header) shows in it.
      assert.ok(tcp.connections.length >= 3, "every member's TCRP went through");
      const toServer = udp.datagrams.filter((d) => d.direction === "toServer");
      const toClient = udp.datagrams.filter((d) => d.direction === "toClient");
      assert.ok(
        toServer.length >= 10 && toClient.length >= 10,
        `${udp.datagrams.length} datagrams`,
      );
      assert.ok(toServer.every((d) => d.bytes[0] === 0x00), "every client datagram is sealed");
      assert.ok(toClient.every((d) => d.bytes[0] === 0x00), "every server datagram is sealed");
      const roomFound = findTexts([room], captures);
      assert.ok(roomFound.some((f) => f.includes("(UTF-8) in tcp")), roomFound.join("\n"));

      assert.deepEqual(findTexts([password, ...names, ...texts], captures), []);
      // Short fragments too: no 8-byte window of a text or the password shows.
      const fragments = [password, ...texts].flatMap((t) =>
        [...Array(Math.max(0, t.length - 7)).keys()].map((i) => t.slice(i, i + 8))
      );
      assert.deepEqual(findTexts(fragments, captures), []);

      // There is no token on the wire: every exchange is a sealed operation,
      // the client sends states 0 and 3, the server answers 1 and 4 (never a
      // state 2, which in the plain protocol carries the 32-byte token).
      const sealedOps = new Set<number>([
        Operation.SEALED_CREATE_ROOM,
        Operation.SEALED_JOIN_ROOM,
        Operation.SEALED_LIST_ROOMS,
      ]);
      for (const [i, frames] of tcp.frames("toServer").entries()) {
        assert.deepEqual(frames.map((f) => f.state), [0, 3], `client frames of tcp ${i}`);
        assert.ok(frames.every((f) => sealedOps.has(f.operation)), `client ops of tcp ${i}`);
      }
      for (const [i, frames] of tcp.frames("toClient").entries()) {
        assert.deepEqual(frames.map((f) => f.state), [1, 4], `server frames of tcp ${i}`);
        assert.ok(frames.every((f) => sealedOps.has(f.operation)), `server ops of tcp ${i}`);
        assert.ok(frames.every((f) => f.state !== 2 && f.payload.length !== 32), "a token frame");
      }
    } finally {
      await tcp.close();
      await udp.proxy.close();
    }
  });
});

/** Changes the byte at stream offset `at` in `direction` (every connection's stream). */
function changeByte(
  direction: "toServer" | "toClient",
  at: number,
  change: (byte: number) => number,
): Rewrite {
  return (d, chunk, offset) => {
    if (d === direction && at >= offset && at < offset + chunk.length) {
      chunk[at - offset] = change(chunk[at - offset]!);
    }
    return chunk;
  };
}

/** All of `rewrites`, one after the other. */
function both(...rewrites: Rewrite[]): Rewrite {
  return (d, chunk, offset) => rewrites.reduce((c, r) => r(d, c, offset), chunk);
}

/** Every frame of every connection. */
const allFrames = (connections: RawFrame[][]): RawFrame[] => connections.flat();

const ROOM = "staffroom";
const HEADER = 32;

for (
  const [what, rewrite] of [
    // Message 2's encrypted static key: the client cannot open it.
    [
      "a byte of message 2 flipped",
      changeByte("toClient", HEADER + ROOM.length + 40, (b) => b ^ 0x01),
    ],
    // The server handshakes for another room (the prologue binds the room), and
    // its echo is changed back, so only the handshake itself can tell.
    [
      "the room name changed in the header (and back in the answer)",
      both(
        changeByte("toServer", HEADER, () => "t".charCodeAt(0)),
        changeByte("toClient", HEADER, () => "s".charCodeAt(0)),
      ),
    ],
    // JOIN made CREATE on the way, and back in the answer.
    [
      "the operation changed in the header (and back in the answer)",
      both(
        changeByte("toServer", 1, () => Operation.SEALED_CREATE_ROOM),
        changeByte("toClient", 1, () => Operation.SEALED_JOIN_ROOM),
      ),
    ],
  ] as const
) {
  Deno.test(`modified server (${what}): the client stops before its request, exit 1`, async () => {
    await withChildren(async (kids) => {
      const server = await kids.server();
      const tcp = startTcpRecorder({
        target: { hostname: LOOPBACK, port: server.port },
        rewrite,
      });
      try {
        const address = `${LOOPBACK}:${tcp.addr.port}`;
        const ann = join(kids, address, "annabelle", "--join", ROOM, ["--password-stdin"]);
        await ann.write("correct horse battery staple\nhello\n");
        await ann.closeStdin();
        const code = await ann.exited(RUN_MS);
        assert.equal(code, 1, ann.describe());
        assert.equal(
          ann.stderr.plain,
          "chat: the server's handshake did not verify (the request may have been changed on " +
            "the way)\n",
        );
        await assert.rejects(
          Deno.stat(kids.home!.pinsFile),
          Deno.errors.NotFound,
          "nothing pinned",
        );
        const sent = allFrames(tcp.frames("toServer"));
        assert.ok(sent.length >= 1, "the client's state 0 went through");
        assert.deepEqual(sent.filter((f) => f.state === SealedState.REQUEST), [], "no state 3");
        assert.ok(
          allFrames(tcp.frames("toClient")).some((f) => f.state === SealedState.SERVER_HELLO),
          "the server answered with message 2",
        );
        assert.doesNotMatch(server.process.stderr.plain, /joined:|room created:/);
      } finally {
        await tcp.close();
      }
    });
  });
}

/**
 * A scripted server that answers any request plain: a state-1 JSON success
 * and a state-2 token, as a plain server would a plain JOIN. `operation`
 * names what its frames say (the request's sealed code, or the plain one).
 */
function startPlainFake(
  operation: "echo" | "plain",
): { addr: Deno.NetAddr; received: Uint8Array[][]; close: () => Promise<void> } {
  const listener = Deno.listen({ hostname: LOOPBACK, port: 0 });
  const received: Uint8Array[][] = [];
  const conns = new Set<Deno.Conn>();
  const loops = new Set<Promise<void>>();
  const serve = async (conn: Deno.Conn) => {
    const chunks: Uint8Array[] = [];
    received.push(chunks);
    const buffer = new Uint8Array(4096);
    let answered = false;
    try {
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) return;
        chunks.push(buffer.slice(0, n));
        const frames = splitFrames(concatBytes(...chunks));
        const first = frames[0];
        if (first === undefined || answered) continue;
        answered = true;
        const op = operation === "echo" ? first.operation : first.operation - 0x10;
        const success = {
          status: 200 as const,
          udpPort: 9,
          maxDatagramBytes: 4096,
          heartbeatSeconds: 10,
          idleTimeoutSeconds: 300,
        };
        await conn.write(encodeTcrpResponse(op as 2, first.roomName, success));
        await conn.write(encodeTcrpToken(op as 2, first.roomName, new Uint8Array(32).fill(7)));
        // The connection stays open: whatever the client sends next is recorded.
      }
    } catch {
      // the client went away
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // closed already
      }
    }
  };
  const accepting = (async () => {
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      conns.add(conn);
      const loop = serve(conn).finally(() => loops.delete(loop));
      loops.add(loop);
    }
  })();
  return {
    addr: listener.addr as Deno.NetAddr,
    received,
    async close() {
      listener.close();
      await accepting;
      for (const conn of conns) conn.close();
      await Promise.all([...loops]);
    },
  };
}

for (const operation of ["echo", "plain"] as const) {
  Deno.test(`plain server (answers ${operation === "echo" ? "the sealed operation" : "the plain operation"} with a JSON success and a token): the client stops before its request, exit 1`, async () => {
    await withChildren(async (kids) => {
      const fake = startPlainFake(operation);
      try {
        const address = `${LOOPBACK}:${fake.addr.port}`;
        const ann = join(kids, address, "annabelle", "--create", ROOM, ["--password-stdin"]);
        await ann.write("correct horse battery staple\nhello\n");
        await ann.closeStdin();
        const code = await ann.exited(RUN_MS);
        assert.equal(code, 1, ann.describe());
        assert.equal(
          ann.stderr.plain,
          operation === "echo"
            // A state 1 that is not Noise message 2 (here: JSON) does not get as far as a key.
            ? "chat: the server's handshake message is 110 bytes, not 96\n"
            : "chat: the server answered in plain text: it does not take sealed sessions\n",
        );
        await assert.rejects(
          Deno.stat(kids.home!.pinsFile),
          Deno.errors.NotFound,
          "nothing pinned",
        );
        assert.ok(fake.received.length >= 1);
        const frames = fake.received.flatMap((c) => splitFrames(concatBytes(...c)));
        assert.ok(frames.length >= 1);
        assert.deepEqual(frames.filter((f) => f.state === SealedState.REQUEST), [], "no state 3");
        assert.ok(frames.every((f) => f.state === SealedState.HELLO && f.payload.length === 32));
      } finally {
        await fake.close();
      }
    });
  });
}
