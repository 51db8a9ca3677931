/**
 * Measures the replay flood of issue 11 against a real `chat serve` process:
 * members from N local addresses (127.0.1.1, ...) send HEARTBEAT lastSeq 0,
 * while a member of another room, from 127.0.0.2, times the ACK of a MESSAGE
 * sent every 20 ms and then repairs its room's history with RESEND.
 *
 *   deno run -A tools/replay_flood.ts [--addresses 1] [--members 500]
 *     [--heartbeats 100] [--seconds 10] [--fill 800] [-- extra chat serve flags]
 *
 * --heartbeats is per address; --fill is MESSAGEs per flood room before the
 * flood (250 joins and 800 messages: a full 1024-event history). Prints the round trips (p50, p99, max) and the
 * repair time; the server runs in its own process, as `deno task serve` starts it.
 * Flags after `--` go to `chat serve` (a server that limits members per
 * address needs its limit raised for 500 members from one address).
 */
import { parseArgs } from "node:util";
import { Children, LOOPBACK_ANY_PORTS, waitForListening } from "../testing/cli.ts";
import { AckProbe, describeRoundTrips, ReplayFlood } from "../testing/replay_flood.ts";
import { sleep } from "../testing/wait.ts";

const encoder = new TextEncoder();
const print = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));

const split = Deno.args.indexOf("--");
const own = split < 0 ? Deno.args : Deno.args.slice(0, split);
const serverArgs = split < 0 ? [] : Deno.args.slice(split + 1);
const { values } = parseArgs({
  args: own,
  options: {
    addresses: { type: "string", default: "1" },
    members: { type: "string", default: "500" },
    heartbeats: { type: "string", default: "100" },
    seconds: { type: "string", default: "10" },
    fill: { type: "string", default: "800" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  print(
    "Usage: deno run -A tools/replay_flood.ts [--addresses 1] [--members 500] [--heartbeats 100]\n" +
      "  [--seconds 10] [--fill 800] [-- chat serve flags]\n\n" +
      "Members from N addresses (127.0.1.1, ...) send HEARTBEAT lastSeq 0, --heartbeats a second\n" +
      "from each, while a member of another room from 127.0.0.2 times its ACKs and repairs its\n" +
      "history with RESEND; prints the round trips and what the flooding addresses got back.",
  );
  Deno.exit(0);
}
const addressCount = Number(values.addresses);
const membersPerAddress = Math.ceil(Number(values.members) / addressCount);
const heartbeatsPerSecond = Number(values.heartbeats);
const seconds = Number(values.seconds);

const kids = new Children();
try {
  // The serve task's own command, so the UDP i/o is what production gets (mmsg with --allow-ffi).
  const server = await waitForListening(kids.likeTask("serve", [
    ...LOOPBACK_ANY_PORTS,
    "--request-rate",
    "0",
    "--max-handshakes-per-ip",
    "64",
    "--max-members",
    "20000",
    // Hosts fill their rooms with 800 messages at once, the probe sends 50 a
    // second; the replay budget stays on (it needs a rate).
    "--rate-limit",
    "1000",
    ...serverArgs,
  ]));
  const target = {
    tcpAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: server.port },
    udpAddr: { transport: "udp" as const, hostname: "127.0.0.1", port: server.udpPort },
  };
  const addresses = Array.from({ length: addressCount }, (_, i) => `127.0.1.${i + 1}`);
  const flood = await ReplayFlood.prepare(target, {
    addresses,
    membersPerAddress,
    heartbeatsPerSecond,
    fillMessages: Number(values.fill),
  });
  await flood.settle();
  const probe = await AckProbe.open(target, "calm", "127.0.0.2");
  try {
    const io = /\((\w+) i\/o\)/.exec(server.process.stderr.plain)?.[1] ?? "?";
    print(
      `server: ${io} i/o; flood: ${flood.memberCount} members from ${addressCount} address(es), ` +
        `${heartbeatsPerSecond} HEARTBEAT lastSeq 0 a second from each, for ${seconds} s`,
    );
    probe.startSending(100);
    await sleep(1_000);
    const quiet = await probe.stopSending(2_000);
    print(`before the flood: ${describeRoundTrips(quiet)}`);
    const started = performance.now();
    flood.start();
    probe.startSending(20);
    await sleep(seconds * 1_000);
    const during = await probe.stopSending(5_000);
    const { events, errors } = flood.received;
    const elapsed = (performance.now() - started) / 1000;
    print(
      `the flooding addresses got ${(events / elapsed).toFixed(0)} events/s and ` +
        `${(errors / elapsed).toFixed(0)} ERRORs/s`,
    );
    print(`during the flood: ${describeRoundTrips(during)}`);
    const head = 1 + quiet.sent + during.sent;
    try {
      const ms = await probe.repair(1, head, 30_000);
      print(`RESEND 1-${head} during the flood: complete in ${ms.toFixed(0)} ms`);
    } catch (error) {
      print(`RESEND 1-${head} during the flood: ${(error as Error).message}`);
    }
    print(`HEARTBEATs sent: ${flood.sent}`);
  } finally {
    await flood.stop();
    await probe.close();
  }
} finally {
  await kids.dispose();
}
