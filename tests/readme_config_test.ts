/**
 * The README's configuration table and the serve flags main.ts builds (from
 * server/config.ts's SERVE_FLAGS) say the same: every flag, its variable and
 * its default, in the same order, and nothing else.
 */
import assert from "node:assert/strict";
import { DEFAULT_SERVER_CONFIG, SERVE_FLAGS } from "../server/config.ts";

const README = new URL("../README.md", import.meta.url);

/** The rows of the first table under "## Configuration": [flag, variable, default]. */
function configurationRows(markdown: string): string[][] {
  const start = markdown.indexOf("\n## Configuration\n");
  const end = markdown.indexOf("\n### One executable\n", start);
  assert.ok(start >= 0 && end > start, "README has a Configuration section");
  const rows: string[][] = [];
  let seenTable = false;
  for (const line of markdown.slice(start, end).split("\n")) {
    if (!line.startsWith("|")) {
      if (seenTable) break;
      continue;
    }
    seenTable = true;
    const cells = line.split("|").slice(1, -1).map((cell) => cell.trim());
    if (cells[0] === "flag" || /^-+$/.test(cells[0] ?? "")) continue;
    rows.push(cells.slice(0, 3).map((cell) => cell.replace(/^`(.*)`$/, "$1")));
  }
  return rows;
}

Deno.test("README's configuration table lists every serve flag with its variable and default, and nothing else", async () => {
  const rows = configurationRows(await Deno.readTextFile(README));
  const flags = SERVE_FLAGS.map((flag) => [
    flag.flag,
    flag.env,
    String(DEFAULT_SERVER_CONFIG[flag.key]),
  ]);
  assert.deepEqual(rows, flags);
});

Deno.test("every ServerConfig field has exactly one serve flag and one variable", () => {
  const keys = SERVE_FLAGS.map((flag) => flag.key).sort();
  assert.deepEqual(keys, Object.keys(DEFAULT_SERVER_CONFIG).sort());
  const names = SERVE_FLAGS.flatMap((flag) => [flag.flag, flag.env]);
  assert.equal(new Set(names).size, names.length, "no flag or variable twice");
});

Deno.test("every serve flag's parser accepts its own default", () => {
  for (const flag of SERVE_FLAGS) {
    const value = DEFAULT_SERVER_CONFIG[flag.key];
    assert.equal(flag.parse(String(value)), value, flag.flag);
  }
});
