import assert from "node:assert/strict";
import { CutProxy } from "./cut_proxy.ts";

/** An echo server on loopback that counts the bytes it got. */
function echoServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const state = { received: 0, ended: 0 };
  const tasks: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      tasks.push((async () => {
        const buffer = new Uint8Array(1024);
        try {
          while (true) {
            const n = await conn.read(buffer);
            if (n === null) break;
            state.received += n;
            await conn.write(buffer.subarray(0, n));
          }
        } catch {
          // reset by the proxy
        } finally {
          state.ended++;
          try {
            conn.close();
          } catch {
            // closed
          }
        }
      })());
    }
  })();
  return {
    port: listener.addr.port,
    state,
    async close() {
      listener.close();
      await accepting;
      await Promise.all(tasks);
    },
  };
}

async function readSome(conn: Deno.Conn, timeoutMs = 2_000): Promise<string | null> {
  const buffer = new Uint8Array(1024);
  let timer: ReturnType<typeof setTimeout> | undefined = undefined;
  try {
    const n = await Promise.race([
      conn.read(buffer).catch(() => null),
      new Promise<"timeout">((
        resolve,
      ) => (timer = setTimeout(() => resolve("timeout"), timeoutMs))),
    ]);
    if (n === "timeout") return "timeout";
    return n === null ? null : new TextDecoder().decode(buffer.subarray(0, n));
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 3_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test("CutProxy forwards both ways, and cutAll closes both sides of every connection", async () => {
  const echo = echoServer();
  const proxy = new CutProxy({ hostname: "127.0.0.1", port: echo.port });
  try {
    const a = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    const b = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    await a.write(new TextEncoder().encode("hello"));
    assert.equal(await readSome(a), "hello");
    await b.write(new TextEncoder().encode("there"));
    assert.equal(await readSome(b), "there");
    assert.equal(proxy.open, 2);

    assert.equal(proxy.cutAll(), 2);
    assert.equal(await readSome(a), null);
    assert.equal(await readSome(b), null);
    await waitFor(() => echo.state.ended === 2, "the server side of both to end");
    assert.equal(proxy.open, 0);
    a.close();
    b.close();

    // A new connection after the cut is forwarded again.
    const c = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    await c.write(new TextEncoder().encode("again"));
    assert.equal(await readSome(c), "again");
    c.close();
  } finally {
    await proxy.close();
    await echo.close();
  }
});

Deno.test("CutProxy.refuse closes new connections at once; pause holds bytes until resume", async () => {
  const echo = echoServer();
  const proxy = new CutProxy({ hostname: "127.0.0.1", port: echo.port });
  try {
    proxy.refuse(true);
    const refused = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    assert.equal(await readSome(refused), null);
    refused.close();
    assert.equal(proxy.accepted, 1);
    proxy.refuse(false);

    const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    await conn.write(new TextEncoder().encode("1"));
    assert.equal(await readSome(conn), "1");
    proxy.pause();
    await conn.write(new TextEncoder().encode("2"));
    // Held: nothing reaches the server, nothing comes back, the connection stays open (a
    // bounded look for an absence).
    const buffer = new Uint8Array(16);
    const reply = conn.read(buffer);
    let timer: ReturnType<typeof setTimeout> | undefined = undefined;
    const early = await Promise.race([
      reply,
      new Promise<"held">((resolve) => (timer = setTimeout(() => resolve("held"), 300))),
    ]);
    clearTimeout(timer);
    assert.equal(early, "held");
    assert.equal(echo.state.received, 1);
    proxy.resume();
    const n = await reply;
    assert.equal(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), "2");
    conn.close();
  } finally {
    await proxy.close();
    await echo.close();
  }
});

Deno.test("CutProxy: a WebSocket through it closes when it is cut", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = (event) => socket.send(event.data);
    return response;
  });
  const proxy = new CutProxy({ hostname: "127.0.0.1", port: server.addr.port });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/`);
    const closed = new Promise<void>((resolve) => ws.onclose = () => resolve());
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    const echoed = new Promise((resolve) => ws.onmessage = (event) => resolve(event.data));
    ws.send("ping");
    assert.equal(await echoed, "ping");
    assert.equal(proxy.cutAll(), 1);
    await closed;
    assert.equal(ws.readyState, WebSocket.CLOSED);
  } finally {
    await proxy.close();
    await server.shutdown();
  }
});
