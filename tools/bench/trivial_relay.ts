/**
 * The trivial relay: the least a chat relay can do, to measure the load
 * generator against something cheaper than the server. `deno run
 * --allow-net --allow-ffi tools/bench/trivial_relay.ts [deno|mmsg]` binds 127.0.0.1, port 0, and
 * prints `relay on udp PORT`. REGISTER [0x01, room u16] adds the source to the
 * room and is answered [0x01]; RELAY [0x02, room u16, bytes...] sends `bytes`
 * to every registered endpoint of the room. Nothing else: no tokens, no
 * sequence numbers, no history.
 */
import { openDatagramSocket } from "../../server/open_datagram_socket.ts";
import { writeAllSync } from "./lines.ts";
import { RelayKind } from "./target.ts";

const io = Deno.args[0] === "mmsg" ? "mmsg" : "deno";
const socket = openDatagramSocket(io, { hostname: "127.0.0.1", port: 0 });
const rooms = new Map<number, { hostname: string; port: number }[]>();
const registered = new Uint8Array([RelayKind.REGISTER]);
writeAllSync(Deno.stdout, `relay on udp ${socket.addr.port}\n`);

while (true) {
  const batch = await socket.receive();
  for (let i = 0; i < batch.count; i++) {
    const bytes = batch.bytes(i);
    if (bytes.length < 3) continue;
    const room = (bytes[1]! << 8) | bytes[2]!;
    if (bytes[0] === RelayKind.REGISTER) {
      const from = batch.from(i);
      const members = rooms.get(room) ?? [];
      if (!members.some((m) => m.port === from.port && m.hostname === from.hostname)) {
        members.push(from);
      }
      rooms.set(room, members);
      socket.send(registered, [from]);
    } else if (bytes[0] === RelayKind.RELAY) {
      // A copy: the Deno socket holds the bytes until its send op has run,
      // and the next receive reuses the buffer.
      socket.send(bytes.slice(3), rooms.get(room) ?? []);
    }
  }
  socket.flush();
}
