/**
 * `deno task screenshot`: a capture of the chat screen from a real run. It
 * starts `chat serve` on loopback, opens ann's chat screen on an 80×20
 * pseudo-terminal (`script`), lets bob and carol (pipe mode) talk, types half
 * a line, and writes what the terminal shows, rendered by `@xterm/headless`:
 * docs/screen.txt (the grid as text, leading empty rows left out), docs/screen.svg (with
 * colours), and the text into README.md between its screen-capture markers.
 */
import { Children } from "../../testing/cli.ts";
import { KEY, spawnChatScreen } from "../../testing/pty.ts";
import { waitUntil } from "../../testing/wait.ts";
import { gridSvg } from "./grid_svg.ts";
import { withCapture } from "./readme_capture.ts";

const kids = new Children();
try {
  const server = await kids.server();
  const join = (name: string, how: string) => [
    "join",
    "--server",
    server.address,
    "--name",
    name,
    how,
    "--room",
    "general",
  ];
  // Colours on (NO_COLOR empty), a fixed zone so the capture does not depend on the machine.
  const ann = spawnChatScreen(kids, join("ann", "--create"), {
    env: { NO_COLOR: "", TZ: "UTC", TERM: "xterm-256color" },
  });
  await ann.child.stdout.waitFor("? Password (leave empty for an open room)", 15_000);
  await ann.child.write(KEY.enter);
  await ann.child.stdout.waitFor(`* You are in "general"`, 10_000);
  const bob = kids.chat(join("bob", "--join"));
  await ann.child.stdout.waitFor("* bob joined");
  const carol = kids.chat(join("carol", "--join"));
  await ann.child.stdout.waitFor("* carol joined");
  await ann.child.write("morning both, shall we start?" + KEY.enter);
  await ann.child.stdout.waitFor("ann: morning both");
  await bob.write("sure, the notes are in the shared folder\n");
  await ann.child.stdout.waitFor("bob: sure");
  await carol.write("/me waves\n");
  await ann.child.stdout.waitFor("* carol waves");
  await carol.write("ann, can you share the 日本語 slides too?\n");
  await ann.child.stdout.waitFor("carol: ann, can you");
  await ann.child.write("/who" + KEY.enter);
  await ann.child.stdout.waitFor("3 here:");
  await ann.child.write("carol: yes, right after this");
  await waitUntil(
    () => ann.terminal.visibleRows()[19]?.endsWith("right after this") ?? false,
    "the typed line",
  );
  const rows = ann.terminal.visibleRows();
  const capture = rows.map((r) => r.trimEnd()).join("\n").replace(/^\n+/, "") + "\n";
  await Deno.writeTextFile("docs/screen.txt", capture);
  await Deno.writeTextFile("README.md", withCapture(await Deno.readTextFile("README.md"), capture));
  await Deno.writeTextFile("docs/screen.svg", gridSvg(ann.terminal.term));
  // deno-lint-ignore no-console
  console.log(`wrote docs/screen.txt and docs/screen.svg (${rows.length} rows)`);
} finally {
  await kids.dispose();
}
