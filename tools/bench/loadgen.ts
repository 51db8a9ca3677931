/**
 * A load generator process: `deno run --allow-net tools/bench/loadgen.ts
 * --spec <json>` (a {@linkcode LoadgenSpec}). It reads commands from stdin
 * and answers each with one JSON line on stdout (see layout.ts):
 * join (hosts first, then the others), run (one measured step), quit.
 */
import { Generator } from "./generator.ts";
import type { LoadgenAnswer, LoadgenCommand, LoadgenSpec } from "./layout.ts";
import { readLines, writeAllSync } from "./lines.ts";
import { sealedTarget } from "./sealed_wire.ts";
import { chatTarget, relayTarget } from "./target.ts";
import { isStalled } from "./layout.ts";
import { mixedTarget, wsRelayTarget, wsSealedTarget } from "./ws_wire.ts";

const answer = (line: LoadgenAnswer) => writeAllSync(Deno.stdout, JSON.stringify(line) + "\n");

const specIndex = Deno.args.indexOf("--spec");
const spec = JSON.parse(Deno.args[specIndex + 1] ?? "null") as LoadgenSpec | null;
if (specIndex < 0 || spec === null) {
  answer({ error: "usage: loadgen.ts --spec <json>" });
  Deno.exit(2);
}
const ws = { hostname: spec.hostname, port: spec.wsPort ?? 0 };
const transport = spec.transport ?? "udp";
const target = spec.target === "relay"
  ? (transport === "ws" ? wsRelayTarget(ws) : relayTarget(spec.hostname, spec.port))
  : transport === "ws"
  ? wsSealedTarget(ws, { stalled: (owned) => isStalled(owned, spec) })
  : transport === "mixed"
  ? mixedTarget({ hostname: spec.hostname, port: spec.port }, ws)
  : spec.sealed
  ? sealedTarget(spec.hostname, spec.port)
  : chatTarget(spec.hostname, spec.port);
const generator = new Generator(spec, target);

try {
  for await (const line of readLines(Deno.stdin.readable)) {
    if (line.trim() === "") continue;
    const command = JSON.parse(line) as LoadgenCommand;
    if (command.cmd === "join") {
      const started = performance.now();
      const joined = await generator.join(command.hosts);
      answer({ joined, ms: Math.round(performance.now() - started) });
    } else if (command.cmd === "run") {
      const { step, ratePerSender, durationMs, settleMs } = command;
      answer({ report: await generator.run(step, ratePerSender, durationMs, settleMs) });
    } else if (command.cmd === "drain") {
      answer({ drainedMs: await generator.drain(command.quietMs, command.maxMs) });
    } else if (command.cmd === "reconnect") {
      answer({ reconnected: await generator.reconnect() });
    } else {
      break;
    }
  }
} catch (error) {
  answer({ error: String((error as Error).stack ?? error) });
  await generator.close();
  Deno.exit(1);
}
await generator.close();
