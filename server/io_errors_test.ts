import assert from "node:assert/strict";
import { Backoff, classifyIoError, describeIoError } from "./io_errors.ts";

const withCode = (code: string) => Object.assign(new Error(code), { code });

Deno.test("classifyIoError: closed, exhausted, transient, fatal", () => {
  assert.equal(classifyIoError(new Deno.errors.BadResource("closed")), "closed");
  assert.equal(classifyIoError(new Deno.errors.Interrupted("closed")), "closed");
  for (const code of ["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]) {
    assert.equal(classifyIoError(withCode(code)), "exhausted", code);
  }
  for (const code of ["ECONNABORTED", "ECONNRESET", "ECONNREFUSED", "EHOSTUNREACH"]) {
    assert.equal(classifyIoError(withCode(code)), "transient", code);
  }
  assert.equal(classifyIoError(new Deno.errors.ConnectionReset("reset")), "transient");
  assert.equal(classifyIoError(withCode("EINVAL")), "fatal");
  assert.equal(classifyIoError(new TypeError("a bug")), "fatal");
  assert.equal(classifyIoError("a string"), "fatal");
  assert.equal(classifyIoError(null), "fatal");
});

Deno.test("Backoff: 5 ms doubling up to 1 s, back to 5 ms after a success", () => {
  const backoff = new Backoff();
  assert.equal(backoff.idle, true);
  const waits = Array.from({ length: 10 }, () => backoff.next());
  assert.deepEqual(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
  assert.equal(backoff.idle, false);
  backoff.reset();
  assert.equal(backoff.idle, true);
  assert.equal(backoff.next(), 5);
});

Deno.test("Backoff.wait returns at once when its signal aborts", async () => {
  const backoff = new Backoff(60_000, 60_000);
  const stop = new AbortController();
  const waiting = backoff.wait(stop.signal);
  stop.abort();
  await waiting; // a 60 s timer left running would fail the test's leak check
  const aborted = new AbortController();
  aborted.abort();
  await backoff.wait(aborted.signal);
});

Deno.test("describeIoError puts the code first, once", () => {
  assert.equal(describeIoError(withCode("EMFILE")), "EMFILE", "a message that is the code");
  const emfile = Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" });
  assert.equal(describeIoError(emfile), "EMFILE (Too many open files (os error 24))");
  assert.equal(describeIoError(new Error("plain")), "plain");
  assert.equal(describeIoError("text"), "text");
});
