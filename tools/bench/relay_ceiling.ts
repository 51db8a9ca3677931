/**
 * The ceiling of a trivial relay on each UDP implementation: one datagram in,
 * one copy out to each of 50 sockets, as a room's MESSAGE becomes 50 EVENTs.
 * Prints figures; asserts nothing.
 *
 * The relay runs in a child process (so it has a core and an event loop of
 * its own); this process offers inbound datagrams at a rising rate from an
 * mmsg socket and counts what reaches 50 mmsg sink sockets.
 *
 *   deno run --allow-net --allow-ffi --allow-run --allow-read tools/bench/relay_ceiling.ts \
 *     [--io deno,mmsg] [--fanout 50] [--seconds 2] [--rates 1000,2000,5000,10000,20000]
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { HostPort } from "../../protocol/host_port.ts";
import type { UdpIo } from "../../server/datagram_socket.ts";
import { openDatagramSocket } from "../../server/open_datagram_socket.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    role: { type: "string", default: "load" },
    io: { type: "string", default: "deno,mmsg" },
    fanout: { type: "string", default: "50" },
    seconds: { type: "string", default: "2" },
    rates: { type: "string", default: "1000,2000,4000,8000,12000,16000,24000" },
    sinks: { type: "string", default: "" },
  },
});

const BIG_BUFFER = 8 << 20;

/** The relay: every datagram received goes to every sink, flushed once per batch. */
async function relay(io: UdpIo, sinkPorts: number[]): Promise<void> {
  const socket = openDatagramSocket(io, {
    hostname: "127.0.0.1",
    port: 0,
    receiveBufferBytes: BIG_BUFFER,
    sendBufferBytes: BIG_BUFFER,
  });
  const sinks: HostPort[] = sinkPorts.map((port) => ({ hostname: "127.0.0.1", port }));
  const encoder = new TextEncoder();
  await Deno.stdout.write(encoder.encode(`${socket.addr.port}\n`));
  Deno.addSignalListener("SIGTERM", () => socket.close());
  while (true) {
    const batch = await socket.receive();
    if (batch.count === 0) break;
    for (let i = 0; i < batch.count; i++) socket.send(batch.bytes(i), sinks);
    // The deno socket's sends are ops of their own; they run while the next receive waits
    // (a setTimeout(0) here would cap it at one datagram per clamped timer tick).
    socket.flush();
  }
  await Deno.stdout.write(encoder.encode(`${JSON.stringify(socket.stats)}\n`));
}

interface Step {
  offeredPerSecond: number;
  inPerSecond: number;
  deliveredPerSecond: number;
}

async function measure(io: UdpIo, fanout: number, seconds: number, rates: number[]) {
  const sinks = Array.from(
    { length: fanout },
    () =>
      openDatagramSocket("mmsg", {
        hostname: "127.0.0.1",
        port: 0,
        receiveBufferBytes: BIG_BUFFER,
      }),
  );
  let delivered = 0;
  const sinking = sinks.map(async (sink) => {
    while (true) {
      const batch = await sink.receive();
      if (batch.count === 0) return;
      delivered += batch.count;
    }
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-ffi",
      import.meta.filename!,
      "--role",
      "relay",
      "--io",
      io,
      "--sinks",
      sinks.map((s) => s.addr.port).join(","),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const readLine = async () => {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) break;
      buffered += value;
    }
    const [line, ...rest] = buffered.split("\n");
    buffered = rest.join("\n");
    return line ?? "";
  };
  const relayPort = Number(await readLine());
  const generator = openDatagramSocket("mmsg", {
    hostname: "127.0.0.1",
    port: 0,
    sendBufferBytes: BIG_BUFFER,
  });
  const target = [{ hostname: "127.0.0.1", port: relayPort }];
  // A chat EVENT-sized datagram (~100 bytes).
  const payload = new Uint8Array(100).fill(0x61);
  const steps: Step[] = [];
  for (const rate of rates) {
    // Settle: let queues from the previous step drain.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const start = performance.now();
    const deliveredBefore = delivered;
    let offered = 0;
    while (true) {
      const elapsed = (performance.now() - start) / 1000;
      if (elapsed >= seconds) break;
      const due = Math.floor(elapsed * rate) - offered;
      for (let i = 0; i < due; i++) generator.send(payload, target);
      generator.flush();
      offered += Math.max(0, due);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const took = (performance.now() - start) / 1000;
    // Count what was in flight at the end too.
    await new Promise((resolve) => setTimeout(resolve, 200));
    steps.push({
      offeredPerSecond: rate,
      inPerSecond: Math.round(offered / took),
      deliveredPerSecond: Math.round((delivered - deliveredBefore) / took),
    });
  }
  child.kill("SIGTERM");
  const relayStats = await readLine();
  await lines.cancel();
  await child.status;
  await generator.close();
  await Promise.all(sinks.map((sink) => sink.close()));
  await Promise.all(sinking);
  return { io, fanout, seconds, steps, relayStats: relayStats ? JSON.parse(relayStats) : null };
}

if (values.role === "relay") {
  await relay(values.io as UdpIo, values.sinks.split(",").map(Number));
} else {
  const fanout = Number(values.fanout);
  const seconds = Number(values.seconds);
  const rates = values.rates.split(",").map(Number);
  const out = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
  for (const io of values.io.split(",") as UdpIo[]) {
    const result = await measure(io, fanout, seconds, rates);
    out(`relay on ${io}: 1 in -> ${fanout} out, ${seconds} s a step`);
    out("  offered in/s   in/s      delivered out/s");
    for (const step of result.steps) {
      out(
        `  ${String(step.offeredPerSecond).padStart(10)} ${String(step.inPerSecond).padStart(9)} ` +
          `${String(step.deliveredPerSecond).padStart(14)}`,
      );
    }
    const best = Math.max(...result.steps.map((s) => s.deliveredPerSecond));
    out(`  ceiling: ${best} deliveries/s; relay counters ${JSON.stringify(result.relayStats)}`);
  }
}
