/**
 * A lossy UDP relay for tests: clients send to it instead of the server, and
 * it forwards both ways through one upstream socket per client (so the
 * server still sees one endpoint per member), dropping a seeded-random share
 * of datagrams each way and optionally duplicating and reordering some by
 * delaying them. Everything it holds is bounded, and close() stops every
 * loop and clears every timer.
 */

/** Which way a datagram is going. */
export type Direction = "toServer" | "toClient";

/** How a relay mistreats datagrams. Shares are 0..1. */
export interface LossyRelayOptions {
  /** The real server's UDP endpoint. */
  target: { hostname: string; port: number };
  /** Seed of the random choices (same seed, same sequence of choices). */
  seed?: number;
  /** Share of client-to-server datagrams dropped. */
  lossToServer?: number;
  /** Share of server-to-client datagrams dropped. */
  lossToClient?: number;
  /**
   * Most datagrams dropped in a row at random for one client and direction;
   * the next one passes. Unbounded unless set.
   */
  maxDropStreak?: number;
  /** Share of forwarded datagrams sent twice. */
  duplicate?: number;
  /** Share of forwarded datagrams held back, so later ones overtake them. */
  reorder?: number;
  /** Longest hold for a reordered datagram (default 30 ms). */
  maxDelayMs?: number;
  /** Most datagrams held at once; past it they go straight through (default 256). */
  maxHeld?: number;
  /** Most clients relayed; datagrams from more are dropped (default 16). */
  maxClients?: number;
  /** Sees every datagram before the dice; returning true drops it. */
  shouldDrop?: (direction: Direction, bytes: Uint8Array) => boolean;
}

/** What a relay did in one direction. */
export interface DirectionStats {
  received: number;
  dropped: number;
  duplicated: number;
  delayed: number;
}

/** A running relay. */
export interface LossyRelay {
  /** Where clients send. */
  addr: Deno.NetAddr;
  stats: Record<Direction, DirectionStats>;
  /** Stops relaying, clears every timer, closes every socket. */
  close(): Promise<void>;
}

/** mulberry32: a small, seeded, good-enough PRNG for tests. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Client {
  endpoint: { hostname: string; port: number };
  upstream: Deno.DatagramConn;
  streak: Record<Direction, number>;
  loop: Promise<void>;
}

const BUFFER_BYTES = 65_536;

/** Binds 127.0.0.1 on an ephemeral port and starts relaying to `options.target`. */
export function startLossyRelay(options: LossyRelayOptions): LossyRelay {
  const random = seededRandom(options.seed ?? 1);
  const loss: Record<Direction, number> = {
    toServer: options.lossToServer ?? 0,
    toClient: options.lossToClient ?? 0,
  };
  const maxDropStreak = options.maxDropStreak ?? Infinity;
  const maxDelayMs = options.maxDelayMs ?? 30;
  const maxHeld = options.maxHeld ?? 256;
  const maxClients = options.maxClients ?? 16;
  const front = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const clients = new Map<string, Client>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const sending = new Set<Promise<unknown>>();
  const stats: Record<Direction, DirectionStats> = {
    toServer: { received: 0, dropped: 0, duplicated: 0, delayed: 0 },
    toClient: { received: 0, dropped: 0, duplicated: 0, delayed: 0 },
  };
  let closed = false;

  const send = (conn: Deno.DatagramConn, bytes: Uint8Array, to: Client["endpoint"]) => {
    if (closed) return;
    const sent: Promise<unknown> = conn.send(bytes, { transport: "udp", ...to })
      .catch(() => {/* a closed socket or an ICMP error: it is lost, as on a network */})
      .finally(() => sending.delete(sent));
    sending.add(sent);
  };

  /** Drops, duplicates, delays or forwards one datagram. */
  const relay = (
    direction: Direction,
    client: Client,
    bytes: Uint8Array,
    conn: Deno.DatagramConn,
    to: Client["endpoint"],
  ) => {
    const s = stats[direction];
    s.received++;
    if (options.shouldDrop?.(direction, bytes)) {
      s.dropped++;
      return;
    }
    if (random() < loss[direction] && client.streak[direction] < maxDropStreak) {
      client.streak[direction]++;
      s.dropped++;
      return;
    }
    client.streak[direction] = 0;
    const copies = random() < (options.duplicate ?? 0) ? 2 : 1;
    if (copies === 2) s.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (random() < (options.reorder ?? 0) && timers.size < maxHeld) {
        s.delayed++;
        const timer = setTimeout(() => {
          timers.delete(timer);
          send(conn, bytes, to);
        }, 1 + Math.floor(random() * maxDelayMs));
        timers.add(timer);
      } else {
        send(conn, bytes, to);
      }
    }
  };

  const upstreamLoop = async (client: Client) => {
    const buffer = new Uint8Array(BUFFER_BYTES);
    while (!closed) {
      let received: [Uint8Array, Deno.Addr];
      try {
        received = await client.upstream.receive(buffer);
      } catch {
        if (closed) return;
        continue; // an ICMP error surfacing; keep relaying
      }
      const [bytes, addr] = received;
      const from = addr as Deno.NetAddr;
      if (from.port !== options.target.port) continue;
      relay("toClient", client, bytes.slice(), front, client.endpoint);
    }
  };

  const frontLoop = async () => {
    const buffer = new Uint8Array(BUFFER_BYTES);
    while (!closed) {
      let received: [Uint8Array, Deno.Addr];
      try {
        received = await front.receive(buffer);
      } catch {
        if (closed) return;
        continue;
      }
      const [bytes, addr] = received;
      const from = addr as Deno.NetAddr;
      const key = `${from.hostname}:${from.port}`;
      let client = clients.get(key);
      if (client === undefined) {
        if (clients.size >= maxClients) continue;
        const upstream = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
        client = {
          endpoint: { hostname: from.hostname, port: from.port },
          upstream,
          streak: { toServer: 0, toClient: 0 },
          loop: Promise.resolve(),
        };
        client.loop = upstreamLoop(client);
        clients.set(key, client);
      }
      relay("toServer", client, bytes.slice(), client.upstream, options.target);
    }
  };

  const frontDone = frontLoop();
  return {
    addr: front.addr as Deno.NetAddr,
    stats,
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      front.close();
      for (const client of clients.values()) client.upstream.close();
      await frontDone;
      await Promise.all([...clients.values()].map((c) => c.loop));
      await Promise.all([...sending]);
      clients.clear();
    },
  };
}
