import assert from "node:assert/strict";
import { LineOutput } from "./line_output.ts";

Deno.test("line output: lines in order, partial writes completed", async () => {
  const written: number[] = [];
  // A pipe that takes at most 3 bytes a write.
  const output = new LineOutput({
    write: (bytes) => {
      written.push(...bytes.subarray(0, 3));
      return Promise.resolve(Math.min(3, bytes.length));
    },
  });
  assert.equal(output.writeLine("hello"), true);
  assert.equal(output.writeLine("wörld"), true);
  await output.flush();
  assert.equal(new TextDecoder().decode(new Uint8Array(written)), "hello\nwörld\n");
});

Deno.test("line output: EPIPE is reported once, and later lines are dropped without a throw", async () => {
  let writes = 0;
  const reported: unknown[] = [];
  const output = new LineOutput({
    write: (bytes) => {
      if (++writes > 1) {
        return Promise.reject(new Deno.errors.BrokenPipe("Broken pipe (os error 32)"));
      }
      return Promise.resolve(bytes.length);
    },
  });
  output.onClosed = (error) => reported.push(error);
  output.writeLine("first");
  output.writeLine("second");
  output.writeLine("third");
  await output.flush();
  assert.equal(output.closed, true);
  assert.equal(reported.length, 1);
  assert.ok(reported[0] instanceof Deno.errors.BrokenPipe);
  assert.equal(output.writeLine("fourth"), false);
  await output.flush();
  assert.equal(writes, 2, "nothing written after the failure");
});
