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

/** The temporary directories of one test and the variables that point at them. */
export interface IsolatedEnv extends AsyncDisposable {
  /** HOME, XDG_CONFIG_HOME and XDG_DATA_HOME for a child's environment. */
  readonly env: Record<"HOME" | "XDG_CONFIG_HOME" | "XDG_DATA_HOME", string>;
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
export async function isolatedEnv(): Promise<IsolatedEnv> {
  const root = await Deno.makeTempDir({ prefix: "chat-test-env-" });
  const home = join(root, "home");
  const configHome = join(root, "config");
  const dataHome = join(root, "data");
  for (const dir of [home, configHome, dataHome]) await Deno.mkdir(dir, { mode: 0o700 });
  const env = { HOME: home, XDG_CONFIG_HOME: configHome, XDG_DATA_HOME: dataHome };
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
