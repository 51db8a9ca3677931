/**
 * A terminal member for the browser test: the non-interactive
 * `chat join --json` (the join task's own command and permissions), its
 * stdin the lines it sends, its stdout one JSON event per line.
 */
import type { ChildHandle, Children } from "./cli.ts";

/** A running `chat join --json`. */
export interface Terminal {
  child: ChildHandle;
  name: string;
}

/** Starts `chat join --json` as `name` into `room` on `server` ("HOST:PORT"). */
export function startTerminal(
  kids: Children,
  server: string,
  options: { name: string; room: string; create: boolean },
): Terminal {
  const child = kids.likeTask("join", [
    "--server",
    server,
    "--name",
    options.name,
    options.create ? "--create" : "--join",
    "--room",
    options.room,
    "--json",
  ]);
  return { child, name: options.name };
}

/** Waits for its welcome (it is in the room). */
export async function terminalReady(t: Terminal): Promise<void> {
  await t.child.stdout.waitFor(/"type":"welcome"/, 20_000);
}

/** The messages it printed so far, as "name: text", from its JSON lines. */
export function terminalMessages(t: Terminal): string[] {
  return t.child.stdout.lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((event) => event.type === "message")
    .map((event) => `${event.name}: ${event.text}`);
}

/** Sends one line. */
export async function terminalSays(t: Terminal, text: string): Promise<void> {
  await t.child.write(text + "\n");
}

/** Waits until it printed a message `text` from `name`. */
export async function terminalSaw(t: Terminal, name: string, text: string): Promise<void> {
  const json = JSON.stringify(text).slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  await t.child.stdout.waitFor(
    new RegExp(`"type":"message".*"name":"${name}".*"text":"${json}"`),
    15_000,
  );
}
