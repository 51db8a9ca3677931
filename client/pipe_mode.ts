/**
 * `chat join` without a terminal (pipes, scripts, bots): each stdin line is a
 * message, each event one output line, and the session leaves when stdin
 * ends, when told to stop (a signal, a closed stdout), or ends with the room.
 * Every line that was not delivered is reported, including those still
 * waiting on stdin when the session ended.
 */
import { CloseReason } from "../protocol/datagram.ts";
import { ChatRefusedError } from "./errors.ts";
import { describeClose, describeIdleWarning } from "./event_text.ts";
import { type ExitCause, exitCodeFor } from "./exit_signals.ts";
import { formatEvent, sanitize } from "./format.ts";
import { jsonLine, type PipeReport } from "./json_events.ts";
import { ChatSession, type SessionEvent, type SessionOptions } from "./session.ts";

/** A line writer that says false once its reader is gone (see `line_output.ts`). */
export interface LineWriter {
  writeLine(line: string): boolean;
}

/** Where pipe mode reads and writes. */
export interface PipeModeIo {
  /** Lines of stdin, without line ends. */
  lines: AsyncIterable<string>;
  /** Event lines. */
  out: LineWriter;
  /** Diagnostics, and reports of loss once `out` is gone. */
  err: LineWriter;
  json: boolean;
  /** Aborted (its reason an {@linkcode ExitCause}) to leave now. */
  stop?: AbortSignal;
}

/**
 * Stdin lines already written when the session ended are read for this
 * long (each line restarts the wait, up to {@linkcode DRAIN_TOTAL_MS}) so
 * they can be reported as not delivered; a writer still going after that
 * is not waited for.
 */
const DRAIN_IDLE_MS = 100;
const DRAIN_TOTAL_MS = 500;

/**
 * Runs one session to its end; resolves with the exit code: 0 when every
 * message was delivered and the session ended normally, 1 otherwise, and
 * 128 + the signal's number when a signal ended it. A refusal is reported
 * (in --json, as a "refused" object on `out`) and rethrown.
 */
export async function runPipeMode(options: SessionOptions, io: PipeModeIo): Promise<number> {
  const emit = (event: SessionEvent | PipeReport) => {
    const line = io.json ? jsonLine(event) : textLine(event);
    if (line === null) return;
    // With stdout gone, what was lost is still said, on stderr.
    if (!io.out.writeLine(line) && event.type === "undelivered") io.err.writeLine(line);
  };
  let session: ChatSession;
  try {
    session = await ChatSession.open({ ...options, signal: io.stop });
  } catch (error) {
    if (error instanceof ChatRefusedError) {
      emit({ type: "refused", code: error.status, text: error.message });
    }
    throw error;
  }
  let failed = false;
  const printing = (async () => {
    for await (const event of session) {
      failed ||= isFailure(event);
      emit(event);
    }
  })();

  const input = io.lines[Symbol.asyncIterator]();
  // A read that lost a race stays pending; the next reader takes its line.
  let pending: Promise<IteratorResult<string>> | null = null;
  const nextLine = () => (pending ??= input.next());
  const over = new Promise<null>((resolve) => {
    void session.closed.then(() => resolve(null));
    if (io.stop?.aborted) resolve(null);
    io.stop?.addEventListener("abort", () => resolve(null), { once: true });
  });
  const notSent = (text: string) => {
    failed = true;
    emit({ type: "undelivered", msgId: null, text });
  };

  let stdinEnded = false;
  while (true) {
    const result = await Promise.race([nextLine(), over]);
    if (result === null) break;
    pending = null;
    if (result.done) {
      stdinEnded = true;
      break;
    }
    if (result.value.length === 0) continue;
    try {
      session.send(result.value);
    } catch (error) {
      if (error instanceof RangeError) {
        // Too long for one datagram: say why on stderr, and report the line like any other loss.
        io.err.writeLine(`not sent: ${error.message}`);
        notSent(result.value);
      } else {
        notSent(result.value); // the session closed under us
      }
    }
  }
  if (stdinEnded) {
    // Let what is in flight be acknowledged (or given up) before leaving.
    while (session.unacknowledged > 0 && !io.stop?.aborted) {
      await Promise.race([over, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
  }
  // A stop signal was given to the session too, which leaves on it.
  await (io.stop?.aborted ? session.closed : session.leave());
  await printing;
  if (!stdinEnded) {
    for await (const line of drain(nextLine, () => (pending = null))) notSent(line);
  }
  const cause = io.stop?.aborted ? io.stop.reason as ExitCause : undefined;
  const code = failed ? 1 : 0;
  return cause === undefined ? code : exitCodeFor(cause, code);
}

/** Lines that arrive within the drain's time limits; none once stdin ends. */
async function* drain(
  nextLine: () => Promise<IteratorResult<string>>,
  taken: () => void,
): AsyncGenerator<string> {
  const deadline = Date.now() + DRAIN_TOTAL_MS;
  while (Date.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const wait = Math.min(DRAIN_IDLE_MS, deadline - Date.now());
    const result = await Promise.race([
      nextLine(),
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), wait))),
    ]);
    clearTimeout(timer);
    if (result === null || result.done) return;
    taken();
    if (result.value.length > 0) yield result.value;
  }
}

/** One line for a person, or null. */
function textLine(event: SessionEvent | PipeReport): string | null {
  switch (event.type) {
    case "refused":
      return null; // stderr already says it, once
    case "undelivered":
      return `! not delivered: ${sanitize(event.text)}`;
    case "closed":
      return `* ${describeClose(event.reason, sanitize(event.text))}`;
    case "idleWarning":
      return `* ${describeIdleWarning(event.removeInMs)}`;
    default:
      return formatEvent(event, { color: false });
  }
}

function isFailure(event: SessionEvent): boolean {
  if (event.type === "undelivered") return true;
  return event.type === "closed" && (event.reason === "lost" || event.reason === CloseReason.LOST);
}
