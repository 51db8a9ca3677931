import assert from "node:assert/strict";
import { type ByteWriter, LogSink, type LogSinkOptions } from "./log_sink.ts";

/** A writer whose writes wait until `release()`, then succeed; it keeps what it got. */
class GatedWriter implements ByteWriter {
  calls = 0;
  #chunks: Uint8Array[] = [];
  #waiting: (() => void)[] = [];
  #open = false;
  /** At most this many bytes per write (a partial write), if set. */
  constructor(readonly maxPerWrite = Infinity) {}

  write(bytes: Uint8Array): Promise<number> {
    this.calls++;
    const taken = bytes.slice(0, Math.min(bytes.length, this.maxPerWrite));
    const finish = () => {
      this.#chunks.push(taken);
      return taken.length;
    };
    if (this.#open) return Promise.resolve(finish());
    return new Promise((resolve) => this.#waiting.push(() => resolve(finish())));
  }

  /** Lets every waiting write, and every later one, through. */
  release(): void {
    this.#open = true;
    for (const go of this.#waiting.splice(0)) go();
  }

  get lines(): string[] {
    const text = new TextDecoder().decode(new Uint8Array(this.#chunks.flatMap((c) => [...c])));
    return text.split("\n").slice(0, -1);
  }
}

const droppedLine: LogSinkOptions["droppedLine"] = (count, failure) =>
  `dropped ${count}${failure === null ? "" : ` (${failure})`}`;

/** Lines "line 0", "line 1", ... padded to `bytes` bytes with their newline. */
function numbered(count: number, bytes = 100, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => `line ${from + i} `.padEnd(bytes - 1, "."));
}

Deno.test("LogSink: lines are written in order, one write at a time, and flush resolves true", async () => {
  const writer = new GatedWriter(7); // partial writes of 7 bytes
  writer.release();
  const sink = new LogSink({ writer, droppedLine });
  const lines = numbered(20, 30);
  for (const line of lines) sink.write(line);
  assert.equal(await sink.flush(1_000), true);
  assert.deepEqual(writer.lines, lines);
  assert.equal(sink.dropped, 0);
  assert.equal(sink.buffered, 0);
  assert.equal(await sink.flush(1_000), true, "nothing pending: at once");
});

Deno.test("LogSink: a writer that never returns costs one write; past the bound lines are dropped and counted", async () => {
  let calls = 0;
  const stuck: ByteWriter = {
    write: () => {
      calls++;
      return new Promise<number>(() => {});
    },
  };
  const sink = new LogSink({ writer: stuck, maxBufferedBytes: 10_000, droppedLine });
  for (const line of numbered(250)) sink.write(line); // 25,000 bytes
  assert.equal(calls, 1, "one write in flight, no more");
  assert.equal(sink.buffered, 10_000);
  assert.equal(sink.dropped, 150);
  const start = performance.now();
  assert.equal(await sink.flush(50), false);
  const took = performance.now() - start;
  assert.ok(took >= 45 && took < 1_000, `flush(50) took ${took} ms`);
});

Deno.test("LogSink: when the reader comes back, one line reports the dropped count where the gap is", async () => {
  const writer = new GatedWriter();
  const sink = new LogSink({ writer, maxBufferedBytes: 1_000, droppedLine });
  for (const line of numbered(15)) sink.write(line); // 10 fit, 5 dropped
  assert.equal(sink.dropped, 5);
  writer.release();
  assert.equal(await sink.flush(1_000), true);
  for (const line of numbered(2, 100, 15)) sink.write(line);
  assert.equal(await sink.flush(1_000), true);
  assert.deepEqual(writer.lines, [...numbered(10), "dropped 5", ...numbered(2, 100, 15)]);
  assert.equal(sink.dropped, 5);
});

Deno.test("LogSink: the report comes before newer lines when they arrive first", async () => {
  const writer = new GatedWriter();
  const sink = new LogSink({ writer, maxBufferedBytes: 1_000, droppedLine });
  for (const line of numbered(12)) sink.write(line); // 10 fit, 2 dropped
  writer.release();
  await Promise.resolve(); // the first batch completes; later writes go straight through
  sink.write("after");
  assert.equal(await sink.flush(1_000), true);
  assert.deepEqual(writer.lines, [...numbered(10), "dropped 2", "after"]);
});

Deno.test("LogSink: EPIPE stops writing for good and counts every line after it", async () => {
  let calls = 0;
  const gone: ByteWriter = {
    write: () => {
      calls++;
      return Promise.reject(new Deno.errors.BrokenPipe("Broken pipe (os error 32)"));
    },
  };
  const sink = new LogSink({ writer: gone, droppedLine });
  sink.write("one");
  sink.write("two");
  assert.equal(await sink.flush(1_000), true);
  assert.equal(sink.broken, true);
  assert.equal(sink.dropped, 2);
  sink.write("three");
  assert.equal(await sink.flush(1_000), true);
  assert.equal(calls, 1, "no write after the pipe broke");
  assert.equal(sink.dropped, 3);
  assert.equal(sink.buffered, 0);
});

Deno.test("LogSink: ENOSPC drops that write, retries later, then says what was lost and why", async () => {
  const writer = new GatedWriter();
  writer.release();
  let full = true;
  const disk: ByteWriter = {
    write: (bytes) => {
      if (full) {
        full = false;
        return Promise.reject(new Error("No space left on device (os error 28)"));
      }
      return writer.write(bytes);
    },
  };
  const sink = new LogSink({ writer: disk, retryMs: 20, droppedLine });
  sink.write("lost 1");
  sink.write("lost 2"); // queued behind the first write, sent after the retry
  const start = performance.now();
  assert.equal(await sink.flush(1_000), true);
  assert.ok(performance.now() - start >= 15, "waited before retrying");
  sink.write("later");
  assert.equal(await sink.flush(1_000), true);
  assert.deepEqual(writer.lines, [
    "dropped 1 (No space left on device (os error 28))",
    "lost 2",
    "later",
  ]);
  assert.equal(sink.broken, false);
});

Deno.test("LogSink: a write that fails half way through a line leaves the next line whole", async () => {
  const writer = new GatedWriter();
  writer.release();
  let call = 0;
  const flaky: ByteWriter = {
    write: (bytes) => {
      call++;
      if (call === 1) return Promise.resolve(writer.write(bytes.subarray(0, 4))); // "abcd"
      if (call === 2) return Promise.reject(new Error("Input/output error (os error 5)"));
      return writer.write(bytes);
    },
  };
  const sink = new LogSink({ writer: flaky, retryMs: 1, droppedLine });
  sink.write("abcdefgh");
  assert.equal(await sink.flush(1_000), true);
  sink.write("next");
  assert.equal(await sink.flush(1_000), true);
  assert.deepEqual(writer.lines, ["abcd", "dropped 1 (Input/output error (os error 5))", "next"]);
});

Deno.test("LogSink: when the report of a failed write fails too, the next report counts both", async () => {
  const writer = new GatedWriter();
  writer.release();
  let failures = 2;
  const flaky: ByteWriter = {
    write: (bytes) => {
      if (failures > 0) {
        failures--;
        return Promise.reject(new Error("No space left on device (os error 28)"));
      }
      return writer.write(bytes);
    },
  };
  const sink = new LogSink({ writer: flaky, retryMs: 1, droppedLine });
  sink.write("a"); // its write fails
  sink.write("b"); // "b" and "c" go after the report of "a"; that write fails too
  sink.write("c");
  assert.equal(await sink.flush(1_000), true);
  sink.write("d");
  assert.equal(await sink.flush(1_000), true);
  assert.deepEqual(writer.lines, ["dropped 3 (No space left on device (os error 28))", "d"]);
  assert.equal(sink.dropped, 3, "the lost report is not a lost line");
});
