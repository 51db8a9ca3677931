/**
 * A page session the test drives: events in (`events.push`), what the page
 * did out (`sent`, `left`, `nudges`), for the page's DOM tests.
 */
import { CloseReason } from "../../protocol/datagram.ts";
import { AsyncQueue } from "../async_queue.ts";
import type { SessionEvent } from "../session_options.ts";
import type { ResumeTicket } from "./client_api.ts";
import type { PageSession } from "./page_session.ts";

/** A session the test drives: events in, what the page sent out. */
export class FakeSession implements PageSession {
  readonly room: string;
  readonly username: string;
  host = "ann";
  members = ["ann"];
  resumeTicket: ResumeTicket | null = null;
  sent: string[] = [];
  left = 0;
  nudges = 0;
  events = new AsyncQueue<SessionEvent>();
  closed = Promise.resolve();

  constructor(username: string, room = "general") {
    this.username = username;
    this.room = room;
  }

  send(text: string): number {
    this.sent.push(text);
    return this.sent.length;
  }

  leave(): Promise<void> {
    this.left++;
    this.events.push({ type: "closed", reason: CloseReason.LEFT, text: "you left the room" });
    this.events.end();
    return Promise.resolve();
  }

  nudge(): void {
    this.nudges++;
  }

  [Symbol.asyncIterator](): AsyncIterator<SessionEvent> {
    return this.events[Symbol.asyncIterator]();
  }
}
