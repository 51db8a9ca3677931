/// <reference lib="dom" />
/**
 * The log (`role=log`): the room's events in seq order (`[data-seq]`), our
 * own messages with their state (`[data-state=pending|delivered|
 * undelivered]`, a retry button on undelivered ones), join and leave notices
 * (`[data-notice]`), day separators, and the page's own notices. Names and
 * texts are text in `<bdi>`, made safe to show as the terminal does
 * (protocol/display_text.ts); an event seen twice (a replay after a
 * reconnect) is shown once. New entries follow the reader only while they
 * are at the bottom; otherwise a "new messages" button counts them.
 *
 * @module
 */
import { displayText } from "../../protocol/display_text.ts";
import { el, isolated } from "./dom.ts";
import { atBottom, Follow } from "./follow.ts";
import { insertionIndex, type LogSlot, nextState } from "./message_state.ts";
import { clock, dayLabel, DaySeparators, localDay } from "./time_format.ts";

/** A room event the log shows. */
export interface RoomEntry {
  type: "message" | "joined" | "left" | "timedOut";
  seq: number;
  time: Date;
  name: string;
  text?: string;
}

/** What a notice of the page's own looks like. */
export type NoticeTone = "info" | "warning" | "error";

/** The log view; see the module comment. */
export class LogView {
  #log: HTMLElement;
  #button: HTMLButtonElement;
  #follow = new Follow();
  #days: DaySeparators;
  #bySeq = new Map<number, HTMLElement>();
  #byMsgId = new Map<number, HTMLElement>();
  #me = "";

  /** `log`: the `role=log` element; `button`: the "new messages" button; `today`: the clock. */
  constructor(log: HTMLElement, button: HTMLButtonElement, today: () => Date) {
    this.#log = log;
    this.#button = button;
    this.#days = new DaySeparators(today);
    log.addEventListener("scroll", () => {
      this.#follow.scrolled(atBottom(log.scrollTop, log.clientHeight, log.scrollHeight));
      this.#showButton();
    });
    button.addEventListener("click", () => this.jumpToEnd());
  }

  /** Starts a new membership's log: empty, for `me`. */
  reset(me: string): void {
    this.#me = me;
    this.#bySeq.clear();
    this.#byMsgId.clear();
    this.#log.replaceChildren();
    this.#follow.jump();
    this.#showButton();
  }

  /** Shows a room event; false when it was already shown (a replay after a reconnect). */
  event(entry: RoomEntry): boolean {
    const shown = this.#bySeq.get(entry.seq);
    if (shown !== undefined) {
      // Our message, acknowledged before its event: it gets the server's time.
      shown.querySelector("time")?.replaceWith(this.#time(entry.time));
      return false;
    }
    const element = entry.type === "message" ? this.#message(entry) : this.#notice(entry);
    this.#bySeq.set(entry.seq, element);
    const separator = this.#days.before(entry.time) ? this.#separator(entry.time) : null;
    this.#insert(entry.seq, separator === null ? [element] : [separator, element]);
    return true;
  }

  /** Shows a message of ours as pending (no seq yet). */
  pending(msgId: number, text: string, retry: (text: string) => number | null): void {
    const element = this.#message({
      type: "message",
      seq: 0,
      time: new Date(),
      name: this.#me,
      text,
    });
    element.removeAttribute("data-seq");
    element.setAttribute("data-state", "pending");
    element.setAttribute("data-msg-id", String(msgId));
    element.dataset.text = text;
    element.addEventListener("click", (event) => {
      if (
        !(event.target instanceof HTMLButtonElement) || !event.target.classList.contains("retry")
      ) return;
      const again = retry(element.dataset.text ?? "");
      if (again === null) return;
      this.#setState(element, "retry");
      this.#byMsgId.delete(Number(element.getAttribute("data-msg-id")));
      element.setAttribute("data-msg-id", String(again));
      this.#byMsgId.set(again, element);
    });
    this.#byMsgId.set(msgId, element);
    this.#append([element]);
  }

  /** The server relayed our message `msgId` as event `seq`. */
  delivered(msgId: number, seq: number): void {
    const element = this.#byMsgId.get(msgId);
    if (element === undefined) return;
    this.#byMsgId.delete(msgId);
    const echo = this.#bySeq.get(seq);
    if (echo !== undefined) {
      // The room's event came first: it is the message; ours was a placeholder.
      element.remove();
      echo.setAttribute("data-own", "");
      echo.setAttribute("data-state", "delivered");
      return;
    }
    this.#setState(element, "delivered");
    element.setAttribute("data-seq", String(seq));
    this.#bySeq.set(seq, element);
    element.remove();
    this.#insert(seq, [element]);
  }

  /** Our message `msgId` did not get through: it offers a retry. */
  undelivered(msgId: number): void {
    const element = this.#byMsgId.get(msgId);
    if (element === undefined) return;
    this.#setState(element, "undelivered");
  }

  /** A notice of the page's own (a welcome, a warning, an error), at the bottom. */
  note(text: string, tone: NoticeTone = "info"): void {
    this.#append([
      el("p", { class: `entry note note-${tone}`, attrs: { "data-note": tone }, text }),
    ]);
  }

  /** Scrolls to the last entry and follows again. */
  jumpToEnd(): void {
    this.#follow.jump();
    this.#log.scrollTop = this.#log.scrollHeight;
    this.#showButton();
  }

  #message(entry: RoomEntry): HTMLElement {
    const text = entry.text ?? "";
    const action = text.startsWith("/me ") ? text.slice(4) : null; // the terminal's /me convention
    const element = el("div", {
      class: action === null ? "entry message" : "entry message action",
      attrs: { "data-seq": String(entry.seq), "data-kind": "message" },
    });
    if (entry.name === this.#me) element.setAttribute("data-own", "");
    element.append(this.#time(entry.time), " ");
    if (action !== null) element.append("* ");
    element.append(named(entry.name), action === null ? ": " : " ");
    const body = isolated(displayText(action ?? text), "text");
    body.setAttribute("data-text", "");
    element.append(body);
    return element;
  }

  #notice(entry: RoomEntry): HTMLElement {
    const words = { joined: "joined", left: "left", timedOut: "was removed (idle or unreachable)" };
    const element = el("p", {
      class: "entry notice",
      attrs: { "data-seq": String(entry.seq), "data-kind": entry.type, "data-notice": entry.type },
    });
    const verb = words[entry.type as keyof typeof words];
    element.append(this.#time(entry.time), " * ", named(entry.name), ` ${verb}`);
    return element;
  }

  #time(time: Date): HTMLElement {
    return el("time", {
      attrs: { datetime: time.toISOString(), title: time.toLocaleString() },
      text: clock(time),
    });
  }

  #separator(time: Date): HTMLElement {
    return el(
      "p",
      { class: "day" },
      el("time", { attrs: { datetime: localDay(time) }, text: dayLabel(time) }),
    );
  }

  #setState(element: HTMLElement, input: "delivered" | "undelivered" | "retry"): void {
    const state = element.getAttribute("data-state");
    if (state !== "pending" && state !== "delivered" && state !== "undelivered") return;
    const next = nextState(state, input);
    if (next === null) return;
    element.setAttribute("data-state", next);
    for (const old of element.querySelectorAll(".state, .retry")) old.remove();
    if (next === "undelivered") {
      element.append(
        el("span", { class: "state", text: " not delivered " }),
        el("button", { class: "retry", attrs: { type: "button" }, text: "Retry" }),
      );
    }
  }

  /** Inserts `nodes` where an event with `seq` belongs. */
  #insert(seq: number, nodes: HTMLElement[]): void {
    const children = this.#log.children;
    const at = insertionIndex(children.length, (i) => slotOf(children[i]!), seq);
    const before = children[at] ?? null;
    for (const node of nodes) this.#log.insertBefore(node, before);
    this.#arrived();
  }

  #append(nodes: HTMLElement[]): void {
    this.#log.append(...nodes);
    this.#arrived();
  }

  #arrived(): void {
    if (this.#follow.arrived()) this.#log.scrollTop = this.#log.scrollHeight;
    this.#showButton();
  }

  #showButton(): void {
    const unseen = this.#follow.unseen;
    this.#button.hidden = unseen === 0;
    this.#button.textContent = `${unseen} new ${unseen === 1 ? "message" : "messages"} ↓`;
  }
}

/** A member's name, isolated, marked `data-name` (the browser test reads it). */
function named(name: string): HTMLElement {
  const element = isolated(displayText(name), "name");
  element.setAttribute("data-name", "");
  return element;
}

function slotOf(element: Element): LogSlot {
  const seq = element.getAttribute("data-seq");
  const state = element.getAttribute("data-state");
  return {
    seq: seq === null ? null : Number(seq),
    ours: state === "pending" || state === "undelivered",
  };
}
