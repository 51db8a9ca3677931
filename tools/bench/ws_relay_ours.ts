/**
 * The trivial WebSocket relay's "ours" engine: the server's own HTTP head
 * reader and RFC 6455 framing (protocol/http_head.ts,
 * server/http/ws_accept.ts, server/http/ws_connection.ts) on Deno.listen,
 * the same WsConnection `chat serve` runs, with nothing of the chat server
 * around it: no host or origin policy, no connection limits, no phases, no
 * crypto, no registry. The fair ceiling for `chat serve` over WebSocket.
 *
 * @module
 */
import { findHeadEnd, HttpHeadError, parseHttpRequestHead } from "../../protocol/http_head.ts";
import { webSocketAccept } from "../../server/http/ws_accept.ts";
import { WsConnection } from "../../server/http/ws_connection.ts";
import type { RelayRooms, RelaySocket } from "./ws_relay.ts";
import { WS_SUBPROTOCOL } from "./ws_socket.ts";

const MAX_HEAD_BYTES = 16 * 1024;
const encoder = new TextEncoder();

/** Reads the request head; answers 101 and returns the bytes after the head, or null. */
async function upgrade(conn: Deno.Conn): Promise<Uint8Array | null> {
  let bytes = new Uint8Array(0);
  const buffer = new Uint8Array(4096);
  let end = -1;
  try {
    while (end < 0) {
      const n = await conn.read(buffer);
      if (n === null) return null;
      const joined = new Uint8Array(bytes.length + n);
      joined.set(bytes);
      joined.set(buffer.subarray(0, n), bytes.length);
      bytes = joined;
      end = findHeadEnd(bytes, MAX_HEAD_BYTES);
    }
    const head = parseHttpRequestHead(bytes.subarray(0, end));
    const key = head.headers.get("sec-websocket-key");
    if (key === undefined) throw new HttpHeadError("not a WebSocket upgrade", 400);
    await conn.write(encoder.encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${webSocketAccept(key)}\r\n` +
        `Sec-WebSocket-Protocol: ${WS_SUBPROTOCOL}\r\n\r\n`,
    ));
    return bytes.slice(end);
  } catch {
    try {
      await conn.write(encoder.encode("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
    } catch { /* gone */ }
    return null;
  }
}

/** Listens on 127.0.0.1, a free port; returns the port. */
export function serveOurs(rooms: RelayRooms): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of listener) {
      upgrade(conn).then((leftover) => {
        if (leftover === null) {
          conn.close();
          return;
        }
        const ws = new WsConnection(conn, leftover, {
          maxMessageBytes: 4096,
          pingIntervalMs: 30_000,
          silenceLimitMs: 90_000,
          monotonic: () => performance.now(),
        });
        const member: RelaySocket = { send: (bytes) => ws.send(bytes) };
        ws.start({
          message: (bytes) => rooms.onMessage(member, bytes),
          closed: () => rooms.onClose(member),
        });
      });
    }
  })();
  return (listener.addr as Deno.NetAddr).port;
}
