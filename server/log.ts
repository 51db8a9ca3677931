/** Log levels, most severe first. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
/** A log level name. */
export type LogLevel = typeof LOG_LEVELS[number];

/** A leveled logger; message texts and passwords never go through it. */
export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** A logger that writes `time level message` lines to stderr at `level` and above. */
export function createLogger(level: LogLevel, write = (line: string) => {
  Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
}): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const at = (lvl: LogLevel) => (message: string) => {
    if (LOG_LEVELS.indexOf(lvl) <= threshold) {
      write(`${new Date().toISOString()} ${lvl.padEnd(5)} ${message}`);
    }
  };
  return { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
}
