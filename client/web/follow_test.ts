import assert from "node:assert/strict";
import { atBottom, Follow } from "./follow.ts";

Deno.test("follow: at the bottom, within the slack", () => {
  assert.equal(atBottom(552, 400, 1000), true);
  assert.equal(atBottom(500, 400, 1000), false);
  assert.equal(atBottom(0, 400, 300), true);
});

Deno.test("follow: scrolled up, arrivals count instead of scrolling; back down clears", () => {
  const follow = new Follow();
  assert.equal(follow.arrived(), true);
  follow.scrolled(false);
  assert.equal(follow.arrived(), false);
  assert.equal(follow.arrived(), false);
  assert.equal(follow.unseen, 2);
  follow.jump();
  assert.equal(follow.unseen, 0);
  assert.equal(follow.arrived(), true);
});
