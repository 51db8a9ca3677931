/**
 * A home of its own for a test: temporary HOME, XDG_CONFIG_HOME and
 * XDG_DATA_HOME directories, so a process a test starts (or the test itself)
 * never reads or writes the real pins (~/.config/chat/known_servers.json) or
 * the real server key (~/.local/share/chat/server_key). Pass `env` to a
 * spawned child; `dispose()` removes everything.
 *
 * @example
 * ```ts
 * await using home = await isolatedEnv();
 * kids.chat(["serve", ...LOOPBACK_ANY_PORTS], { env: home.env });
 * ```
 */
import { join } from "node:path";
import process from "node:process";

/**
 * Deno's own cache directory as this process sees it, for a child whose HOME
 * is elsewhere: without it the child would look for (and download) every
 * npm package again under the temporary HOME.
 */
function denoDir(): string {
  const set = Deno.env.get("DENO_DIR");
  if (set) return set;
  const home = Deno.env.get("HOME") ?? "";
  if (process.platform === "darwin") return join(home, "Library", "Caches", "deno");
  return join(Deno.env.get("XDG_CACHE_HOME") || join(home, ".cache"), "deno");
}

/** The temporary directories of one test and the variables that point at them. */
export interface IsolatedEnv extends AsyncDisposable {
  /**
   * HOME, XDG_CONFIG_HOME and XDG_DATA_HOME for a child's environment, and
   * DENO_DIR (Deno's cache, which otherwise follows HOME).
   */
  readonly env: Record<"HOME" | "XDG_CONFIG_HOME" | "XDG_DATA_HOME" | "DENO_DIR", string>;
  /** The directory all three are in. */
  readonly root: string;
  readonly home: string;
  readonly configHome: string;
  readonly dataHome: string;
  /** Where a client run with `env` keeps its pins. */
  readonly pinsFile: string;
  /** Where a server run with `env` keeps its key by default. */
  readonly keyFile: string;
  /** The variables' value for `name`, as Deno.env.get would give it to a child. */
  get(name: string): string | undefined;
  /** Removes the directories. Safe to call twice. */
  dispose(): Promise<void>;
}

/** Makes fresh, empty HOME, XDG_CONFIG_HOME and XDG_DATA_HOME directories. */
export function isolatedEnv(): Promise<IsolatedEnv> {
  return Promise.resolve(isolatedEnvSync());
}

/** {@linkcode isolatedEnv}, for a constructor. */
export function isolatedEnvSync(): IsolatedEnv {
  const root = Deno.makeTempDirSync({ prefix: "chat-test-env-" });
  const home = join(root, "home");
  const configHome = join(root, "config");
  const dataHome = join(root, "data");
  for (const dir of [home, configHome, dataHome]) Deno.mkdirSync(dir, { mode: 0o700 });
  const env = {
    HOME: home,
    XDG_CONFIG_HOME: configHome,
    XDG_DATA_HOME: dataHome,
    DENO_DIR: denoDir(),
  };
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    await Deno.remove(root, { recursive: true }).catch(() => {});
  };
  return {
    env,
    root,
    home,
    configHome,
    dataHome,
    pinsFile: join(configHome, "chat", "known_servers.json"),
    keyFile: join(dataHome, "chat", "server_key"),
    get: (name) => (env as Record<string, string>)[name],
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}
