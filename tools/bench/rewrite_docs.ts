/**
 * Writes docs/performance.md, docs/performance.svg and the README summary
 * again from the runs stored in docs/results/bench/, without measuring (after
 * a change to how they are rendered): `deno run --allow-read --allow-write=docs,README.md
 * --allow-run tools/bench/rewrite_docs.ts`.
 *
 * @module
 */
import { mergeRuns, sourcesOf } from "./merge.ts";
import {
  PERFORMANCE_PAGE,
  PERFORMANCE_SVG,
  README,
  readStoredRuns,
  renderPerformancePage,
  withSummary,
} from "./report.ts";
import { renderLatencyPlot } from "./svg.ts";

const runs = await readStoredRuns();
const merged = mergeRuns(runs);
const sources = sourcesOf(merged, runs);
await Deno.writeTextFile(PERFORMANCE_PAGE, renderPerformancePage(merged, sources));
await Deno.writeTextFile(PERFORMANCE_SVG, renderLatencyPlot(merged));
await Deno.writeTextFile(README, withSummary(await Deno.readTextFile(README), merged, sources));
await new Deno.Command(Deno.execPath(), {
  args: ["fmt", "-q", decodeURIComponent(README.pathname)],
})
  .output();
