import assert from "node:assert/strict";
import { createCommand, displayWidth, roomTable } from "./room_table.ts";

const room = (
  name: string,
  members = 1,
  capacity: number | null = null,
  locked = false,
  sealed: boolean | undefined = true,
) => ({ name, members, capacity, passwordProtected: locked, sealed });

Deno.test("rooms table: columns line up by display width with Japanese and emoji names", () => {
  const lines = roomTable([
    room("general", 3),
    room("日本語の部屋", 2, 5, true),
    room("🎉 party", 12),
    room("❤️ love", 1),
    room("👨‍👩‍👧 family", 4),
  ]);
  assert.deepEqual(lines, [
    "ROOM          MEMBERS  LOCKED  SEALED",
    "general       3        no      yes",
    "日本語の部屋  2/5      yes     yes",
    "🎉 party      12       no      yes",
    "❤ love        1        no      yes",
    "👨‍👩‍👧 family     4        no      yes",
  ]);
  // Every MEMBERS column starts at the same terminal cell.
  const membersCell = (line: string) => displayWidth(line.slice(0, line.search(/\d+(\/\d+)? {2}/)));
  assert.deepEqual(new Set(lines.slice(1).map(membersCell)), new Set([14]));
});

Deno.test("rooms table: control characters in a name are shown as U+FFFD, one cell each", () => {
  assert.deepEqual(roomTable([room("a\x1b[2Jb")]), [
    "ROOM    MEMBERS  LOCKED  SEALED",
    "a\uFFFD[2Jb  1        no      yes",
  ]);
});

Deno.test("the empty-list hint names the command the reader runs", () => {
  const base = {
    userAgent: undefined,
    mainModule: "file:///home/u/chat/main.ts",
    cwd: "/home/u/chat",
  };
  assert.equal(
    createCommand({ ...base, execPath: "/usr/bin/deno", userAgent: "deno/2.9.6 npm/? linux" }),
    "deno task join --create --room NAME",
  );
  assert.equal(
    createCommand({ ...base, execPath: "/usr/bin/deno" }),
    "deno run --allow-net --allow-env --allow-read --allow-write main.ts join --create --room NAME",
  );
  assert.equal(
    createCommand({ ...base, execPath: "/usr/bin/deno", cwd: "/tmp" }),
    "deno run --allow-net --allow-env --allow-read --allow-write /home/u/chat/main.ts join --create --room NAME",
  );
  assert.equal(
    createCommand({ ...base, execPath: "/home/u/chat/dist/chat", userAgent: "deno/2.9.6" }),
    "chat join --create --room NAME",
  );
  assert.equal(
    createCommand({ ...base, execPath: "C:\\tools\\chat.exe" }),
    "chat join --create --room NAME",
  );
});

Deno.test("rooms table: bidi and zero-width characters in a name are shown as U+FFFD", () => {
  assert.deepEqual(roomTable([room("evil\u202Etxt.exe\u200B")]), [
    "ROOM           MEMBERS  LOCKED  SEALED",
    "evil\uFFFDtxt.exe\uFFFD  1        no      yes",
  ]);
});

Deno.test("rooms table: SEALED is the room's mode, and - from a server too old to say", () => {
  assert.deepEqual(
    roomTable([
      room("a", 1, null, false, true),
      room("b", 1, null, false, false),
      { name: "c", members: 1, capacity: null, passwordProtected: false },
    ]),
    [
      "ROOM  MEMBERS  LOCKED  SEALED",
      "a     1        no      yes",
      "b     1        no      no",
      "c     1        no      -",
    ],
  );
});
