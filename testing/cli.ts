/**
 * Helpers for end-to-end tests of the `chat` command line: spawn it as a
 * real process (Deno.execPath() running main.ts) with piped stdio, read its
 * output incrementally until a pattern shows up, and always kill and await
 * every child, so the test sanitizers find nothing left open.
 */
import { fileURLToPath } from "node:url";
import denoJson from "../deno.json" with { type: "json" };
import { type IsolatedEnv, isolatedEnvSync } from "./isolated_env.ts";
import { sleep } from "./wait.ts";

/** The repository root (the children's working directory). */
export const REPO_ROOT: string = fileURLToPath(new URL("../", import.meta.url));
/** Absolute path of the CLI entry point. */
export const MAIN_TS: string = fileURLToPath(new URL("../main.ts", import.meta.url));

/**
 * The argv (after the executable) that runs `chat ARGS...`: read and write
 * for the server's key file and the client's pins (under the isolated HOME
 * that {@linkcode Children} gives every child).
 */
export function chatArgs(args: string[]): string[] {
  return ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", MAIN_TS, ...args];
}

/** `chat serve` flags for loopback and any free ports, without the HTTP front (its default port is fixed). */
export const LOOPBACK_ANY_PORTS: readonly string[] = [
  "--host",
  "127.0.0.1",
  "--port",
  "0",
  "--udp-port",
  "0",
  "--http-port",
  "0",
];

/** Removes ANSI escape sequences (CSI, OSC, two-byte ESC) and carriage returns. */
export function stripAnsi(text: string): string {
  return text
    // deno-lint-ignore no-control-regex
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, "")
    // deno-lint-ignore no-control-regex
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, "")
    // deno-lint-ignore no-control-regex
    .replace(/\x1b[@-Z\\-_]/g, "")
    .replace(/\r/g, "");
}

/**
 * stripAnsi, and without the "Download <url>" notices `deno run` prints when
 * it fetches npm metadata into an empty cache: those are Deno's, not chat's.
 */
export function withoutDenoDownloads(text: string): string {
  return stripAnsi(text).replace(/^Download https:\/\/\S+\n/gm, "");
}

/**
 * The environment of a plain shell, as a person running the README's
 * commands has it: PATH, HOME, the Deno cache and CA store settings if set, a
 * colour terminal type and a UTF-8 locale. No NO_COLOR, no CI, nothing else
 * from the test run.
 */
export function plainEnv(): Record<string, string> {
  const env: Record<string, string> = { TERM: "xterm-256color", LANG: "C.UTF-8" };
  for (const name of ["PATH", "HOME", "DENO_DIR", "DENO_TLS_CA_STORE"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * The argv after `deno` of a deno.json task: `taskArgs("serve")` is
 * `["run", "--allow-net", "--allow-env=CHAT_*,HOME,XDG_DATA_HOME", "--allow-ffi", ...]`,
 * so a test can run the task's exact command as one process (no `deno task`
 * in between, whose own process a signal would have to pass through).
 */
export function taskArgs(name: string): string[] {
  const command = (denoJson.tasks as Record<string, string>)[name];
  if (command === undefined) throw new Error(`deno.json has no task ${name}`);
  const [deno, ...args] = command.split(/\s+/);
  if (deno !== "deno" || args.some((arg) => /["'&|;<>$]/.test(arg))) {
    throw new Error(`task ${name} is not a plain deno command: ${command}`);
  }
  return args;
}

/** Without the "Task NAME COMMAND" line `deno task` prints on stderr first. */
export function withoutTaskLine(text: string): string {
  return withoutDenoDownloads(text).replace(/^Task \S+ .*\n/, "");
}

/**
 * Collects everything a child writes to one stream, in the background, and
 * lets a test wait until the text so far matches a pattern.
 */
export class OutputCollector {
  #text = "";
  #ended = false;
  #waiters = new Set<() => void>();
  #paused: PromiseWithResolvers<void> | null = null;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Resolves once the stream has ended (or was cancelled). */
  readonly done: Promise<void>;

  /**
   * Starts reading `stream` right away. `render` turns the raw text into what
   * `plain` shows (default: stripAnsi).
   */
  constructor(
    readonly label: string,
    stream: ReadableStream<Uint8Array>,
    readonly render: (raw: string) => string = stripAnsi,
  ) {
    this.#reader = stream.getReader();
    this.done = this.#pump();
  }

  async #pump(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      while (true) {
        if (this.#paused !== null) await this.#paused.promise;
        const { value, done } = await this.#reader.read();
        if (done) break;
        this.#text += decoder.decode(value, { stream: true });
        this.#notify();
      }
    } catch {
      // cancelled, or the pipe broke: what was read so far is kept
    } finally {
      this.#text += decoder.decode();
      this.#ended = true;
      this.#reader.releaseLock();
      this.#notify();
    }
  }

  #notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /** Everything read so far. */
  get text(): string {
    return this.#text;
  }

  /** Everything read so far, rendered (by default: without ANSI escapes or carriage returns). */
  get plain(): string {
    return this.render(this.#text);
  }

  /** Complete lines read so far (ANSI stripped). */
  get lines(): string[] {
    const lines = this.plain.split("\n");
    lines.pop(); // an unfinished last line, or "" after the final newline
    return lines;
  }

  /**
   * Waits until the output (`plain`) matches `pattern` (a string is matched
   * literally); returns the match. Rejects after `timeoutMs`, or when the
   * stream ends without a match, quoting the output.
   */
  waitFor(pattern: RegExp | string, timeoutMs = 5_000): Promise<RegExpMatchArray> {
    const regex = typeof pattern === "string"
      ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      : pattern;
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined = undefined;
      const finish = (error: Error | null, match?: RegExpMatchArray) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (error) reject(error);
        else resolve(match!);
      };
      const check = () => {
        const match = this.plain.match(regex);
        if (match !== null) return finish(null, match);
        if (this.#ended) {
          finish(new Error(`${this.label} ended without ${regex}; it wrote:\n${this.plain}`));
        }
      };
      timer = setTimeout(() => {
        finish(
          new Error(`${this.label}: no ${regex} within ${timeoutMs} ms; it wrote:\n${this.plain}`),
        );
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  /**
   * Stops reading after the read in flight (at most one more chunk), so the
   * pipe fills and the child's writes stall, as with a reader that hangs.
   */
  pause(): void {
    this.#paused ??= Promise.withResolvers();
  }

  /** Reads again after {@linkcode pause}. */
  resume(): void {
    this.#paused?.resolve();
    this.#paused = null;
  }

  /** Stops reading (used when a child is gone but something still holds the pipe). */
  async cancel(): Promise<void> {
    this.resume();
    try {
      await this.#reader.cancel();
    } catch {
      // already released
    }
  }
}

/** Options for spawning a child. */
export interface SpawnOptions {
  /** Extra environment variables (NO_COLOR=1 is always set). */
  env?: Record<string, string>;
  /** A label for failure messages. */
  label?: string;
  /**
   * Only `env`: nothing inherited from the test run, not even NO_COLOR (see
   * {@linkcode plainEnv}).
   */
  clearEnv?: boolean;
  /** How stdout is turned into `stdout.plain` (default: stripAnsi). */
  renderStdout?: (raw: string) => string;
}

/** One running child process with piped stdin, stdout and stderr. */
export class ChildHandle {
  readonly child: Deno.ChildProcess;
  readonly stdout: OutputCollector;
  readonly stderr: OutputCollector;
  readonly label: string;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdinClosed = false;
  #exitCode: number | null = null;
  #signal: Deno.Signal | null = null;
  /** Resolves with the exit status once the child is gone. */
  readonly status: Promise<Deno.CommandStatus>;

  /** Spawns `command args...` in the repository root. */
  constructor(command: string, args: string[], options: SpawnOptions = {}) {
    this.label = options.label ?? args.join(" ");
    this.child = new Deno.Command(command, {
      args,
      cwd: REPO_ROOT,
      env: options.clearEnv ? options.env : { NO_COLOR: "1", ...options.env },
      clearEnv: options.clearEnv ?? false,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.child.stdin.getWriter();
    this.stdout = new OutputCollector(
      `${this.label} (stdout)`,
      this.child.stdout,
      options.renderStdout,
    );
    this.stderr = new OutputCollector(
      `${this.label} (stderr)`,
      this.child.stderr,
      withoutDenoDownloads,
    );
    this.status = this.child.status.then((status) => {
      this.#exitCode = status.code;
      this.#signal = status.signal;
      return status;
    });
  }

  /** The exit code, or null while it runs. */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** Writes text to the child's stdin. */
  async write(text: string): Promise<void> {
    if (this.#stdinClosed) throw new Error(`${this.label}: stdin is already closed`);
    await this.#stdin.write(new TextEncoder().encode(text));
  }

  /** Writes text one character at a time, `delayMs` apart, as a person types. */
  async type(text: string, delayMs = 15): Promise<void> {
    for (const char of text) {
      await this.write(char);
      await sleep(delayMs);
    }
  }

  /** Closes the child's stdin (end of input). Safe to call twice. */
  async closeStdin(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    try {
      await this.#stdin.close();
    } catch {
      // the child is gone and the pipe is broken; the resource is closed anyway
    }
  }

  /** Sends a signal if the child still runs. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#exitCode !== null) return;
    try {
      this.child.kill(signal);
    } catch {
      // it exited in the meantime
    }
  }

  /**
   * Waits for the child to exit and returns its code; rejects after
   * `timeoutMs` (the child keeps running: dispose() ends it).
   */
  async exited(timeoutMs = 5_000): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined = undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new Error(
            `${this.label} did not exit within ${timeoutMs} ms\n--- stdout:\n${this.stdout.plain}` +
              `\n--- stderr:\n${this.stderr.plain}`,
          ),
        );
      }, timeoutMs);
    });
    try {
      const status = await Promise.race([this.status, timeout]);
      return status.code;
    } finally {
      clearTimeout(timer);
    }
  }

  async #exitWithin(ms: number): Promise<void> {
    if (this.#exitCode !== null) return;
    let timer: ReturnType<typeof setTimeout> | undefined = undefined;
    await Promise.race([
      this.status,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    clearTimeout(timer);
  }

  /** A description of how it ended, for assertion messages. */
  describe(): string {
    return `${this.label}: exit ${this.#exitCode} signal ${this.#signal}\n--- stdout:\n` +
      `${this.stdout.plain}\n--- stderr:\n${this.stderr.plain}`;
  }

  /**
   * Ends the child whatever state it is in: closes stdin, SIGKILLs it if it
   * still runs, awaits its exit and the end of both output streams.
   */
  async dispose(): Promise<void> {
    this.stdout.resume();
    this.stderr.resume();
    await this.closeStdin().catch(() => {});
    // Let a child that is already leaving finish on its own; then ask it to
    // stop (`script` passes SIGTERM on to the program in its terminal); then
    // force it.
    await this.#exitWithin(50);
    this.kill("SIGTERM");
    await this.#exitWithin(1_000);
    this.kill("SIGKILL");
    await this.status;
    // Both pipes close with the child; a grandchild holding one must not hang the test.
    const drained = Promise.all([this.stdout.done, this.stderr.done]);
    let timer: ReturnType<typeof setTimeout> | undefined = undefined;
    const late = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 2_000))),
    ]);
    clearTimeout(timer);
    if (late) {
      await Promise.all([this.stdout.cancel(), this.stderr.cancel()]);
      await drained;
    }
  }
}

/** A running `chat serve` child, its TCRP and UDP ports and "127.0.0.1:PORT". */
export interface ServerProcess {
  process: ChildHandle;
  port: number;
  /** The chat datagram port it bound. */
  udpPort: number;
  address: string;
}

/**
 * Every child a test starts. `dispose()` (call it in `finally`) ends and
 * awaits all of them, even when the test failed half way.
 */
export class Children {
  #all: ChildHandle[] = [];
  #home: IsolatedEnv | null = null;
  #homeRefused = false;

  /**
   * The temporary HOME, XDG_CONFIG_HOME and XDG_DATA_HOME every child of
   * this set shares (made at the first use, removed by dispose): the servers'
   * keys and the clients' pins of one test, never the real ones. Null in a
   * process that may not make a temporary directory (a tool run with
   * --allow-write=docs): its children then keep the caller's HOME.
   */
  get home(): IsolatedEnv | null {
    if (this.#home === null && !this.#homeRefused) {
      try {
        this.#home = isolatedEnvSync();
      } catch (error) {
        if (!(error instanceof Error && error.name === "NotCapable")) throw error;
        this.#homeRefused = true;
      }
    }
    return this.#home;
  }

  /** Spawns `chat ARGS...` through Deno.execPath(). */
  chat(args: string[], options: SpawnOptions = {}): ChildHandle {
    return this.spawn(Deno.execPath(), chatArgs(args), {
      label: `chat ${args.join(" ")}`,
      ...options,
    });
  }

  /** Spawns any command (in the repository root, NO_COLOR=1). */
  spawn(command: string, args: string[], options: SpawnOptions = {}): ChildHandle {
    const env = { ...this.home?.env, ...options.env };
    const handle = new ChildHandle(command, args, { ...options, env });
    this.#all.push(handle);
    return handle;
  }

  /**
   * Runs `chat ARGS...` to its end with `input` on stdin; rejects if it takes
   * longer than `timeoutMs`.
   */
  async run(
    args: string[],
    input = "",
    timeoutMs = 8_000,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const handle = this.chat(args);
    if (input.length > 0) await handle.write(input);
    await handle.closeStdin();
    const code = await handle.exited(timeoutMs);
    await Promise.all([handle.stdout.done, handle.stderr.done]);
    return { code, stdout: handle.stdout.plain, stderr: handle.stderr.plain };
  }

  /**
   * Starts `chat serve` on 127.0.0.1 with free ports (and `options.env`, say)
   * and waits for its listening line; returns the process, its TCRP port and "127.0.0.1:PORT".
   */
  async server(
    extraArgs: string[] = [],
    timeoutMs = 8_000,
    options: SpawnOptions = {},
  ): Promise<ServerProcess> {
    const process = this.chat(["serve", ...LOOPBACK_ANY_PORTS, ...extraArgs], options);
    return await waitForListening(process, timeoutMs);
  }

  /**
   * Spawns `deno task NAME ARGS...` in a plain environment ({@linkcode plainEnv}
   * and `options.env`), as the README runs it. `deno task` passes SIGINT and
   * SIGTERM on to the command it starts.
   */
  task(name: string, args: string[] = [], options: SpawnOptions = {}): ChildHandle {
    return this.spawn(Deno.execPath(), ["task", name, ...args], {
      label: `deno task ${name} ${args.join(" ")}`,
      ...options,
      clearEnv: true,
      env: { ...plainEnv(), ...this.home?.env, ...options.env },
    });
  }

  /**
   * Spawns the command of deno.json's task NAME directly ({@linkcode taskArgs}:
   * the same permissions) with ARGS, in a plain environment: one process, so
   * its stdio and signals are the server's own.
   */
  likeTask(name: string, args: string[] = [], options: SpawnOptions = {}): ChildHandle {
    return this.spawn(Deno.execPath(), [...taskArgs(name), ...args], {
      label: `(task ${name}) ${args.join(" ")}`,
      ...options,
      clearEnv: true,
      env: { ...plainEnv(), ...this.home?.env, ...options.env },
    });
  }

  /**
   * Runs `deno task NAME ARGS...` ({@linkcode task}) to its end with stdin
   * closed; stderr comes without the "Task ..." line. Rejects after `timeoutMs`.
   */
  async runTask(
    name: string,
    args: string[] = [],
    options: SpawnOptions & { timeoutMs?: number } = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const handle = this.task(name, args, options);
    await handle.closeStdin();
    const code = await handle.exited(options.timeoutMs ?? 15_000);
    await Promise.all([handle.stdout.done, handle.stderr.done]);
    return { code, stdout: handle.stdout.plain, stderr: withoutTaskLine(handle.stderr.plain) };
  }

  /** Ends and awaits every child (in parallel). Never throws. */
  async dispose(): Promise<void> {
    const all = this.#all;
    this.#all = [];
    await Promise.all(all.map((child) => child.dispose().catch(() => {})));
    const home = this.#home;
    this.#home = null;
    await home?.dispose();
  }
}

/**
 * Runs `body` with a fresh {@linkcode Children}, then ends every child it
 * started, whether the body passed or threw.
 */
export async function withChildren(body: (kids: Children) => Promise<void>): Promise<void> {
  const kids = new Children();
  try {
    await body(kids);
  } finally {
    await kids.dispose();
  }
}

/** A `chat serve` listening line: its TCP host and port, and its UDP port. */
const LISTENING = /chat server listening: TCRP on tcp (\S+):(\d+), chat datagrams on udp \S+:(\d+)/;

/**
 * Waits for a `chat serve` child's listening line (however it was started:
 * {@linkcode Children.server}, a task, another environment) and returns its ports.
 */
export async function waitForListening(
  process: ChildHandle,
  timeoutMs = 8_000,
): Promise<ServerProcess> {
  const match = await process.stderr.waitFor(LISTENING, timeoutMs);
  const port = Number(match[2]);
  return { process, port, udpPort: Number(match[3]), address: `127.0.0.1:${port}` };
}

/**
 * Runs `body` with a fresh `chat serve` on loopback, then ends every child it
 * started, whether the body passed or threw.
 */
export async function withServer(
  body: (kids: Children, server: ServerProcess) => Promise<void>,
): Promise<void> {
  const kids = new Children();
  try {
    await body(kids, await kids.server());
  } finally {
    await kids.dispose();
  }
}

/**
 * Without the one line a `chat join` or `chat rooms` writes to stderr when it
 * first meets a server and pins its key: children of one test share their
 * pins, so whichever runs first says it, and tests that want a quiet stderr
 * otherwise say so with this.
 */
export function withoutFirstContact(text: string): string {
  return text.replace(
    /^chat: first contact with \S+: trusting its key SHA256:\S+ from now on \(pinned in .*\)\n/m,
    "",
  );
}
