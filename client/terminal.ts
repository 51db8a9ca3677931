/**
 * The chat screen on a real terminal: the thin adapter between Deno's
 * terminal and the pure screen (`screen/`). Raw mode, one reader of stdin
 * (process.stdin, the same stream the prompts before it read, so no second
 * reader can take keys), a streaming decoder, writes looped until all is
 * written, SIGWINCH (polling on Windows), and leaving on SIGHUP, SIGTERM and
 * SIGINT without asking. After a hangup the terminal is gone (every write
 * fails with EIO), so nothing more is written; on every other way out the
 * terminal is given back: scroll region, autowrap, cursor, bracketed paste
 * and raw mode. `TERM=dumb` or a window too small for the screen gets line
 * mode (`line_mode.ts`).
 */
import process from "node:process";
import { CloseReason } from "../protocol/datagram.ts";
import { runLineMode } from "./line_mode.ts";
import { ChatView } from "./screen/chat_view.ts";
import { KeyParser } from "./screen/keys.ts";
import { ChatScreen } from "./screen/screen.ts";
import type { ChatSession } from "./session.ts";

/** Terminal options. */
export interface TerminalOptions {
  color: boolean;
  /** Ring the bell when someone mentions your name (default true). */
  bell?: boolean;
}

/** Smaller than this, the screen falls back to line mode. */
const MIN_COLS = 20;
const MIN_ROWS = 6;
/** A lone Esc counts after this long without the rest of a sequence. */
const ESCAPE_WAIT_MS = 50;

/**
 * The terminal's size; 80×24 when it says 0×0 (some ptys do), null when it
 * cannot tell at all.
 */
export function terminalSize(): { cols: number; rows: number } | null {
  try {
    const { columns, rows } = Deno.consoleSize();
    if (columns === 0 && rows === 0) return { cols: 80, rows: 24 };
    return { cols: columns, rows };
  } catch {
    return null;
  }
}

/** Whether the full screen can run: a capable terminal type and room for it. */
export function screenFits(
  term: string | undefined,
  size: { cols: number; rows: number } | null,
): boolean {
  return term !== "dumb" && size !== null && size.cols >= MIN_COLS && size.rows >= MIN_ROWS;
}

/**
 * Runs the chat screen until the session closes; resolves with the exit
 * code (0, or 1 when the connection was lost).
 */
export async function runTerminal(session: ChatSession, options: TerminalOptions): Promise<number> {
  const size = terminalSize();
  if (!screenFits(Deno.env.get("TERM"), size)) {
    return await withLeavingSignals(session, () => {}, () => runLineMode(session, options));
  }
  let hungUp = false;
  const encoder = new TextEncoder();
  const write = (text: string) => {
    if (hungUp) return;
    try {
      writeAll(encoder.encode(text));
    } catch {
      // EIO after a hangup, or a closed terminal: leave without touching it again.
      hungUp = true;
      view.leaveNow();
    }
  };
  const screen = new ChatScreen({
    write,
    cols: size!.cols,
    rows: size!.rows,
    color: options.color,
    defer: (fn) => setTimeout(fn, 0),
  });
  const view = new ChatView({
    session,
    screen,
    bell: options.bell,
    now: () => performance.now(),
    today: () => new Date(),
  });

  const parser = new KeyParser();
  const decoder = new TextDecoder();
  let escapeTimer: ReturnType<typeof setTimeout> | undefined;
  const onData = (chunk: Uint8Array | string) => {
    clearTimeout(escapeTimer);
    const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    for (const key of parser.feed(text)) view.handleKey(key);
    if (parser.hasPending) {
      escapeTimer = setTimeout(() => {
        for (const key of parser.flush()) view.handleKey(key);
      }, ESCAPE_WAIT_MS);
    }
  };
  const onHangup = () => {
    hungUp = true;
    view.leaveNow();
  };
  const onResize = () => {
    const now = terminalSize();
    if (now !== null) view.resize(now.cols, now.rows);
  };

  process.stdin.setRawMode(true);
  process.stdin.on("data", onData);
  process.stdin.on("end", onHangup);
  process.stdin.on("error", onHangup);
  process.stdin.resume();
  const stopResize = watchResize(onResize);
  screen.start();
  let code = 0;
  try {
    code = await withLeavingSignals(session, () => {
      // A signal leaves without asking; SIGHUP means the terminal is gone.
      view.leaveNow();
    }, async () => {
      for await (const event of session) {
        if (
          event.type === "closed" && (event.reason === "lost" || event.reason === CloseReason.LOST)
        ) {
          code = 1;
        }
        view.handleEvent(event);
      }
      return code;
    }, () => (hungUp = true));
  } finally {
    clearTimeout(escapeTimer);
    stopResize();
    process.stdin.off("data", onData);
    process.stdin.off("end", onHangup);
    process.stdin.off("error", onHangup);
    process.stdin.pause();
    screen.flush();
    screen.stop();
    if (!hungUp) {
      try {
        process.stdin.setRawMode(false);
      } catch { /* the terminal is gone */ }
    }
  }
  return code;
}

/** Writes all of `bytes` to stdout, however many writes it takes. */
function writeAll(bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += Deno.stdout.writeSync(bytes.subarray(offset));
}

/** Calls `onResize` on SIGWINCH, or every half second where there is none (Windows). */
function watchResize(onResize: () => void): () => void {
  if (Deno.build.os !== "windows") {
    Deno.addSignalListener("SIGWINCH", onResize);
    return () => Deno.removeSignalListener("SIGWINCH", onResize);
  }
  let last = terminalSize();
  const timer = setInterval(() => {
    const now = terminalSize();
    if (now?.cols !== last?.cols || now?.rows !== last?.rows) onResize();
    last = now;
  }, 500);
  return () => clearInterval(timer);
}

/**
 * Runs `body` with SIGHUP, SIGTERM and SIGINT (and SIGQUIT) leaving the room
 * first: `leave` is called on each, `hangup` too on SIGHUP. The session's
 * LEAVE then goes out and `body` ends when the session closes.
 */
async function withLeavingSignals(
  session: ChatSession,
  leave: () => void,
  body: () => Promise<number>,
  hangup: () => void = () => {},
): Promise<number> {
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGHUP", "SIGTERM", "SIGINT", "SIGQUIT"];
  const handlers = signals.map((signal) => {
    const handler = () => {
      if (signal === "SIGHUP") hangup();
      leave();
      void session.leave();
    };
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  try {
    return await body();
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  }
}
