import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { taskArgs } from "../../testing/cli.ts";

const SCRIPT = fileURLToPath(new URL("./web.ts", import.meta.url));

/** Runs the task's own command (its permissions, the script by absolute path) in `cwd`. */
async function runIn(cwd: string): Promise<{ code: number; stderr: string }> {
  const args = taskArgs("screenshot:web");
  assert.equal(args.at(-1), "tools/screenshot/web.ts");
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...args.slice(0, -1), SCRIPT],
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test("screenshot:web copies the browser test's PNG to docs/web.png, and says what to run when there is none", async () => {
  const root = await Deno.makeTempDir({ prefix: "chat-screenshot-web-" });
  try {
    await Deno.mkdir(join(root, "docs"));
    const missing = await runIn(root);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no dist\/web-screenshot\.png yet: run the browser test first/);

    await Deno.mkdir(join(root, "dist"));
    await Deno.writeTextFile(join(root, "dist", "web-screenshot.png"), "<html>not a png</html>");
    const notPng = await runIn(root);
    assert.equal(notPng.code, 1);
    assert.match(notPng.stderr, /is not a PNG file/);

    const png = new Uint8Array(40);
    png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
    png.set(new TextEncoder().encode("IHDR"), 12);
    await Deno.writeFile(join(root, "dist", "web-screenshot.png"), png);
    const copied = await runIn(root);
    assert.equal(copied.code, 0, copied.stderr);
    assert.deepEqual(await Deno.readFile(join(root, "docs", "web.png")), png);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
