/**
 * Tests' own HOME, XDG_CONFIG_HOME and XDG_DATA_HOME (see
 * testing/isolated_env.ts, which the process helpers in testing/cli.ts use
 * for every child they start): no test reads or writes the real pins or the
 * real server key.
 *
 * @module
 */
export {
  denoDir,
  type IsolatedEnv,
  isolatedEnv,
  isolatedEnvSync,
} from "../testing/isolated_env.ts";
