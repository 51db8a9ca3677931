import assert from "node:assert/strict";
import {
  BASE_DESCRIPTORS,
  descriptorsNeeded,
  openFilesLimit,
  openFilesWarning,
} from "./open_files.ts";

Deno.test("openFilesLimit reads this process's limit (Linux with --allow-ffi)", () => {
  const limit = openFilesLimit();
  if (Deno.build.os !== "linux") {
    assert.equal(limit, null);
    return;
  }
  assert.ok(limit !== null, "getrlimit through FFI");
  assert.ok(limit.soft >= 1 && limit.soft <= limit.hard, JSON.stringify(limit));
});

Deno.test("openFilesWarning: none when the limit covers --max-handshakes and the base", () => {
  assert.equal(descriptorsNeeded(256), 256 + BASE_DESCRIPTORS);
  assert.equal(openFilesWarning({ soft: 1024, hard: 4096 }, 256), null);
  assert.equal(openFilesWarning({ soft: 288, hard: 288 }, 256), null);
  assert.equal(openFilesWarning({ soft: Infinity, hard: Infinity }, 100_000), null);
});

Deno.test("openFilesWarning: the numbers and what to do, by whether the hard limit allows raising", () => {
  assert.equal(
    openFilesWarning({ soft: 256, hard: 4096 }, 256),
    "open files limit (ulimit -n) is 256, below the 288 descriptors the server can use " +
      "(--max-handshakes 256 TCRP connections, the two sockets, about 30 for Deno itself); " +
      "past it connections fail to be accepted: raise it (ulimit -n 288; the hard limit " +
      "allows 4096) or lower --max-handshakes to 224",
  );
  assert.match(
    openFilesWarning({ soft: 64, hard: 64 }, 256)!,
    /raise it \(ulimit -n 288; the hard limit, 64, must be raised first\) or lower --max-handshakes to 32$/,
  );
  // So low that no --max-handshakes fits: only raising helps.
  assert.match(openFilesWarning({ soft: 20, hard: 20 }, 8)!, /must be raised first\)$/);
});
