import assert from "node:assert/strict";
import type { ResumeState } from "./page_storage.ts";
import { resumePlan, ticketFor } from "./resume_plan.ts";

const ticket = { session: "0011223344556677", proof: "cd".repeat(32) };
const state: ResumeState = { room: "general", name: "ann", ticket, wasHost: true };
const row = (passwordProtected: boolean) => ({
  name: "general",
  members: 2,
  capacity: null,
  passwordProtected,
  sealed: true,
});

Deno.test("resume plan: an open room is joined again at once; a locked one asks for its password", () => {
  assert.deepEqual(resumePlan(state, row(false)), { action: "join" });
  assert.deepEqual(resumePlan(state, row(true)), {
    action: "askPassword",
    message: 'Enter the password of "general" again to get your room back.',
  });
  assert.deepEqual(resumePlan({ ...state, wasHost: false }, row(true)), {
    action: "askPassword",
    message: 'Enter the password of "general" again to get back in.',
  });
});

Deno.test("resume plan: a room no longer listed is forgotten", () => {
  assert.deepEqual(resumePlan(state, undefined), {
    action: "forget",
    message: '"general" is no longer open.',
  });
});

Deno.test("resume plan: the ticket goes only with a join of the same room under the same name", () => {
  const same = ticketFor(state, { create: false, room: "general", name: "ann" });
  assert.equal(same?.sessionId.length, 8);
  assert.equal(same?.proof.length, 32);
  assert.equal(ticketFor(state, { create: true, room: "general", name: "ann" }), null);
  assert.equal(ticketFor(state, { create: false, room: "other", name: "ann" }), null);
  assert.equal(ticketFor(state, { create: false, room: "general", name: "bob" }), null);
  assert.equal(
    ticketFor({ ...state, ticket: null }, { create: false, room: "general", name: "ann" }),
    null,
  );
  assert.equal(ticketFor(null, { create: false, room: "general", name: "ann" }), null);
});
