/**
 * The handshake's limits end to end, over real sockets on loopback: idle
 * connections from many addresses cannot keep a prompt client out, a class
 * behind one address gets in with the real password hash and the default
 * limits, and `chat rooms` pages through a long list.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { encodeTcrpRequest, Operation } from "../protocol/tcrp.ts";
import { DEFAULT_SERVER_CONFIG } from "../server/config.ts";
import { responseOf, roomRequest, statusOf, tcrpRequest } from "../testing/raw_client.ts";
import { Children } from "../testing/cli.ts";
import { tcrpRequestFrom } from "../testing/tcp_from.ts";
import { startTestServer } from "../testing/test_server.ts";
import { waitUntil } from "../testing/wait.ts";

const LIST = encodeTcrpRequest({ operation: Operation.LIST_ROOMS });

/** The server's real defaults, where the test server relaxes them. */
const DEFAULT_LIMITS = {
  requestRateLimit: DEFAULT_SERVER_CONFIG.requestRateLimit,
  maxHandshakes: DEFAULT_SERVER_CONFIG.maxHandshakes,
  maxHandshakesPerIp: DEFAULT_SERVER_CONFIG.maxHandshakesPerIp,
};

/** An idle TCP connection from `localAddress` that sends nothing; `closed` resolves when the server closes it. */
function idleFrom(addr: Deno.NetAddr, localAddress: string) {
  const socket = net.connect({ host: addr.hostname, port: addr.port, localAddress });
  let isClosed = false;
  const connected = new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  socket.on("error", () => {});
  socket.on("close", () => (isClosed = true));
  return { connected, closed: () => isClosed, destroy: () => socket.destroy() };
}

Deno.test("idle connections from 8 addresses fill --max-handshakes; a request from a 9th is answered within 1 s", async () => {
  const server = startTestServer(DEFAULT_LIMITS);
  const idle: ReturnType<typeof idleFrom>[] = [];
  try {
    // 32 (the per-address limit) from each of 127.0.0.1 ... 127.0.0.8: 256, the total.
    for (let host = 1; host <= 8; host++) {
      for (let i = 0; i < DEFAULT_LIMITS.maxHandshakesPerIp; i++) {
        idle.push(idleFrom(server.tcpAddr, `127.0.0.${host}`));
      }
    }
    await Promise.all(idle.map((c) => c.connected));
    // A 33rd from 127.0.0.1 is turned away at once: only 32 may be reading from one address.
    const over = await tcrpRequest(server.tcpAddr, LIST);
    assert.equal(statusOf(responseOf(over)), 429);

    const started = performance.now();
    const answer = await tcrpRequestFrom(server.tcpAddr, LIST, "127.0.0.9", 1_000);
    const ms = performance.now() - started;
    assert.equal(statusOf(responseOf(answer)), 200);
    assert(ms < 1_000, `answered in ${ms.toFixed(0)} ms`);
    // The oldest idle one was closed to make room; the newest are still open.
    await waitUntil(() => idle[0]!.closed(), "the oldest idle connection closed", 1_000);
    assert(!idle.at(-1)!.closed());
    // A legitimate CREATE and JOIN get through the same full gate.
    const created = await roomRequest(server.tcpAddr, "create", { room: "open", username: "ann" });
    assert.equal(statusOf(created.response), 200);
  } finally {
    for (const conn of idle) conn.destroy();
    await server.shutdown();
  }
});

Deno.test("--request-timeout: a connection that sends a header and trickles its body is closed after 3 s", async () => {
  const server = startTestServer({ requestTimeoutSeconds: 0.3, handshakeTimeoutSeconds: 5 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.tcpAddr.port });
  try {
    const request = encodeTcrpRequest({
      operation: Operation.CREATE_ROOM,
      roomName: "slow",
      username: "ann",
      password: null,
      capacity: null,
    });
    const started = performance.now();
    await conn.write(request.subarray(0, 33)); // the header and a byte of the body
    // One more byte every 100 ms: never a whole request, never silent for long.
    let trickling = true;
    const trickle = (async () => {
      for (let i = 33; trickling && i < request.length - 1; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        await conn.write(request.subarray(i, i + 1)).catch(() => (trickling = false));
      }
    })();
    const read = await conn.read(new Uint8Array(64)).catch(() => null);
    const closedAfter = performance.now() - started;
    trickling = false;
    await trickle;
    assert.equal(read, null, "closed without an answer");
    assert(closedAfter > 250 && closedAfter < 1_500, `closed after ${closedAfter.toFixed(0)} ms`);
    assert(server.logs.some((line) => line.includes("request not done within 0.3 s")));
    assert.equal(server.registry.roomCount, 0);
  } finally {
    conn.close();
    await server.shutdown();
  }
});

Deno.test("a class of 31 password JOINs at once from one address all get in (real scrypt, default limits)", async () => {
  const server = startTestServer(DEFAULT_LIMITS);
  try {
    const teacher = await roomRequest(
      server.tcpAddr,
      "create",
      { room: "Class 7b", username: "teacher", password: "photosynthesis" },
      { timeoutMs: 10_000 },
    );
    assert.equal(statusOf(teacher.response), 200);
    const started = performance.now();
    const students = await Promise.all(
      Array.from({ length: 31 }, (_, i) =>
        roomRequest(
          server.tcpAddr,
          "join",
          { room: "Class 7b", username: `student ${i + 1}`, password: "photosynthesis" },
          { timeoutMs: 10_000 },
        )),
    );
    const ms = performance.now() - started;
    assert(ms < 8_000, `31 password joins from one address took ${ms.toFixed(0)} ms`);
    assert.deepEqual(
      students.map((s) => statusOf(s.response)),
      Array(31).fill(200),
    );
    assert.equal(server.registry.memberCount, 32);
  } finally {
    await server.shutdown();
  }
});

Deno.test("chat rooms pages through 250 rooms and lists each exactly once, in canonical order", async () => {
  const server = startTestServer({ maxRooms: 1_000 });
  try {
    const names = Array.from(
      { length: 250 },
      (_, i) => `${i % 2 === 0 ? "Room" : "room"} ${String(i).padStart(3, "0")}`,
    );
    for (const [i, roomName] of names.entries()) {
      const peer = {
        address: `10.0.${i >> 8}.${i & 255}`,
        addressKey: `10.0.${i >> 8}.${i & 255}`,
      };
      const made = server.registry.create({
        roomName,
        username: "u",
        password: null,
        capacity: null,
        peer,
      });
      assert(made.ok);
    }
    const kids = new Children();
    try {
      const rooms = await kids.run(
        ["rooms", "--server", `127.0.0.1:${server.tcpAddr.port}`, "--json"],
        "",
        15_000,
      );
      assert.equal(rooms.code, 0, rooms.stderr);
      const listed = (JSON.parse(rooms.stdout) as { name: string }[]).map((r) => r.name);
      assert.equal(listed.length, 250);
      assert.deepEqual(listed, names, "every room once, sorted case-insensitively");
    } finally {
      await kids.dispose();
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("wrong passwords: 20 from one address, then 429 before hashing; another address still gets in", async () => {
  let derivations = 0;
  const record = { salt: new Uint8Array(16), hash: new Uint8Array(32) };
  const server = startTestServer({}, {
    passwords: {
      hash: () => Promise.resolve(record),
      verify: (password) => {
        derivations++;
        return Promise.resolve(password === "right");
      },
    },
  });
  try {
    const ask = (username: string, password: string, from: string) =>
      tcrpRequestFrom(
        server.tcpAddr,
        encodeTcrpRequest({
          operation: Operation.JOIN_ROOM,
          roomName: "vault",
          username,
          password,
          capacity: null,
        }),
        from,
      );
    const created = await roomRequest(server.tcpAddr, "create", {
      room: "vault",
      username: "owner",
      password: "right",
    });
    assert.equal(statusOf(created.response), 200);
    for (let i = 0; i < 20; i++) {
      assert.equal(statusOf(responseOf(await ask(`guess${i}`, `wrong${i}`, "127.0.0.3"))), 401);
    }
    assert.equal(derivations, 20);
    const limited = responseOf(await ask("guess", "right", "127.0.0.3"));
    assert.equal(statusOf(limited), 429);
    assert.match((limited as { error: string }).error, /too many wrong passwords/);
    assert.equal(derivations, 20, "refused before hashing");
    assert.equal(statusOf(responseOf(await ask("friend", "right", "127.0.0.4"))), 200);
    assert(server.logs.some((line) => line.includes("wrong room passwords over the limit")));
  } finally {
    await server.shutdown();
  }
});
