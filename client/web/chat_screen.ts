/// <reference lib="dom" />
/**
 * The chat screen for one session: its events into the log, the member
 * list, the banners and the title (with the unread count while hidden);
 * the composer's messages out, with their states; the invite link; leaving
 * (a host is asked first, and warned before unloading the page, since that
 * closes the room once the grace period is over).
 *
 * @module
 */
import { displayText } from "../../protocol/display_text.ts";
import { describeHostChange, describeIdleWarning } from "../event_text.ts";
import type { Banners } from "./banners.ts";
import { messageByteLimit } from "./compose_rules.ts";
import { Composer } from "./composer.ts";
import type { ConfirmBar } from "./confirm_bar.ts";
import { byId } from "./dom.ts";
import { inviteLink, roomFragment } from "./invite.ts";
import { LogView } from "./log_view.ts";
import { renderMembers } from "./member_list.ts";
import type { PageSession } from "./page_session.ts";
import type { SessionEvent } from "./client_api.ts";
import { UnreadCounter } from "./unread.ts";

/** How a session ended, from its closed event. */
export type SessionEnd = Extract<SessionEvent, { type: "closed" }>;

/** What the chat screen is given. */
export interface ChatScreenOptions {
  banners: Banners;
  confirm: ConfirmBar;
  /** The session's membership changed (welcome, reconnect): remember it for a reload. */
  remember: (session: PageSession) => void;
  /** The person asked to leave (already confirmed). */
  leaving: () => void;
  /** Leave pressed once the session is over: back to the join screen. */
  back: () => void;
}

/** The chat screen; see the module comment. */
export class ChatScreen {
  #o: ChatScreenOptions;
  #screen = byId("chat-screen", HTMLElement);
  #members = byId("members", HTMLUListElement);
  #count = byId("room-count", HTMLElement);
  #input = byId("composer", HTMLTextAreaElement);
  #log = new LogView(
    byId("log", HTMLElement),
    byId("new-messages", HTMLButtonElement),
    () => new Date(),
  );
  #unread = new UnreadCounter();
  #composer: Composer;
  #session: PageSession | null = null;
  #live = false;

  constructor(options: ChatScreenOptions) {
    this.#o = options;
    this.#composer = new Composer({
      form: byId("composer-form", HTMLFormElement),
      input: this.#input,
      counter: byId("counter", HTMLElement),
      limit: () =>
        this.#session === null ? 0 : messageByteLimit(this.#session.room, this.#session.username),
      send: (text) => this.#send(text),
      confirm: (question, yes, no) => options.confirm.ask(question, yes, no, this.#input),
    });
    byId("invite", HTMLButtonElement).addEventListener("click", () => void this.#copyInvite());
    byId("leave", HTMLButtonElement).addEventListener("click", () => this.#requestLeave());
    document.addEventListener("visibilitychange", () => {
      this.#unread.setHidden(document.visibilityState === "hidden");
      this.#title();
    });
    globalThis.addEventListener("beforeunload", (event) => {
      if (!this.#isHost()) return;
      // Leaving (or a reload that does not come back in time) closes the room for everyone.
      event.preventDefault();
      event.returnValue = "";
    });
  }

  /** Shows `session`'s room and follows its events until it closes; resolves with how it ended. */
  async run(session: PageSession): Promise<SessionEnd> {
    this.#session = session;
    this.#log.reset(session.username);
    byId("room-name", HTMLElement).textContent = displayText(session.room);
    history.replaceState(null, "", roomFragment(session.room));
    this.#screen.hidden = false;
    this.#setLive(true);
    this.#drawMembers();
    this.#title();
    this.#composer.update();
    this.#composer.focus();
    let end: SessionEnd = { type: "closed", reason: "lost", text: "the session ended" };
    for await (const event of session) {
      if (event.type === "closed") end = event;
      else this.#handle(session, event);
    }
    this.#setLive(false);
    this.#o.banners.hide("reconnecting");
    // The room is gone for us: no members to show, nothing to send.
    this.#members.replaceChildren();
    this.#count.textContent = "not in the room";
    return end;
  }

  /** Hides the screen (back to the join screen). */
  hide(): void {
    this.#screen.hidden = true;
    this.#session = null;
    document.title = "chat";
  }

  /** A notice in the log (the end of a session, said by the caller). */
  note(text: string, tone: "info" | "warning" | "error" = "info"): void {
    this.#log.note(text, tone);
  }

  #handle(session: PageSession, event: Exclude<SessionEvent, SessionEnd>): void {
    switch (event.type) {
      case "welcome": {
        const where = `"${displayText(event.room)}" (host ${displayText(event.host)})`;
        this.#log.note(event.rejoined ? `Back in ${where}.` : `You are in ${where}.`);
        if (event.previousHost !== undefined) {
          this.#log.note(describeHostChange(event.previousHost, event.host), "warning");
        }
        this.#o.banners.hide("reconnecting");
        this.#o.remember(session);
        break;
      }
      case "message":
      case "joined":
      case "left":
      case "timedOut":
        if (this.#log.event(event) && event.type === "message") {
          this.#unread.message(event.name === session.username, event.replay);
        }
        break;
      case "delivered":
        this.#log.delivered(event.msgId, event.seq);
        break;
      case "undelivered":
        this.#log.undelivered(event.msgId);
        break;
      case "missed":
        this.#log.note(
          `${event.toSeq - event.fromSeq + 1} earlier event(s) could not be recovered.`,
          "warning",
        );
        break;
      case "error":
        if (event.code !== 429) {
          this.#log.note(`The server said: ${displayText(event.text)}`, "error");
        }
        break;
      case "idleWarning":
        this.#log.note(describeIdleWarning(event.removeInMs), "warning");
        break;
      case "rejoining":
        this.#o.banners.show("reconnecting", `${displayText(event.reason)}. Getting back in…`);
        break;
      case "reconnecting":
        this.#o.banners.show(
          "reconnecting",
          `The connection dropped (${displayText(event.reason)}). Reconnecting…`,
        );
        break;
      case "reconnected":
        this.#o.banners.hide("reconnecting");
        this.#o.remember(session);
        break;
    }
    this.#drawMembers();
    this.#title();
  }

  #send(text: string): boolean {
    const session = this.#session;
    if (session === null || !this.#live) return false;
    try {
      const msgId = session.send(text);
      this.#log.pending(msgId, text, (again) => this.#retry(again));
      this.#log.jumpToEnd();
      return true;
    } catch (error) {
      this.#log.note(`Not sent: ${(error as Error).message}`, "error");
      return false;
    }
  }

  #retry(text: string): number | null {
    if (this.#session === null || !this.#live) return null;
    try {
      return this.#session.send(text);
    } catch {
      return null;
    }
  }

  #setLive(live: boolean): void {
    this.#live = live;
    this.#input.disabled = !live;
    byId("send", HTMLButtonElement).disabled = !live;
    byId("leave", HTMLButtonElement).textContent = live ? "Leave" : "Back to the rooms";
  }

  #requestLeave(): void {
    if (!this.#live) return this.#o.back();
    if (!this.#isHost()) return this.#leave();
    this.#o.confirm.ask(
      "Leaving closes the room for everyone. Leave?",
      () => this.#leave(),
      () => {},
      this.#input,
    );
  }

  #leave(): void {
    this.#o.leaving();
    void this.#session?.leave();
  }

  async #copyInvite(): Promise<void> {
    if (this.#session === null) return;
    const link = inviteLink(location.href, this.#session.room);
    try {
      await navigator.clipboard.writeText(link);
      this.#log.note(`Invite link copied: ${link} (it does not carry the password).`);
    } catch {
      // No clipboard on plain http: the address bar holds the same link.
      this.#log.note(`Copy this invite link: ${link} (it does not carry the password).`);
    }
  }

  #isHost(): boolean {
    return this.#live && this.#session !== null && this.#session.host === this.#session.username;
  }

  #drawMembers(): void {
    const session = this.#session;
    if (session === null) return;
    renderMembers(this.#members, session.members, session.host, session.username);
    const n = session.members.length;
    this.#count.textContent = `${n} ${n === 1 ? "member" : "members"}`;
  }

  #title(): void {
    if (this.#session === null) return;
    document.title = this.#unread.title(`${displayText(this.#session.room)} · chat`);
  }
}
