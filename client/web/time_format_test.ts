import assert from "node:assert/strict";
import { clock, dayLabel, DaySeparators, localDay } from "./time_format.ts";

Deno.test("time: clock and day in local time", () => {
  const t = new Date(2026, 11, 2, 9, 5, 30);
  assert.equal(clock(t), "09:05");
  assert.equal(localDay(t), "2026-12-02");
  assert.equal(dayLabel(t), "Wednesday 2 December 2026");
});

Deno.test("time: no separator before today's first event, one at each change of day", () => {
  const today = new Date(2026, 11, 2, 12, 0);
  const days = new DaySeparators(() => today);
  assert.equal(days.before(new Date(2026, 11, 2, 8, 0)), false);
  assert.equal(days.before(new Date(2026, 11, 2, 9, 0)), false);
  assert.equal(days.before(new Date(2026, 11, 3, 0, 1)), true);
  assert.equal(days.before(new Date(2026, 11, 3, 0, 2)), false);
});

Deno.test("time: history from an earlier day starts with its separator, then today's", () => {
  const days = new DaySeparators(() => new Date(2026, 11, 2, 12, 0));
  assert.equal(days.before(new Date(2026, 11, 1, 23, 59)), true);
  assert.equal(days.before(new Date(2026, 11, 2, 0, 0)), true);
});
