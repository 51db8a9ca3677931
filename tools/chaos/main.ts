/**
 * `deno task chaos`: the loss, silence and restart suites at full size,
 * against real `chat serve` processes. Prints a table, writes
 * docs/results/chaos.json and docs/reliability.md, exits 1 if a check failed.
 */
import { Command, InvalidArgumentError } from "commander";
import {
  newSuiteRun,
  renderReliabilityPage,
  writeReliabilityResults,
} from "../reliability_report.ts";
import { runLossSuite, type SuiteOutcome } from "./loss.ts";
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
  .description("loss, silence and restart suites against real server processes")
  .option("--members <n>", "members in the loss suite", whole, 5)
  .option("--messages <n>", "messages each member sends in the loss suite", whole, 1000)
  .option("--loss <share>", "share dropped each way", share, 0.2)
  .option("--duplicate <share>", "share sent twice", share, 0.1)
  .option("--reorder <share>", "share held back so later ones overtake them", share, 0.1)
  .option("--seed <n>", "seed of the proxy's random choices", whole, 2026)
  .option("--send-interval <ms>", "pause between one member's sends", whole, 60)
  .option("--no-write", "do not write docs/results/chaos.json and docs/reliability.md")
  .parse(Deno.args, { from: "user" })
  .opts();

const print = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
const outcomes: SuiteOutcome[] = [];
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
  }),
);
print("silence suite…");
outcomes.push(await runSilenceSuite({ heartbeatSeconds: 1, messagesDuringShortSilence: 20 }));
print("restart suite…");
outcomes.push(await runRestartSuite({ members: 5, downMs: 2_000, heartbeatSeconds: 1 }));

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
