import assert from "node:assert/strict";
import { waitUntil } from "../testing/wait.ts";
import { exitCodeFor, installExitHandlers } from "./exit_signals.ts";

Deno.test("exit codes: 128 + the signal's number; the owner's code for a closed output", () => {
  assert.equal(exitCodeFor({ kind: "signal", signal: "SIGHUP" }, 0), 129);
  assert.equal(exitCodeFor({ kind: "signal", signal: "SIGINT" }, 0), 130);
  assert.equal(exitCodeFor({ kind: "signal", signal: "SIGTERM" }, 0), 143);
  assert.equal(exitCodeFor({ kind: "outputClosed" }, 0), 0);
  assert.equal(exitCodeFor({ kind: "outputClosed" }, 1), 1);
});

Deno.test("exit handlers: one leave for many requests, then exit with its code", async () => {
  const exits: number[] = [];
  let leaves = 0;
  const finishLeave = Promise.withResolvers<number>();
  const handlers = installExitHandlers({
    signals: [],
    leave: () => {
      leaves++;
      return finishLeave.promise;
    },
    exit: (code) => exits.push(code),
  });
  try {
    handlers.request({ kind: "outputClosed" });
    handlers.request({ kind: "outputClosed" });
    assert.equal(handlers.requested, true);
    assert.equal(leaves, 1);
    finishLeave.resolve(7);
    await waitUntil(() => exits.length > 0, "the exit");
    assert.deepEqual(exits, [7]);
  } finally {
    handlers.dispose();
  }
});

Deno.test("exit handlers: a second signal while leaving exits at once with its code", () => {
  const exits: number[] = [];
  const handlers = installExitHandlers({
    signals: [],
    leave: () => new Promise(() => {}), // a leave that hangs
    exit: (code) => exits.push(code),
  });
  try {
    handlers.request({ kind: "signal", signal: "SIGTERM" });
    assert.deepEqual(exits, []);
    handlers.request({ kind: "signal", signal: "SIGINT" });
    assert.deepEqual(exits, [130]);
  } finally {
    handlers.dispose();
  }
});

Deno.test("exit handlers: a leave that hangs is cut off after graceMs", async () => {
  const exits: number[] = [];
  const handlers = installExitHandlers({
    signals: [],
    leave: () => new Promise(() => {}),
    graceMs: 30,
    exit: (code) => exits.push(code),
  });
  try {
    handlers.request({ kind: "signal", signal: "SIGHUP" });
    await waitUntil(() => exits.length > 0, "the grace deadline");
    assert.deepEqual(exits, [129]);
  } finally {
    handlers.dispose();
  }
});

Deno.test("exit handlers: a real SIGHUP to this process runs the leave instead of killing it", async () => {
  const exits: number[] = [];
  const handlers = installExitHandlers({
    signals: ["SIGHUP"],
    leave: (cause) => Promise.resolve(exitCodeFor(cause, 0)),
    exit: (code) => exits.push(code),
  });
  try {
    Deno.kill(Deno.pid, "SIGHUP");
    await waitUntil(() => exits.length > 0, "the leave");
    assert.deepEqual(exits, [129]);
  } finally {
    handlers.dispose();
  }
});
