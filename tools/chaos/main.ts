/**
 * `deno task chaos`: the loss, churn, silence and restart suites at full
 * size, sealed, against real server processes (tools/chaos/audited_server.ts:
 * `chat serve`'s server with every seal recorded), and the nonce audit over
 * all of them. Prints a table, writes docs/results/chaos.json and
 * docs/reliability.md, exits 1 if a check failed.
 */
import { Command, InvalidArgumentError } from "commander";
import {
  newSuiteRun,
  renderReliabilityPage,
  writeReliabilityResults,
} from "../reliability_report.ts";
import { runChurnSuite } from "./churn.ts";
import { runLossSuite, type SuiteOutcome } from "./loss.ts";
import { describeAudit, NonceAudit } from "./nonce_audit.ts";
import { runRestartSuite } from "./restart.ts";
import { runSilenceSuite } from "./silence.ts";

function share(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value >= 1) {
    throw new InvalidArgumentError("expected a share from 0 to below 1, e.g. 0.2");
  }
  return value;
}

function whole(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new InvalidArgumentError("expected a whole number");
  }
  return Number(text);
}

const flags = new Command("chaos")
  .description("loss, churn, silence and restart suites against real server processes")
  .option("--members <n>", "members in the loss suite", whole, 5)
  .option("--messages <n>", "messages each member sends in the loss suite", whole, 1000)
  .option("--loss <share>", "share dropped each way", share, 0.2)
  .option("--duplicate <share>", "share sent twice", share, 0.1)
  .option("--reorder <share>", "share held back so later ones overtake them", share, 0.1)
  .option("--seed <n>", "seed of the proxy's random choices", whole, 2026)
  .option("--send-interval <ms>", "pause between one member's sends", whole, 60)
  .option("--visits <n>", "visits of each churn visitor (join, say one thing, leave)", whole, 25)
  .option("--no-write", "do not write docs/results/chaos.json and docs/reliability.md")
  .parse(Deno.args, { from: "user" })
  .opts();

const print = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
const outcomes: SuiteOutcome[] = [];
// Every suite's seals also land here: no (key, nonce) pair may repeat across the run.
const audit = new NonceAudit();
const started = performance.now();
print(`loss suite: ${flags.members} members × ${flags.messages} messages…`);
outcomes.push(
  await runLossSuite({
    members: flags.members,
    messages: flags.messages,
    loss: flags.loss,
    duplicate: flags.duplicate,
    reorder: flags.reorder,
    seed: flags.seed,
    sendIntervalMs: flags.sendInterval,
    settleTimeoutMs: 60_000,
    audit,
  }),
);
print(`churn suite: 4 visitors × ${flags.visits} visits…`);
outcomes.push(
  await runChurnSuite({
    steady: 3,
    messages: 300,
    visitors: 4,
    visits: flags.visits,
    loss: 0.1,
    seed: flags.seed,
    sendIntervalMs: flags.sendInterval,
    settleTimeoutMs: 60_000,
    audit,
  }),
);
print("silence suite…");
outcomes.push(
  await runSilenceSuite({ heartbeatSeconds: 1, messagesDuringShortSilence: 20, audit }),
);
print("restart suite…");
// Heartbeat 2 s: the clients' silence limit (6 s) is well past the restart, so the reset shows.
outcomes.push(await runRestartSuite({ members: 5, downMs: 2_000, heartbeatSeconds: 2, audit }));
const total = audit.figures;
outcomes.push({
  figures: {
    suite: "nonce audit over every suite above",
    sends: "every ChaCha20-Poly1305 seal of the servers and of every member: member and room " +
      "datagrams, Noise handshakes",
    delivered: `${total.pairs} distinct (key, nonce) pairs`,
    duplicates: "—",
    seconds: (performance.now() - started) / 1000,
    peakServerMiB: null,
    passed: total.repeats === 0,
    notes: describeAudit(total) + "; recorded below the session code, in a wrapper of the " +
      "crypto provider of each party (tools/chaos/nonce_audit.ts); each suite also checks that " +
      "the server's onSeal hook reported exactly the datagram seals of its provider",
  },
  failures: total.repeats === 0 ? [] : [`${total.repeats} (key, nonce) pairs sealed twice`],
});

const run = newSuiteRun("deno task chaos", outcomes.map((o) => o.figures));
print("");
print(renderReliabilityPage([run]).split("\n").filter((l) => l.startsWith("|")).join("\n"));
for (const outcome of outcomes) {
  for (const failure of outcome.failures) print(`FAILED ${outcome.figures.suite}: ${failure}`);
}
if (flags.write) {
  await writeReliabilityResults("chaos", run);
  print("\nwrote docs/results/chaos.json and docs/reliability.md");
}
Deno.exit(outcomes.every((o) => o.failures.length === 0) ? 0 : 1);
