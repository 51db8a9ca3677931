/**
 * `chat join` without a terminal (pipes, scripts, bots): each stdin line is a
 * message, each event one output line, and the session leaves when stdin ends.
 */
import { CloseReason } from "../protocol/datagram.ts";
import { formatEvent, formatEventJson } from "./format.ts";
import { ChatSession, type SessionEvent, type SessionOptions } from "./session.ts";

/** Where pipe mode reads and writes. */
export interface PipeModeIo {
  /** Lines of stdin, without line ends. */
  lines: AsyncIterable<string>;
  /** Writes one line of output (an event). */
  writeLine: (line: string) => void;
  /** Writes one line of diagnostics. */
  writeError: (line: string) => void;
  json: boolean;
}

/**
 * Runs one session to its end; resolves with the exit code: 0 when every
 * message was delivered and the session ended normally, 1 otherwise.
 */
export async function runPipeMode(options: SessionOptions, io: PipeModeIo): Promise<number> {
  const session = await ChatSession.open(options);
  let failed = false;
  const printing = (async () => {
    for await (const event of session) {
      failed ||= isFailure(event);
      const line = io.json ? formatEventJson(event) : formatEvent(event, { color: false });
      if (line !== null) io.writeLine(line);
    }
  })();
  const reading = (async () => {
    for await (const line of io.lines) {
      if (line.length === 0) continue;
      try {
        session.send(line);
      } catch (error) {
        if (error instanceof RangeError) {
          io.writeError(`not sent: ${error.message}`);
          failed = true;
        } else {
          break; // the session closed
        }
      }
    }
  })();
  await Promise.race([reading, session.closed]);
  // stdin ended: let what is in flight be acknowledged (or given up) before leaving.
  while (session.unacknowledged > 0) {
    await Promise.race([session.closed, new Promise((resolve) => setTimeout(resolve, 50))]);
  }
  await session.leave();
  await printing;
  return failed ? 1 : 0;
}

function isFailure(event: SessionEvent): boolean {
  if (event.type === "undelivered") return true;
  return event.type === "closed" && (event.reason === "lost" || event.reason === CloseReason.LOST);
}
