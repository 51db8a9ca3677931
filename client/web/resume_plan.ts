/**
 * What a reloaded tab does with the membership it remembers
 * (page_storage.ts): join again at once when the room is still listed and
 * has no password, ask for the password again when it has one, forget it
 * when the room is gone. The remembered ticket goes only with a request for
 * that same room under that same name. Pure: no DOM.
 *
 * @module
 */
import type { RoomSummary } from "../../protocol/tcrp.ts";
import type { ResumeTicket } from "../session_options.ts";
import { type ResumeState, ticketFromHex } from "./page_storage.ts";

/** What to do after a reload. */
export type ResumePlan =
  | { action: "join" }
  | { action: "askPassword"; message: string }
  | { action: "forget"; message: string };

/** The plan for `resume`, given the room list's row for its room (undefined: not listed). */
export function resumePlan(resume: ResumeState, summary: RoomSummary | undefined): ResumePlan {
  if (summary === undefined) {
    return { action: "forget", message: `"${resume.room}" is no longer open.` };
  }
  if (summary.passwordProtected) {
    const again = resume.wasHost ? "to get your room back" : "to get back in";
    return {
      action: "askPassword",
      message: `Enter the password of "${resume.room}" again ${again}.`,
    };
  }
  return { action: "join" };
}

/** The ticket to send with a JOIN for `room` as `name`: the remembered one if it is for that. */
export function ticketFor(
  resume: ResumeState | null,
  request: { create: boolean; room: string; name: string },
): ResumeTicket | null {
  if (resume === null || resume.ticket === null || request.create) return null;
  if (resume.room !== request.room || resume.name !== request.name) return null;
  return ticketFromHex(resume.ticket);
}
