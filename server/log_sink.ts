/**
 * Log lines to a byte stream (stderr) without ever blocking the server.
 *
 * A synchronous write to a pipe whose reader has stalled blocks the whole
 * process once the kernel's pipe buffer (64 KiB on Linux) is full: no TCRP,
 * no datagrams, no timers, not even the SIGTERM handler. {@linkcode LogSink}
 * writes asynchronously instead, with at most one write in flight, and keeps
 * what waits in a bounded buffer. Lines that do not fit are dropped and
 * counted; once a write completes again, one line says how many were lost,
 * in the place where they were lost.
 *
 * @module
 */

/** Where a {@linkcode LogSink} writes: `Deno.stderr`, or a test's fake. */
export interface ByteWriter {
  /** Writes some of `bytes` (at least one) and resolves with how many. */
  write(bytes: Uint8Array): Promise<number>;
}

/** Options for {@linkcode LogSink}. */
export interface LogSinkOptions {
  writer: ByteWriter;
  /**
   * Most bytes waiting to be written, the write in flight included; lines
   * past it are dropped and counted. Default {@linkcode DEFAULT_LOG_BUFFER_BYTES}.
   */
  maxBufferedBytes?: number;
  /**
   * The line (without newline) that reports `count` lines dropped; `failure`
   * is the last write error among them, or null if the buffer was only full.
   */
  droppedLine: (count: number, failure: string | null) => string;
  /** How long to wait after a failed write (a full disk, say) before trying again. */
  retryMs?: number;
}

/**
 * 256 KiB: at the 100 to 300 bytes of a typical line, 1,000 to 2,500 lines,
 * several seconds of the busiest logging the server does (joins and refusals
 * are bounded by the request rate limits). That rides out a terminal paused
 * for scrolling or a log collector restarting, at a cost the server's 50+ MiB
 * never notices; a larger buffer would only hold more memory for a reader
 * that is not coming back.
 */
export const DEFAULT_LOG_BUFFER_BYTES = 256 * 1024;
/** The largest single write: the size of a Linux pipe buffer. */
const MAX_WRITE_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
const encoder = new TextEncoder();

/** A bounded, non-blocking line writer; see the module documentation. */
export class LogSink {
  #options: Required<LogSinkOptions>;
  #queue: Uint8Array[] = [];
  /** Bytes queued or in flight. */
  #buffered = 0;
  #writing = false;
  /** Dropped for want of room since the last report. */
  #unreported = 0;
  /** Dropped by failed writes, reported at the head of the next write. */
  #failed = 0;
  /** The last write error. */
  #failure = "";
  #dropped = 0;
  #broken = false;
  /** A write failed half way through a line: start the next one on a fresh line. */
  #partialLine = false;
  #idle = new Set<() => void>();

  /** A sink with nothing written yet. */
  constructor(options: LogSinkOptions) {
    this.#options = {
      maxBufferedBytes: DEFAULT_LOG_BUFFER_BYTES,
      retryMs: 1_000,
      ...options,
    };
  }

  /** Lines dropped so far (the buffer was full, a write failed, or the pipe is broken). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Bytes waiting to be written, the write in flight included. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Whether the reader has gone for good (EPIPE): nothing is written any more. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Queues one line (a newline is added), or drops and counts it if the buffer is full. */
  write(line: string): void {
    if (this.#broken) {
      this.#drop(1);
      return;
    }
    const bytes = encoder.encode(line + "\n");
    if (this.#buffered + bytes.length > this.#options.maxBufferedBytes) {
      this.#drop(1);
      return;
    }
    this.#reportDrops();
    this.#enqueue(bytes);
    if (!this.#writing) void this.#pump();
  }

  /**
   * Waits until everything queued is written, or `timeoutMs` has passed.
   * Resolves true if the buffer drained (or the pipe is broken and nothing
   * more can be done), false on timeout; never rejects.
   */
  flush(timeoutMs: number): Promise<boolean> {
    if (!this.#writing) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined = undefined;
      const wake = () => {
        clearTimeout(timer);
        this.#idle.delete(wake);
        resolve(true);
      };
      this.#idle.add(wake);
      timer = setTimeout(() => {
        this.#idle.delete(wake);
        resolve(false);
      }, timeoutMs);
      // Under `deno test`, setTimeout can run pending microtasks: the pump may have finished.
      if (!this.#idle.has(wake)) clearTimeout(timer);
    });
  }

  #drop(lines: number): void {
    this.#dropped += lines;
    this.#unreported += lines;
  }

  /**
   * After lines were dropped for want of room, and as soon as there is room
   * again, says how many, after the last line kept. (The report itself may
   * pass the bound by its own few bytes.)
   */
  #reportDrops(): void {
    if (this.#unreported === 0 || this.#broken) return;
    this.#enqueue(encoder.encode(this.#options.droppedLine(this.#unreported, null) + "\n"));
    this.#unreported = 0;
  }

  #enqueue(bytes: Uint8Array): void {
    this.#queue.push(bytes);
    this.#buffered += bytes.length;
  }

  async #pump(): Promise<void> {
    this.#writing = true;
    try {
      // A failed write's report goes out as soon as a write works again.
      while (this.#queue.length > 0 || this.#failed > 0) {
        const { batch, report } = this.#takeBatch();
        const failed = await this.#writeAll(batch, report);
        if (this.#broken) break;
        if (failed) {
          await new Promise((resolve) => setTimeout(resolve, this.#options.retryMs));
        }
        if (this.#buffered < this.#options.maxBufferedBytes) this.#reportDrops();
      }
    } finally {
      this.#writing = false;
      for (const wake of [...this.#idle]) wake();
    }
  }

  /**
   * Joins queued lines into one write of at most MAX_WRITE_BYTES (or one
   * longer line), after a newline if a failed write cut a line, and the
   * report of lines a failed write lost.
   */
  #takeBatch(): { batch: Uint8Array; report: FailureReport | null } {
    const parts: Uint8Array[] = [];
    let size = 0;
    const add = (bytes: Uint8Array) => {
      parts.push(bytes);
      size += bytes.length;
    };
    if (this.#partialLine) {
      add(new Uint8Array([NEWLINE]));
      this.#partialLine = false;
    }
    let report: FailureReport | null = null;
    if (this.#failed > 0) {
      const line = this.#options.droppedLine(this.#failed, this.#failure);
      add(encoder.encode(line + "\n"));
      report = { count: this.#failed, end: size };
      this.#failed = 0;
    }
    this.#buffered += size;
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (parts.length > 0 && size + next.length > MAX_WRITE_BYTES) break;
      add(next);
      this.#queue.shift();
    }
    if (parts.length === 1) return { batch: parts[0]!, report };
    const batch = new Uint8Array(size);
    let offset = 0;
    for (const part of parts) {
      batch.set(part, offset);
      offset += part.length;
    }
    return { batch, report };
  }

  /**
   * Writes the whole batch; returns true if a write failed. The lines it did
   * not finish are dropped, and reported at the head of the next write.
   */
  async #writeAll(batch: Uint8Array, report: FailureReport | null): Promise<boolean> {
    let offset = 0;
    try {
      while (offset < batch.length) {
        const n = await this.#options.writer.write(batch.subarray(offset));
        offset += n;
        this.#buffered -= n;
      }
      return false;
    } catch (error) {
      const rest = batch.subarray(offset);
      this.#buffered -= rest.length;
      let lost = countLines(rest);
      let carried = 0;
      if (report !== null && offset < report.end) {
        // The report of an earlier failure did not get out either: carry its count on.
        lost -= 1;
        carried = report.count;
      }
      this.#dropped += lost;
      this.#failed += lost + carried;
      this.#failure = error instanceof Error ? error.message : String(error);
      this.#partialLine = offset > 0 && batch[offset - 1] !== NEWLINE;
      if (isBrokenPipe(error)) {
        // The reader is gone for good: forget the rest, stop writing.
        this.#broken = true;
        for (const bytes of this.#queue) this.#drop(countLines(bytes));
        this.#queue = [];
        this.#buffered = 0;
      }
      return true;
    }
  }
}

/** The report of lines lost to a failed write, at the head of a batch: its count and end. */
interface FailureReport {
  count: number;
  end: number;
}

function isBrokenPipe(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    (error as { code?: unknown } | null)?.code === "EPIPE";
}

function countLines(bytes: Uint8Array): number {
  let lines = 0;
  for (const byte of bytes) if (byte === NEWLINE) lines++;
  return lines;
}
