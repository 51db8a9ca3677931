import assert from "node:assert/strict";
import { MAX_TEXT_BYTES, measureStateSize, type StateSize } from "./state_size.ts";

const HISTORY = 1_024;

Deno.test("measureStateSize: with a forced GC, figures in their expected ranges", async () => {
  // `deno test` cannot force a GC, so the script runs in its own process with --expose-gc.
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      "state_size.ts",
      "--members",
      "500",
      "--rooms",
      "10",
      "--json",
    ],
    cwd: new URL(".", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(success, new TextDecoder().decode(stderr));
  const size: StateSize = JSON.parse(new TextDecoder().decode(stdout));
  assert.equal(size.gcForced, true);
  // Generous bounds: they catch a broken measurement (garbage counted, nothing counted), not a
  // few bytes more or less from a V8 upgrade.
  assert.ok(size.memberBytes > 100 && size.memberBytes < 10_000, `member ${size.memberBytes}`);
  assert.ok(size.emptyRoomBytes > 0 && size.emptyRoomBytes < 50_000, `room ${size.emptyRoomBytes}`);
  assert.ok(size.msgIdMemoryBytes > 4 * HISTORY, `msgId memory ${size.msgIdMemoryBytes}`);
  // An event holds at least its text, a Latin-1 string one byte a character.
  assert.ok(size.shortWindowBytes > 20 * HISTORY, `short window ${size.shortWindowBytes}`);
  assert.ok(size.shortWindowBytes < 1_000 * HISTORY, `short window ${size.shortWindowBytes}`);
  // The text budget keeps fewer of the longest events: an ASCII text costs one byte a
  // character on the heap, where the budget counts two.
  const kept = size.maxWindowEvents;
  assert.ok(kept > 1 && kept < HISTORY, `kept ${kept}`);
  assert.ok(size.maxWindowBytes > MAX_TEXT_BYTES * kept, `max window ${size.maxWindowBytes}`);
  assert.ok(size.maxWindowBytes < (MAX_TEXT_BYTES + 1_000) * kept + 200 * HISTORY);
  assert.ok(size.maxWindowTwoByteBytes < size.historyBytes + 200 * HISTORY);
  // The same UTF-8 size held in a two-byte string costs about twice as much.
  assert.ok(size.maxWindowTwoByteBytes > 1.7 * size.maxWindowBytes);
  assert.ok(size.worstCase.busyMembersBytes > size.worstCase.idleMembersBytes);
  assert.ok(size.worstCase.boundBytes > size.worstCase.twoByteBytes);
});

Deno.test("measureStateSize: runs without a forced GC, and says so", () => {
  const size = measureStateSize({ members: 10, rooms: 1 });
  assert.equal(size.gcForced, false);
  assert.equal(size.counts.members, 10);
  assert.ok(Number.isFinite(size.worstCase.twoByteBytes));
});
