/**
 * Which scenarios a `deno task bench` run measures, in order, from its
 * flags: the default layouts (1 × 50 and 100 × 10 per UDP mode; the
 * WebSocket ones with `ws`), or one custom layout (`--rooms`, `--members`,
 * `--senders`) in every mode; each preceded by the ceiling that bounds it.
 *
 * @module
 */
import type { UdpIo } from "../../server/datagram_socket.ts";
import type { Layout, Transport } from "./layout.ts";
import type { WsRelayEngine } from "./processes.ts";

/** One scenario to run. */
export interface Planned {
  target: "chat" | "relay";
  sealed: boolean;
  layout: Layout;
  start: number;
  io: UdpIo;
  transport?: Transport;
  relayEngine?: WsRelayEngine;
  /** A stalled-reader run: one step at half the rate where this plan's scenario saturated. */
  stallBase?: Planned;
}

/** What the plan depends on. */
export interface PlanOptions {
  custom?: { rooms: number; members: number; senders: number };
  startRate?: number;
  procs: number;
  io: UdpIo;
  /** One entry per UDP mode: true sealed, false plain. */
  sealedModes: boolean[];
  /** The WebSocket layouts too. */
  wsMode: boolean;
  wsRelays: WsRelayEngine[];
  /** Measure the ceilings (trivial relays). */
  ceiling: boolean;
}

/** The scenarios, in the order they run. */
export function planScenarios(o: PlanOptions): Planned[] {
  const { procs, io, sealedModes, wsMode } = o;
  const planned: Planned[] = [];
  const wsRelays = (layout: Layout, start: number) => {
    if (!o.ceiling || layout.rooms > 65_536) return;
    for (const relayEngine of o.wsRelays) {
      planned.push({
        target: "relay",
        sealed: false,
        layout,
        start,
        io,
        transport: "ws",
        relayEngine,
      });
    }
  };
  if (o.custom !== undefined) {
    const layout = { ...o.custom, procs };
    const start = o.startRate ?? 40 * layout.rooms;
    // The generator's ceiling in the same layout (10,000 sockets cost it more than 50); the
    // relay numbers rooms in 16 bits.
    if (o.ceiling && layout.rooms <= 65_536 && sealedModes.length > 0) {
      planned.push({ target: "relay", sealed: false, layout, start, io });
    }
    for (const sealed of sealedModes) planned.push({ target: "chat", sealed, layout, start, io });
    if (wsMode) {
      wsRelays(layout, start);
      planned.push({ target: "chat", sealed: true, layout, start, io, transport: "ws" });
    }
    return planned;
  }
  const oneRoom = { rooms: 1, members: 50, senders: 1, procs };
  if (o.ceiling && sealedModes.length > 0) {
    planned.push({ target: "relay", sealed: false, layout: oneRoom, start: 2000, io });
  }
  const start = o.startRate ?? 2000;
  for (const sealed of sealedModes) {
    planned.push({ target: "chat", sealed, layout: oneRoom, start, io });
    // The portable path beside it, so the two are compared within one run (plain only).
    if (io === "mmsg" && !sealed) {
      planned.push({ target: "chat", sealed, layout: oneRoom, start, io: "deno" });
    }
  }
  for (const sealed of sealedModes) {
    planned.push({
      target: "chat",
      sealed,
      layout: { rooms: 100, members: 10, senders: 1, procs },
      start: o.startRate ?? 4000,
      io,
    });
  }
  if (wsMode) {
    // 1,000 msg/s into 50 members is the floor of 50,000 deliveries/s.
    const wsStart = o.startRate ?? 1000;
    wsRelays(oneRoom, wsStart);
    const ws: Planned = {
      target: "chat",
      sealed: true,
      layout: oneRoom,
      start: wsStart,
      io,
      transport: "ws",
    };
    planned.push(
      ws,
      { ...ws, transport: "mixed" },
      { ...ws, layout: { ...oneRoom, stalled: 1 }, stallBase: ws },
    );
  }
  return planned;
}
