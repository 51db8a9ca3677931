/**
 * The trivial relay: the least a chat relay can do, to measure the load
 * generator against something cheaper than the server. `deno run
 * --allow-net tools/bench/trivial_relay.ts` binds 127.0.0.1, port 0, and
 * prints `relay on udp PORT`. REGISTER [0x01, room u16] adds the source to the
 * room and is answered [0x01]; RELAY [0x02, room u16, bytes...] sends `bytes`
 * to every registered endpoint of the room. Nothing else: no tokens, no
 * sequence numbers, no history.
 */
import { writeAllSync } from "./lines.ts";
import { RelayKind } from "./target.ts";

const conn = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
const rooms = new Map<number, Deno.NetAddr[]>();
const registered = new Uint8Array([RelayKind.REGISTER]);
writeAllSync(Deno.stdout, `relay on udp ${(conn.addr as Deno.NetAddr).port}\n`);

const buffer = new Uint8Array(65_536);
while (true) {
  const [bytes, from] = await conn.receive(buffer);
  if (bytes.length < 3) continue;
  const room = (bytes[1]! << 8) | bytes[2]!;
  if (bytes[0] === RelayKind.REGISTER) {
    const addr = from as Deno.NetAddr;
    const members = rooms.get(room) ?? [];
    if (!members.some((m) => m.port === addr.port && m.hostname === addr.hostname)) {
      members.push(addr);
    }
    rooms.set(room, members);
    conn.send(registered, addr).catch(() => {});
  } else if (bytes[0] === RelayKind.RELAY) {
    const payload = bytes.slice(3); // the buffer is reused by the next receive
    for (const member of rooms.get(room) ?? []) conn.send(payload, member).catch(() => {});
  }
}
