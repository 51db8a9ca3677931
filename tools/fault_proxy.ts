/**
 * A UDP fault proxy: clients send to it instead of the server, and it
 * forwards both ways through one upstream socket per client (bound to the
 * client's own IP, so the server still sees one endpoint per member at the
 * address its token is bound to), dropping, duplicating, reordering and
 * delaying datagrams at seeded-random rates. A client can also be silenced
 * for a while, as if its network went away. Everything it holds is bounded,
 * and close() stops every loop and clears every timer.
 *
 * As a program (`deno task fault-proxy --help`) it sits in front of a real
 * server started with `--advertise-udp-port` set to the proxy's port.
 */
import { type HostPort, parseHostPort } from "../protocol/host_port.ts";
import { Command, InvalidArgumentError } from "commander";

/** Which way a datagram is going. */
export type Direction = "toServer" | "toClient";

/** How the proxy mistreats datagrams. Shares are 0..1. */
export interface FaultProxyOptions {
  /** The real server's UDP endpoint. */
  target: HostPort;
  /** Where clients send (default 127.0.0.1, an ephemeral port). */
  listen?: HostPort;
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
  /** Most datagrams held at once; past it they go straight through (default 4096). */
  maxHeld?: number;
  /** Most clients relayed; datagrams from more are dropped (default 1024). */
  maxClients?: number;
  /** Sees every datagram before the dice; returning true drops it. */
  shouldDrop?: (direction: Direction, bytes: Uint8Array) => boolean;
}

/** What the proxy did in one direction. */
export interface DirectionStats {
  received: number;
  dropped: number;
  duplicated: number;
  delayed: number;
  /** Datagrams dropped because their client was silenced. */
  silenced: number;
}

/** A running proxy. */
export interface FaultProxy {
  /** Where clients send. */
  addr: Deno.NetAddr;
  stats: Record<Direction, DirectionStats>;
  /**
   * Drops everything to and from the client at `client` for `ms`
   * milliseconds, as if its network went away.
   */
  silence(client: HostPort, ms: number): void;
  /** Stops relaying, clears every timer, closes every socket. */
  close(): Promise<void>;
}

/** mulberry32: a small, seeded, good-enough PRNG. */
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
  endpoint: HostPort;
  upstream: Deno.DatagramConn;
  streak: Record<Direction, number>;
  silentUntil: number;
  loop: Promise<void>;
}

const BUFFER_BYTES = 65_536;

/** Binds the listening socket and starts relaying to `options.target`. */
export function startFaultProxy(options: FaultProxyOptions): FaultProxy {
  const random = seededRandom(options.seed ?? 1);
  const loss: Record<Direction, number> = {
    toServer: options.lossToServer ?? 0,
    toClient: options.lossToClient ?? 0,
  };
  const maxDropStreak = options.maxDropStreak ?? Infinity;
  const maxDelayMs = options.maxDelayMs ?? 30;
  const maxHeld = options.maxHeld ?? 4096;
  const maxClients = options.maxClients ?? 1024;
  const listen = options.listen ?? { hostname: "127.0.0.1", port: 0 };
  const front = Deno.listenDatagram({ ...listen, transport: "udp" });
  const clients = new Map<string, Client>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const sending = new Set<Promise<unknown>>();
  const emptyStats = () => ({ received: 0, dropped: 0, duplicated: 0, delayed: 0, silenced: 0 });
  const stats: Record<Direction, DirectionStats> = {
    toServer: emptyStats(),
    toClient: emptyStats(),
  };
  const silences = new Map<string, number>(); // for clients not seen yet
  let closed = false;

  const send = (conn: Deno.DatagramConn, bytes: Uint8Array, to: HostPort) => {
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
    to: HostPort,
  ) => {
    const s = stats[direction];
    s.received++;
    if (performance.now() < client.silentUntil) {
      s.silenced++;
      return;
    }
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
        // Bound to the client's IP: the server checks a token against the IP
        // that performed the handshake.
        const upstream = Deno.listenDatagram({
          hostname: from.hostname,
          port: 0,
          transport: "udp",
        });
        client = {
          endpoint: { hostname: from.hostname, port: from.port },
          upstream,
          streak: { toServer: 0, toClient: 0 },
          silentUntil: silences.get(key) ?? 0,
          loop: Promise.resolve(),
        };
        silences.delete(key);
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
    silence(address, ms) {
      const key = `${address.hostname}:${address.port}`;
      const until = performance.now() + ms;
      const client = clients.get(key);
      if (client !== undefined) client.silentUntil = until;
      else if (silences.size < maxClients) silences.set(key, until);
    },
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

function share(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidArgumentError("expected a share from 0 to 1, e.g. 0.2");
  }
  return value;
}

function address(text: string): HostPort {
  try {
    if (!/:\d+$/.test(text)) throw new TypeError("expected host:port");
    return parseHostPort(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function wholeNumber(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError("expected a whole number");
  return Number(text);
}

/** `deno task fault-proxy`: runs a proxy until Ctrl+C, printing what it did every few seconds. */
async function main(args: string[]): Promise<void> {
  const flags = new Command("fault-proxy")
    .description(
      "UDP fault proxy between chat clients and a server. Start the server with " +
        "--advertise-udp-port <the proxy's port> so clients send here.",
    )
    .requiredOption("--target <host:port>", "the server's UDP address", address)
    .option("--listen <host:port>", "where clients send", address, {
      hostname: "127.0.0.1",
      port: 9102,
    })
    .option("--loss <share>", "share dropped each way", share, 0)
    .option("--loss-to-server <share>", "share of client datagrams dropped", share)
    .option("--loss-to-client <share>", "share of server datagrams dropped", share)
    .option("--duplicate <share>", "share sent twice", share, 0)
    .option("--reorder <share>", "share held back so later ones overtake them", share, 0)
    .option("--max-delay <ms>", "longest hold of a reordered datagram", wholeNumber, 30)
    .option("--seed <n>", "seed of the random choices", wholeNumber, 1)
    .option("--report <seconds>", "print counts this often; 0: only at the end", wholeNumber, 5)
    .parse(args, { from: "user" })
    .opts();
  const proxy = startFaultProxy({
    target: flags.target,
    listen: flags.listen,
    seed: flags.seed,
    lossToServer: flags.lossToServer ?? flags.loss,
    lossToClient: flags.lossToClient ?? flags.loss,
    duplicate: flags.duplicate,
    reorder: flags.reorder,
    maxDelayMs: flags.maxDelay,
  });
  const print = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
  const report = () => {
    for (const [direction, s] of Object.entries(proxy.stats)) {
      print(
        `${direction}: received ${s.received}, dropped ${s.dropped}, duplicated ` +
          `${s.duplicated}, reordered ${s.delayed}`,
      );
    }
  };
  print(
    `fault proxy on udp ${proxy.addr.hostname}:${proxy.addr.port} -> ` +
      `${flags.target.hostname}:${flags.target.port}`,
  );
  const timer = flags.report > 0 ? setInterval(report, flags.report * 1000) : undefined;
  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGINT", resolve);
    Deno.addSignalListener("SIGTERM", resolve);
  });
  clearInterval(timer);
  await proxy.close();
  report();
  Deno.exit(0);
}

if (import.meta.main) await main(Deno.args);
