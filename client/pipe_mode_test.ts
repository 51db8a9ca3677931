/**
 * Pipe mode's endings over a scripted network: a stop (a signal, a closed
 * stdout) leaves and reports what was not delivered, on stderr once stdout
 * is gone; stdin lines left when the room ends are reported, not dropped.
 */
import assert from "node:assert/strict";
import { CloseReason } from "../protocol/datagram.ts";
import { VirtualClock } from "../testing/virtual_time.ts";
import { waitUntil } from "../testing/wait.ts";
import { AsyncQueue } from "./async_queue.ts";
import type { ExitCause } from "./exit_signals.ts";
import { FakeConnector, welcome } from "./fake_network_test_util.ts";
import { type LineWriter, runPipeMode } from "./pipe_mode.ts";

class Lines implements LineWriter {
  readonly lines: string[] = [];
  gone = false;
  writeLine(line: string): boolean {
    if (this.gone) return false;
    this.lines.push(line);
    return true;
  }
  get json(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line));
  }
}

/** Starts pipe mode (--json) over a fake server and waits until it is in the room. */
async function start(rejoinTimeoutMs = 60_000) {
  const clock = new VirtualClock();
  const connector = new FakeConnector(clock);
  const stdin = new AsyncQueue<string>();
  const out = new Lines();
  const err = new Lines();
  const stop = new AbortController();
  const running = runPipeMode({
    connector,
    scheduler: clock,
    create: true,
    room: "lobby",
    username: "alice",
    timings: { rejoinTimeoutMs },
  }, { lines: stdin, out, err, json: true, stop: stop.signal });
  await waitUntil(() => connector.channels.length === 1, "the connection");
  await clock.settle();
  connector.channel.inject(welcome(0));
  await waitUntil(() => out.lines.length > 0, "the welcome line");
  return { clock, connector, stdin, out, err, stop, running };
}

const sigterm: ExitCause = { kind: "signal", signal: "SIGTERM" };

Deno.test("pipe mode: SIGTERM leaves, reports the unacknowledged line, exits 143", async () => {
  const { connector, stdin, out, stop, running } = await start();
  stdin.push("hello?");
  await waitUntil(() => connector.channel.of("message").length === 1, "the MESSAGE");
  stop.abort(sigterm);
  assert.equal(await running, 143);
  assert.equal(connector.channel.of("leave").length, 1, "one LEAVE, answered");
  assert.deepEqual(out.json.slice(-2), [
    { type: "undelivered", msgId: connector.channel.of("message")[0]!.msgId, text: "hello?" },
    { type: "closed", reason: "left", text: "you left the room" },
  ]);
});

Deno.test("pipe mode: a closed stdout leaves; what was not delivered goes to stderr; exit 1", async () => {
  const { connector, stdin, out, err, stop, running } = await start();
  stdin.push("one");
  await waitUntil(() => connector.channel.of("message").length === 1, "the MESSAGE");
  out.gone = true;
  stop.abort({ kind: "outputClosed" } satisfies ExitCause);
  assert.equal(await running, 1);
  assert.equal(connector.channel.of("leave").length, 1);
  assert.deepEqual(err.json.map((e) => [e.type, e.text]), [["undelivered", "one"]]);
});

Deno.test("pipe mode: a closed stdout with everything delivered exits 0", async () => {
  const { stop, out, running, connector } = await start();
  out.gone = true;
  stop.abort({ kind: "outputClosed" } satisfies ExitCause);
  assert.equal(await running, 0);
  assert.equal(connector.channel.of("leave").length, 1);
});

Deno.test("pipe mode, --rejoin-timeout 0: stdin lines left after a shutdown are undelivered, exit 1", async () => {
  const { connector, stdin, out, running } = await start(0);
  connector.channel.inject({
    kind: "closed",
    reason: CloseReason.SHUTDOWN,
    text: "the server is shutting down",
  });
  await waitUntil(() => out.json.some((e) => e.type === "closed"), "the closed event");
  stdin.push("late 1");
  stdin.push("");
  stdin.push("late 2");
  assert.equal(await running, 1);
  assert.deepEqual(out.json.slice(-3), [
    { type: "closed", reason: "shutdown", text: "the server is shutting down" },
    { type: "undelivered", msgId: null, text: "late 1" },
    { type: "undelivered", msgId: null, text: "late 2" },
  ]);
});

Deno.test("pipe mode, --rejoin-timeout 0: a shutdown with nothing left on stdin exits 0", async () => {
  const { connector, running } = await start(0);
  connector.channel.inject({ kind: "closed", reason: CloseReason.SHUTDOWN, text: "bye" });
  assert.equal(await running, 0);
});

Deno.test("pipe mode: a line too long for a datagram is reported undelivered, the rest goes on", async () => {
  const { connector, stdin, out, err, running } = await start();
  stdin.push("x".repeat(5_000));
  stdin.push("short");
  stdin.end();
  await waitUntil(() => connector.channel.of("message").length === 1, "the short MESSAGE");
  const { msgId } = connector.channel.of("message")[0]!;
  connector.channel.inject({ kind: "ack", msgId, seq: 2 });
  assert.equal(await running, 1);
  assert.deepEqual(connector.channel.of("message").map((m) => m.text), ["short"]);
  assert.deepEqual(out.json.filter((e) => e.type === "undelivered"), [
    { type: "undelivered", msgId: null, text: "x".repeat(5_000) },
  ]);
  assert.match(
    err.lines.join("\n"),
    /^not sent: .*\b4096\b/,
  );
});
