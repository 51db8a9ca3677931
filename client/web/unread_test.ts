import assert from "node:assert/strict";
import { UnreadCounter } from "./unread.ts";

Deno.test("unread: only others' live messages while hidden count, and showing the page clears", () => {
  const unread = new UnreadCounter();
  assert.equal(unread.message(false, false), false); // visible
  unread.setHidden(true);
  assert.equal(unread.message(true, false), false); // ours
  assert.equal(unread.message(false, true), false); // history
  assert.equal(unread.message(false, false), true);
  assert.equal(unread.message(false, false), true);
  assert.equal(unread.title("general · chat"), "(2) general · chat");
  unread.setHidden(false);
  assert.equal(unread.count, 0);
  assert.equal(unread.title("general · chat"), "general · chat");
});
