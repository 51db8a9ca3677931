/**
 * `deno run ... tools/abuse/run_one.ts NAME [test|full]`: one scenario of the
 * suite, by (part of) its name, printed as JSON; for working on a scenario
 * without the whole run. Writes nothing.
 */
import { runScenario, type Scale } from "./harness.ts";
import { SCENARIOS } from "./scenarios.ts";

const [name, scale = "full"] = Deno.args;
const scenario = SCENARIOS.find((s) => name !== undefined && s.name.includes(name));
if (scenario === undefined) {
  Deno.stdout.writeSync(
    new TextEncoder().encode(`scenarios:\n${SCENARIOS.map((s) => `  ${s.name}\n`).join("")}`),
  );
  Deno.exit(2);
}
const report = await runScenario(scenario, scale as Scale);
Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(report, null, 2) + "\n"));
Deno.exit(report.failures.length === 0 ? 0 : 1);
