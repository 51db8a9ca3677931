import assert from "node:assert/strict";
import { epollAvailable, EpollSockets } from "./epoll_socket.ts";

Deno.test({
  name: "epoll sockets: bursts to several sockets are all received, each by its own loop",
  ignore: !epollAvailable(),
  async fn() {
    const sockets = new EpollSockets();
    const senders = [sockets.open("127.0.0.1"), sockets.open("127.0.0.1")];
    const receivers = [
      sockets.open("127.0.0.1"),
      sockets.open("127.0.0.1"),
      sockets.open("127.0.0.1"),
    ];
    const got = receivers.map(() => [] as string[]);
    const loops = receivers.map((r, i) =>
      r.receiveLoop((bytes) => got[i]!.push(new TextDecoder().decode(bytes)))
    );
    // More than one recvmmsg batch (64) per socket, from two sockets.
    const perReceiver = 150;
    for (let n = 0; n < perReceiver; n++) {
      for (const [i, receiver] of receivers.entries()) {
        const sender = senders[n % 2]!;
        sender.send(new TextEncoder().encode(`${i}:${n}`), {
          hostname: "127.0.0.1",
          port: receiver.port,
        });
      }
    }
    const deadline = Date.now() + 5_000;
    while (got.some((g) => g.length < perReceiver) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const [i, g] of got.entries()) {
      assert.deepEqual(
        g.toSorted(),
        Array.from({ length: perReceiver }, (_, n) => `${i}:${n}`).toSorted(),
      );
    }
    assert.equal(senders[0]!.sendErrors + senders[1]!.sendErrors, 0);
    await sockets.close();
    await Promise.all(loops); // every receive loop ends on close
  },
});

Deno.test({
  name: "epoll sockets: a closed socket stops receiving and sending; the others go on",
  ignore: !epollAvailable(),
  async fn() {
    const sockets = new EpollSockets();
    const a = sockets.open("127.0.0.1");
    const b = sockets.open("127.0.0.1");
    const got: number[] = [];
    const loopA = a.receiveLoop(() => got.push(0));
    const loopB = b.receiveLoop(() => got.push(1));
    a.close();
    await loopA;
    b.send(new Uint8Array([1]), { hostname: "127.0.0.1", port: b.port });
    a.send(new Uint8Array([1]), { hostname: "127.0.0.1", port: b.port }); // ignored: closed
    const deadline = Date.now() + 2_000;
    while (got.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(got, [1]);
    await sockets.close();
    await loopB;
  },
});
