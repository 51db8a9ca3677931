import assert from "node:assert/strict";
import type { DatagramSocket, DatagramSocketOptions, UdpIo } from "./datagram_socket.ts";
import { mmsgSuits, openDatagramSocket } from "./open_datagram_socket.ts";

const IMPLEMENTATIONS: UdpIo[] = ["deno", "mmsg"];

/** Receives until `count` datagrams arrived (or 2 s passed), copying each out of the batch. */
async function collect(
  socket: DatagramSocket,
  count: number,
): Promise<{ text: string; size: number; kept: number; from: string; batch: number }[]> {
  const out: { text: string; size: number; kept: number; from: string; batch: number }[] = [];
  const decoder = new TextDecoder();
  const deadline = setTimeout(() => socket.close(), 2000);
  try {
    while (out.length < count) {
      const batch = await socket.receive();
      if (batch.count === 0) throw new Error(`closed after ${out.length} of ${count}`);
      for (let i = 0; i < batch.count; i++) {
        const bytes = batch.bytes(i);
        const from = batch.from(i);
        out.push({
          text: decoder.decode(bytes.subarray(0, 16)),
          size: batch.size(i),
          kept: bytes.length,
          from: `${from.hostname}:${from.port}`,
          batch: batch.count,
        });
      }
    }
    return out;
  } finally {
    clearTimeout(deadline);
  }
}

function open(udpIo: UdpIo, options: Partial<DatagramSocketOptions> = {}): DatagramSocket {
  return openDatagramSocket(udpIo, { hostname: "127.0.0.1", port: 0, ...options });
}

for (const udpIo of IMPLEMENTATIONS) {
  Deno.test(`${udpIo}: one flush sends bytes to many endpoints; the receiver sees each sender`, async () => {
    const a = open(udpIo);
    const b = open(udpIo);
    const c = open(udpIo, { hostname: "127.0.0.2" });
    try {
      assert.equal(a.kind, udpIo);
      assert.ok(b.addr.port > 0);
      assert.equal(c.addr.hostname, "127.0.0.2");
      const to = { hostname: "127.0.0.1", port: b.addr.port };
      a.send(new TextEncoder().encode("three"), [to, to, to]);
      a.send(new TextEncoder().encode("one more"), [to]);
      a.flush();
      c.send(new TextEncoder().encode("from .2"), [to]);
      c.flush();
      const got = await collect(b, 5);
      const texts = got.map((d) => `${d.text} ${d.from}`).sort();
      assert.deepEqual(texts, [
        `from .2 127.0.0.2:${c.addr.port}`,
        `one more 127.0.0.1:${a.addr.port}`,
        ...Array(3).fill(`three 127.0.0.1:${a.addr.port}`),
      ]);
      assert.equal(a.stats.sent, 4);
      assert.equal(b.stats.received, 5);
      // An answer to the reported sender reaches it.
      b.send(new TextEncoder().encode("back"), [{ hostname: "127.0.0.2", port: c.addr.port }]);
      b.flush();
      assert.equal((await collect(c, 1))[0]?.from, `127.0.0.1:${b.addr.port}`);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  Deno.test(`${udpIo}: a datagram longer than the slot shows its real size`, async () => {
    const a = open(udpIo);
    const b = open(udpIo, { slotBytes: 4096 });
    try {
      a.send(new Uint8Array(9000).fill(0x61), [b.addr]);
      a.send(new Uint8Array(4096).fill(0x62), [b.addr]);
      a.flush();
      // Deno's sends are separate ops: they may arrive in either order.
      const got = (await collect(b, 2)).map(({ size, kept }) => ({ size, kept }))
        .sort((x, y) => y.size - x.size);
      // mmsg keeps the slot's worth; deno keeps any datagram whole.
      assert.deepEqual(got, [
        { size: 9000, kept: udpIo === "mmsg" ? 4096 : 9000 },
        { size: 4096, kept: 4096 },
      ]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  Deno.test(`${udpIo}: close while a receive waits ends it at once, empty`, async () => {
    const socket = open(udpIo);
    const pending = socket.receive();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const start = performance.now();
    await socket.close();
    const batch = await pending;
    const took = performance.now() - start;
    assert.equal(batch.count, 0);
    // Well under the mmsg socket's 200 ms SO_RCVTIMEO: shutdown(2) woke it.
    assert.ok(took < 150, `close took ${took} ms`);
    assert.equal((await socket.receive()).count, 0, "receive after close is empty too");
    await socket.close();
  });
}

Deno.test("mmsg: one receive returns many datagrams; a bad endpoint is counted, not thrown", async () => {
  const a = open("mmsg");
  const b = open("mmsg", { batchSize: 64, receiveBufferBytes: 1 << 20 });
  try {
    const to = Array(200).fill(b.addr);
    a.send(new TextEncoder().encode("x"), [{ hostname: "::1", port: 1 }, ...to]);
    a.send(new TextEncoder().encode("y"), [{ hostname: "127.0.0.1", port: 0 }]);
    a.flush();
    assert.deepEqual(a.stats, { sent: 200, sendErrors: 2, received: 0 });
    const got = await collect(b, 200);
    assert.equal(got.length, 200);
    assert.ok(Math.max(...got.map((d) => d.batch)) > 1, "several datagrams in one recvmmsg");
    assert.ok(got.every((d) => d.batch <= 64));
    await assert.rejects(async () => {
      const pending = b.receive();
      try {
        await b.receive();
      } finally {
        await b.close();
        await pending;
      }
    }, /one receive at a time/);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("auto picks mmsg here (Linux, --allow-ffi, IPv4), and mmsg refuses IPv6", async () => {
  assert.equal(mmsgSuits("127.0.0.1"), Deno.build.os === "linux");
  assert.equal(mmsgSuits("::1"), false);
  const socket = open("auto" as UdpIo);
  await socket.close();
  assert.equal(socket.kind, Deno.build.os === "linux" ? "mmsg" : "deno");
  assert.throws(() => open("mmsg", { hostname: "::1" }), /IPv4/);
});
