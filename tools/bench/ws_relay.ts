/**
 * The trivial WebSocket relay: the least a WebSocket chat relay can do, to
 * measure the machine's ceiling for WebSocket fan-out with the same load
 * generator and clients as the chat server (as trivial_relay.ts does for
 * UDP). `deno run --allow-net=127.0.0.1 tools/bench/ws_relay.ts [ours|deno]`
 * listens on 127.0.0.1, a free port, and prints `relay on ws PORT`.
 *
 * Each binary message is a relay datagram (target.ts RelayKind): REGISTER
 * [0x01, room u16] adds the socket to the room and is answered [0x01];
 * RELAY [0x02, room u16, bytes...] sends `bytes` to every socket of the
 * room. No crypto, no registry, no sequence numbers.
 *
 * Engines: "ours", the server's own RFC 6455 framing (ws_relay_ours.ts:
 * Deno.listen and server/http/ws_connection.ts, what `chat serve` runs), and
 * "deno", Deno.serve with Deno.upgradeWebSocket (the relay the issue
 * measured).
 *
 * @module
 */
import { writeAllSync } from "./lines.ts";
import { RelayKind } from "./target.ts";
import { WS_SUBPROTOCOL } from "./ws_socket.ts";
import { serveOurs } from "./ws_relay_ours.ts";

/** A socket of either engine, as the relay sees it. */
export interface RelaySocket {
  send(bytes: Uint8Array): void;
}

/** The relay's state: rooms of sockets. Engines call {@linkcode onMessage} and {@linkcode onClose}. */
export class RelayRooms {
  #rooms = new Map<number, Set<RelaySocket>>();
  #roomOf = new Map<RelaySocket, number>();
  static readonly #REGISTERED = new Uint8Array([RelayKind.REGISTER]);

  /** One binary message from `socket`. */
  onMessage(socket: RelaySocket, bytes: Uint8Array): void {
    if (bytes.length < 3) return;
    const room = (bytes[1]! << 8) | bytes[2]!;
    if (bytes[0] === RelayKind.REGISTER) {
      let members = this.#rooms.get(room);
      if (members === undefined) this.#rooms.set(room, members = new Set());
      members.add(socket);
      this.#roomOf.set(socket, room);
      socket.send(RelayRooms.#REGISTERED);
    } else if (bytes[0] === RelayKind.RELAY) {
      const event = bytes.subarray(3);
      for (const member of this.#rooms.get(room) ?? []) member.send(event);
    }
  }

  /** `socket` closed: it leaves its room. */
  onClose(socket: RelaySocket): void {
    const room = this.#roomOf.get(socket);
    if (room === undefined) return;
    this.#roomOf.delete(socket);
    this.#rooms.get(room)?.delete(socket);
  }
}

/** The "deno" engine: Deno.serve and Deno.upgradeWebSocket. */
function serveDeno(rooms: RelayRooms): number {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request, { protocol: WS_SUBPROTOCOL });
    socket.binaryType = "arraybuffer";
    const member: RelaySocket = { send: (bytes) => socket.send(bytes) };
    socket.onmessage = (event) => {
      if (event.data instanceof ArrayBuffer) rooms.onMessage(member, new Uint8Array(event.data));
    };
    socket.onclose = () => rooms.onClose(member);
    socket.onerror = () => {};
    return response;
  });
  return server.addr.port;
}

if (import.meta.main) {
  const engine = Deno.args[0] === "deno" ? "deno" : "ours";
  const rooms = new RelayRooms();
  const port = engine === "deno" ? serveDeno(rooms) : serveOurs(rooms);
  writeAllSync(Deno.stdout, `relay on ws ${port}\n`);
}
