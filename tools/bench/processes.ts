/**
 * The bench's child processes: the chat server (`chat serve` with the
 * bench's limits), the trivial relay, and load generators spoken to by JSON
 * lines.
 */
import { fileURLToPath } from "node:url";
import type { UdpIo } from "../../server/datagram_socket.ts";
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import { requestSealedRoomList } from "../../client/tcrp_client.ts";
import { listRooms } from "../../testing/raw_client.ts";
import { type ChildHandle, Children, MAIN_TS, REPO_ROOT } from "../../testing/cli.ts";
import type { LoadgenAnswer, LoadgenCommand, LoadgenSpec } from "./layout.ts";
import { readLines } from "./lines.ts";

const LOADGEN_TS = fileURLToPath(new URL("./loadgen.ts", import.meta.url));
const RELAY_TS = fileURLToPath(new URL("./trivial_relay.ts", import.meta.url));
const WS_RELAY_TS = fileURLToPath(new URL("./ws_relay.ts", import.meta.url));

/** Something the generators load: where, and which process to measure. */
export interface LoadTarget {
  kind: "chat" | "relay";
  hostname: string;
  /** TCRP port of the server, or UDP port of the relay (its WebSocket port: a WebSocket relay). */
  port: number;
  /** The server's UDP port. */
  udpPort?: number;
  /** The server's HTTP port (its `/ws`), when it has one. */
  httpPort?: number;
  pid: number;
  handle: ChildHandle;
}

/** Ports of a bench server: TCRP, UDP, and HTTP (`/ws`). */
export interface ServerPorts {
  tcp: number;
  udp: number;
  http: number;
}

function freePorts(): ServerPorts {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const http = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const datagram = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const ports = {
    tcp: (listener.addr as Deno.NetAddr).port,
    udp: (datagram.addr as Deno.NetAddr).port,
    http: (http.addr as Deno.NetAddr).port,
  };
  listener.close();
  http.close();
  datagram.close();
  return ports;
}

/**
 * The server flags of a bench run with WebSocket members: its HTTP listener
 * on `httpPort`, and room for every member of the bench on one address (the
 * defaults fit a class behind a NAT, not 1,000 sockets from one generator).
 */
export function wsServerFlags(httpPort: number): string[] {
  return [
    "--http-port",
    String(httpPort),
    "--max-http-connections",
    "100000",
    "--max-http-connections-per-ip",
    "100000",
  ];
}

/** Waits until something accepts TCP connections on 127.0.0.1:`port`. */
async function waitForTcp(port: number, handle: ChildHandle, deadline: number): Promise<void> {
  while (true) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch (error) {
      if (Date.now() > deadline || handle.exitCode !== null) {
        throw new Error(`nothing listens on ${port}: ${error}\n${handle.stderr.plain}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The server flags of every bench run: no rate limits, room for large layouts. */
export const BENCH_SERVER_FLAGS: string[] = [
  "--rate-limit",
  "0",
  "--request-rate",
  "0",
  "--max-rooms",
  "100000",
  "--max-members",
  "100000",
  "--max-rooms-per-ip",
  "100000",
  "--max-members-per-ip",
  "10000000",
  "--max-members-per-room",
  "65535",
  "--max-handshakes-per-ip",
  "64",
  "--idle-timeout",
  "0",
  "--log-level",
  "warn",
];

/**
 * Starts `chat serve` on 127.0.0.1 with free ports and the bench flags
 * (then `extra`; `denoFlags` go to `deno run`, e.g. --cpu-prof), and waits
 * until it answers LIST_ROOMS. Plain (`sealed` false), with
 * `--allow-plaintext`, which the plain load generator needs; sealed, without
 * it, as `chat serve` runs by default, and asked for its list sealed.
 */
export async function startChatServer(
  kids: Children,
  extra: string[] = [],
  denoFlags: string[] = [],
  sealed = false,
  options: { ws?: boolean; ports?: ServerPorts } = {},
): Promise<LoadTarget> {
  const ports = options.ports ?? freePorts();
  // As `deno task serve` runs it: --allow-ffi lets --udp-io auto pick recvmmsg/sendmmsg.
  const permissions = [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-ffi",
    "--allow-read",
    "--allow-write",
    "--allow-sys=hostname", // the Host policy reads the machine's name (as the serve task)
  ];
  const handle = kids.spawn(Deno.execPath(), [
    ...permissions,
    ...denoFlags,
    MAIN_TS,
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    String(ports.tcp),
    "--udp-port",
    String(ports.udp),
    ...BENCH_SERVER_FLAGS,
    ...(sealed ? [] : ["--allow-plaintext"]),
    // Without WebSocket members, no HTTP listener (its default port, 8080, is shared).
    ...(options.ws ? wsServerFlags(ports.http) : ["--http-port", "0"]),
    ...extra,
  ], { label: `chat serve (bench${sealed ? ", sealed" : ""}${options.ws ? ", WebSocket" : ""})` });
  const addr = { transport: "tcp" as const, hostname: "127.0.0.1", port: ports.tcp };
  const deadline = Date.now() + 15_000;
  while (true) {
    try {
      if (sealed) {
        // The bench's own server: whatever key it proves is trusted.
        await requestSealedRoomList(addr, { crypto: nodeCrypto, checkServerKey: () => {} });
      } else {
        await listRooms(addr);
      }
      break;
    } catch (error) {
      if (Date.now() > deadline || handle.exitCode !== null) {
        throw new Error(`chat serve did not start: ${error}\n${handle.stderr.plain}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  if (options.ws) await waitForTcp(ports.http, handle, deadline);
  return {
    kind: "chat",
    hostname: "127.0.0.1",
    port: ports.tcp,
    udpPort: ports.udp,
    ...(options.ws ? { httpPort: ports.http } : {}),
    pid: handle.child.pid,
    handle,
  };
}

/** The ports a running bench server listens on (to start it again on the same ones). */
export function portsOf(target: LoadTarget): ServerPorts {
  return { tcp: target.port, udp: target.udpPort ?? 0, http: target.httpPort ?? 0 };
}

/** Which trivial WebSocket relay: our own framing (WsConnection) or Deno's WebSocket. */
export type WsRelayEngine = "ours" | "deno";

/** Starts the trivial WebSocket relay (ws_relay.ts) and reads its port. */
export async function startWsRelay(kids: Children, engine: WsRelayEngine): Promise<LoadTarget> {
  const args = ["run", "--allow-net=127.0.0.1", WS_RELAY_TS, engine];
  const handle = kids.spawn(Deno.execPath(), args, {
    label: `trivial WebSocket relay (${engine})`,
  });
  const match = await handle.stdout.waitFor(/relay on ws (\d+)/, 15_000);
  const port = Number(match[1]);
  return {
    kind: "relay",
    hostname: "127.0.0.1",
    port,
    httpPort: port,
    pid: handle.child.pid,
    handle,
  };
}

/** Starts the trivial relay on a `deno` or `mmsg` socket and reads its port. */
export async function startRelay(kids: Children, io: UdpIo): Promise<LoadTarget> {
  const args = ["run", "--allow-net=127.0.0.1", "--allow-ffi", RELAY_TS, io];
  const handle = kids.spawn(Deno.execPath(), args, { label: `trivial relay (${io})` });
  const match = await handle.stdout.waitFor(/relay on udp (\d+)/, 15_000);
  return {
    kind: "relay",
    hostname: "127.0.0.1",
    port: Number(match[1]),
    pid: handle.child.pid,
    handle,
  };
}

/** A load generator process: one command in, one JSON line out. */
export class LoadgenProcess {
  readonly child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncGenerator<string>;
  #stderr = "";
  #stderrDone: Promise<void>;

  /** Spawns `loadgen.ts --spec <spec>`. */
  constructor(spec: LoadgenSpec) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net=127.0.0.1",
        "--allow-ffi",
        LOADGEN_TS,
        "--spec",
        JSON.stringify(spec),
      ],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.child.stdin.getWriter();
    this.#lines = readLines(this.child.stdout);
    const stderr = this.child.stderr;
    this.#stderrDone = (async () => {
      for await (const line of readLines(stderr)) {
        this.#stderr = (this.#stderr + line + "\n").slice(-4000);
      }
    })();
  }

  /** The process id (for CPU time). */
  get pid(): number {
    return this.child.pid;
  }

  /** Sends a command and returns the answer line; throws on an error answer or exit. */
  async request(command: LoadgenCommand): Promise<LoadgenAnswer> {
    await this.#stdin.write(new TextEncoder().encode(JSON.stringify(command) + "\n"));
    const { value, done } = await this.#lines.next();
    if (done) throw new Error(`load generator exited\n${this.#stderr}`);
    const answer = JSON.parse(value) as LoadgenAnswer;
    if ("error" in answer) throw new Error(`load generator: ${answer.error}`);
    return answer;
  }

  /** Asks it to quit, kills it if it does not within 3 s, and waits for it. */
  async close(): Promise<void> {
    try {
      await this.#stdin.write(new TextEncoder().encode(JSON.stringify({ cmd: "quit" }) + "\n"));
      await this.#stdin.close();
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 3_000);
    await this.child.status;
    clearTimeout(timer);
    // Drain stdout so its resource closes.
    for await (const _ of this.#lines) { /* nothing more expected */ }
    await this.#stderrDone;
  }
}
