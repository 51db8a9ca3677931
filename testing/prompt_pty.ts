/**
 * The room picker and the other questions of `chat join` on a real
 * pseudo-terminal (util-linux `script`), for tests that follow the
 * questions rather than the chat screen: the output is kept as text with
 * escape sequences removed, so a test waits for a prompt's words and then
 * answers it, with no screen model in between.
 */
import { type ChildHandle, type Children, stripAnsi, taskArgs } from "./cli.ts";

/** Keys as a terminal sends them. */
export const KEYS = {
  enter: "\r",
  up: "\x1b[A",
  down: "\x1b[B",
} as const;

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/**
 * Runs the join task's own command (its permissions) with `args` on a pty:
 * `script -qfec CMD /dev/null`, TERM=xterm, 80 columns. Its stdin is what
 * the person types; `stdout.plain` is everything drawn, without escapes.
 */
export function spawnJoinOnPty(children: Children, args: string[]): ChildHandle {
  const command = [Deno.execPath(), ...taskArgs("join"), ...args].map(quote).join(" ");
  return children.spawn("script", ["-qfec", `stty cols 80 rows 24; ${command}`, "/dev/null"], {
    env: { TERM: "xterm", LANG: "C.UTF-8" },
    label: `chat join ${args.join(" ")} (on a pty)`,
    renderStdout: stripAnsi,
  });
}

/**
 * Waits until the output after `from` (an offset into `stdout.plain`)
 * matches `pattern`; returns the offset just past the match, so the next
 * wait looks only at what was drawn after it.
 */
export async function waitAfter(
  child: ChildHandle,
  from: number,
  pattern: RegExp,
  timeoutMs = 8_000,
): Promise<number> {
  const sticky = new RegExp(`^[\\s\\S]{${from}}[\\s\\S]*?(${pattern.source})`, pattern.flags);
  const match = await child.stdout.waitFor(sticky, timeoutMs);
  return match[0].length;
}
