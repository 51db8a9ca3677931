/**
 * The server's leveled logger: one line per event, `<ISO time> <level> <message>`,
 * every line escaped in one place ({@linkcode escapeLogText}), written to
 * stderr without ever blocking the event loop ({@linkcode LogSink}).
 *
 * @module
 */
import { LogSink } from "./log_sink.ts";

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
  /**
   * Waits until every line so far is written, or `timeoutMs` has passed;
   * resolves true if it all went out. Loggers that write at once have none.
   */
  flush?(timeoutMs: number): Promise<boolean>;
}

// Cc (C0, DEL, C1: newline, escape, ...), Cf (bidi embeddings and overrides
// U+202A-202E and isolates U+2066-2069, zero-width U+200B-200F, U+FEFF, soft
// hyphen, tags, ...), Zl and Zp (U+2028, U+2029), and lone surrogates (Cs).
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
const SHORT_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * Makes `text` safe to put on one log line, so that nothing in it (a
 * username, a room name, an error from the network) can start a new line,
 * move the cursor or colour the terminal, or reorder what a reader sees.
 *
 * The rule: every character of the Unicode general categories Cc (control
 * characters), Cf (format characters: the bidirectional overrides, embeddings
 * and isolates U+202A-U+202E and U+2066-U+2069, zero-width characters
 * U+200B-U+200F, U+FEFF, ...), Zl and Zp (U+2028 LINE SEPARATOR, U+2029
 * PARAGRAPH SEPARATOR) and every lone surrogate (Cs) becomes a visible escape:
 * `\n`, `\r` and `\t` for those three, `\u{HEX}` for the rest (U+202E is
 * `\u{202E}`, ESC is `\u{1B}`). Everything else, backslashes included, is
 * kept as it is, so a name that contains the text `\u{202E}` reads the same
 * as one that contains the character: the escape is for people, not for
 * reversing.
 */
export function escapeLogText(text: string): string {
  return text.replace(
    UNSAFE,
    (char) => SHORT_ESCAPES[char] ?? `\\u{${char.codePointAt(0)!.toString(16).toUpperCase()}}`,
  );
}

/** One log line as the logger writes it: `<ISO time> <level padded to 5> <escaped message>`. */
export function formatLogLine(level: LogLevel, message: string, now: Date = new Date()): string {
  return `${now.toISOString()} ${level.padEnd(5)} ${escapeLogText(message)}`;
}

/**
 * A logger that writes `time level message` lines at `level` and above.
 * Without `write`, lines go to stderr through a {@linkcode LogSink}: never
 * blocking, bounded, and counting what it had to drop; call `flush` before
 * exiting. With `write` (tests), each line is handed over at once.
 */
export function createLogger(
  level: LogLevel,
  write?: (line: string) => void,
): Required<Logger> {
  const sink = write === undefined
    ? new LogSink({
      writer: Deno.stderr,
      droppedLine: (count, failure) =>
        formatLogLine(
          "warn",
          `log: ${count} ${count === 1 ? "line" : "lines"} dropped ` +
            (failure === null
              ? "while stderr was not being read"
              : `because writing to stderr failed (${failure})`),
        ),
    })
    : null;
  const emit = write ?? ((line: string) => sink!.write(line));
  const threshold = LOG_LEVELS.indexOf(level);
  const at = (lvl: LogLevel) => (message: string) => {
    if (LOG_LEVELS.indexOf(lvl) <= threshold) emit(formatLogLine(lvl, message));
  };
  return {
    error: at("error"),
    warn: at("warn"),
    info: at("info"),
    debug: at("debug"),
    flush: (timeoutMs) => sink?.flush(timeoutMs) ?? Promise.resolve(true),
  };
}
