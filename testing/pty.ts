/**
 * Runs `chat` inside a pseudo-terminal with util-linux `script`, so the
 * program sees a TTY on stdin and stdout (prompts, the chat screen) while the
 * test still writes keystrokes to a pipe and reads everything it draws.
 */
import { chatArgs, type ChildHandle, type Children } from "./cli.ts";
import { VirtualTerminal } from "./virtual_terminal.ts";

/** Quotes one word for `sh -c`. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Keys as a terminal sends them. */
export const KEY = {
  enter: "\r",
  up: "\x1b[A",
  down: "\x1b[B",
  ctrlC: "\x03",
  ctrlD: "\x04",
  pageUp: "\x1b[5~",
  pageDown: "\x1b[6~",
} as const;

/** Text as a terminal with bracketed paste on sends a paste of it. */
export function bracketedPaste(text: string): string {
  return `\x1b[200~${text}\x1b[201~`;
}

/**
 * A renderer for {@linkcode OutputCollector}: replays what a program wrote
 * into a {@linkcode VirtualTerminal} of `cols` × `rows` and returns every
 * row, scrollback included, so tests match what a person would see rather
 * than the drawing steps. The output only grows, so each call feeds just what
 * is new. `resize` changes the emulator's size when the test resizes the pty.
 */
export function screenRenderer(cols = 80, rows = 20): {
  render: (raw: string) => string;
  resize: (cols: number, rows: number) => void;
  terminal: VirtualTerminal;
} {
  const terminal = new VirtualTerminal(cols, rows);
  let fed = 0;
  return {
    terminal,
    render(raw: string): string {
      if (raw.length > fed) {
        terminal.write(raw.slice(fed));
        fed = raw.length;
      }
      return terminal.text();
    },
    resize: (c, r) => terminal.resize(c, r),
  };
}

/** A `chat` run on a pseudo-terminal, with the screen it draws. */
export interface PtyChat {
  /** The `script` process: write keys to it, wait on `.stdout` (the rendered screen). */
  child: ChildHandle;
  /** The emulator that renders `.stdout`, up to date: visible rows, scrollback, cursor. */
  readonly terminal: VirtualTerminal;
  /** Resizes the pty (`stty -F`; the program gets SIGWINCH) and the emulator. */
  resize(cols: number, rows: number): Promise<void>;
  /** The process id of `chat` itself (not `script`'s, nor the shell's). */
  chatPid(): Promise<number>;
}

/**
 * Spawns `chat ARGS...` on a pseudo-terminal of `cols` × `rows`:
 * `script -qfec CMD /dev/null` (quiet, flush at once, return the program's
 * exit code, no typescript file), where CMD sets the size with `stty`, prints
 * the pty's path (`pty: /dev/pts/N`, for resizing) and runs chat. TERM is
 * xterm unless `env` says otherwise. Its stdin is what the person types; its
 * stdout, rendered by `@xterm/headless`, is the screen.
 */
export function spawnChatScreen(
  children: Children,
  args: string[],
  options: {
    cols?: number;
    rows?: number;
    env?: Record<string, string>;
    /** A shell command run on the same pty after chat exits (`stty -a`, say). */
    after?: string;
  } = {},
): PtyChat {
  const cols = options.cols ?? 80;
  const rows = options.rows ?? 20;
  const chat = [Deno.execPath(), ...chatArgs(args)].map(shellQuote).join(" ");
  const run = options.after === undefined
    ? `exec ${chat}`
    : `${chat}; echo "chat exited: $?"; ${options.after}`;
  const command = `stty cols ${cols} rows ${rows}; echo "pty: $(tty) shell: $$"; ${run}`;
  const renderer = screenRenderer(cols, rows);
  const child = children.spawn("script", ["-qfec", command, "/dev/null"], {
    env: { TERM: "xterm", ...options.env },
    label: `chat ${args.join(" ")} (on a pty)`,
    renderStdout: renderer.render,
  });
  return {
    child,
    get terminal() {
      void child.stdout.plain; // feeds the emulator what arrived since
      return renderer.terminal;
    },
    async resize(cols: number, rows: number): Promise<void> {
      const path = (await child.stdout.waitFor(/^pty: (\S+)/m))[1]!;
      void child.stdout.plain; // render what came so far at the old size
      const stty = new Deno.Command("stty", {
        args: ["-F", path, "cols", String(cols), "rows", String(rows)],
        stdout: "null",
        stderr: "piped",
      });
      const result = await stty.output();
      if (!result.success) {
        throw new Error(`stty -F ${path}: ${new TextDecoder().decode(result.stderr)}`);
      }
      renderer.resize(cols, rows);
    },
    async chatPid(): Promise<number> {
      const shell = Number((await child.stdout.waitFor(/^pty: \S+ shell: (\d+)/m))[1]);
      if (options.after === undefined) return shell; // exec: the shell became chat
      const deadline = performance.now() + 5_000;
      while (performance.now() < deadline) {
        const ps = await new Deno.Command("ps", { args: ["-o", "pid=", "--ppid", String(shell)] })
          .output();
        const pid = new TextDecoder().decode(ps.stdout).trim().split(/\s+/)[0];
        if (pid) return Number(pid);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`no child of the shell ${shell}`);
    },
  };
}

/** True while a process with this id exists. */
export async function processExists(pid: number): Promise<boolean> {
  const ps = await new Deno.Command("ps", { args: ["-o", "pid=", "-p", String(pid)] }).output();
  return new TextDecoder().decode(ps.stdout).trim() !== "";
}

/** {@linkcode spawnChatScreen} at 80 × 20, for tests that need only the child. */
export function spawnChatInPty(
  children: Children,
  args: string[],
  env: Record<string, string> = {},
): ChildHandle {
  return spawnChatScreen(children, args, { env }).child;
}
