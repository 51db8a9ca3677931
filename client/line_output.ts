/**
 * Lines out to stdout or stderr that survive the reader going away. A
 * closed pipe (`chat join --json | head -1`) makes a write fail with EPIPE;
 * through `node:process` streams that failure surfaces as an uncaught error
 * with a stack trace. Here it is noticed once, reported to the owner (who
 * leaves the room), and every later line is dropped quietly.
 */

/** Where bytes go: `Deno.stdout`, `Deno.stderr`, or a test's fake. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<number>;
}

/** Writes lines in order, one write chain at a time, until the sink fails. */
export class LineOutput {
  #sink: ByteSink;
  #encoder = new TextEncoder();
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  #onClosed: ((error: unknown) => void) | null = null;

  /** Lines to `sink`, in order. */
  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  /** True once a write failed (the reader went away): later lines are dropped. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Called once, with the error, the first time a write fails. */
  set onClosed(callback: (error: unknown) => void) {
    this.#onClosed = callback;
  }

  /**
   * Queues one line (a newline is added); false when the output is already
   * known to be gone, so the caller can say it elsewhere.
   */
  writeLine(line: string): boolean {
    if (this.#closed) return false;
    const bytes = this.#encoder.encode(line + "\n");
    this.#chain = this.#chain.then(() => this.#writeAll(bytes));
    return true;
  }

  /** Resolves once every queued line is written (or dropped because the output closed). */
  flush(): Promise<void> {
    return this.#chain;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return;
    try {
      // A pipe may take part of a write; the rest follows.
      for (let written = 0; written < bytes.length;) {
        written += await this.#sink.write(bytes.subarray(written));
      }
    } catch (error) {
      // EPIPE when the reader closed, EIO after a hangup, EBADF when it was
      // never open: in every case nobody will read what follows.
      this.#closed = true;
      this.#onClosed?.(error);
    }
  }
}
