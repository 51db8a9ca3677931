/// <reference lib="dom" />
/**
 * The first screen: a name, the room list (`[data-room]` rows with member
 * counts, a lock for a password, and rooms the page cannot enter, full ones
 * and plain ones that only terminals reach, disabled), a room name and a
 * password, and Join or Create.
 *
 * @module
 */
import { displayText } from "../../protocol/display_text.ts";
import type { RoomSummary } from "../../protocol/tcrp.ts";
import { byId, el, isolated } from "./dom.ts";

/** What the person asked for. */
export interface JoinRequest {
  create: boolean;
  name: string;
  room: string;
  password: string;
}

/** The join screen; see the module comment. */
export class JoinView {
  #name = byId("name", HTMLInputElement);
  #room = byId("room", HTMLInputElement);
  #password = byId("password", HTMLInputElement);
  #rooms = byId("rooms", HTMLUListElement);
  #status = byId("rooms-status", HTMLElement);
  #error = byId("join-error", HTMLElement);
  #buttons = [byId("join", HTMLButtonElement), byId("create", HTMLButtonElement)];
  #list: RoomSummary[] = [];
  #submit: (request: JoinRequest) => void;
  #load: () => Promise<RoomSummary[]>;

  /** `submit`: a request made; `load`: the room list. */
  constructor(submit: (request: JoinRequest) => void, load: () => Promise<RoomSummary[]>) {
    this.#submit = submit;
    this.#load = load;
    byId("join-form", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      this.#request(false);
    });
    byId("create", HTMLButtonElement).addEventListener("click", () => this.#request(true));
    byId("refresh-rooms", HTMLButtonElement).addEventListener("click", () => void this.refresh());
  }

  /** Fills the fields (a remembered name, an invited room). */
  prefill(values: { name?: string; room?: string }): void {
    if (values.name !== undefined) this.#name.value = values.name;
    if (values.room !== undefined) this.#room.value = values.room;
  }

  /** Puts the focus where the person should type next. */
  focus(): void {
    if (this.#name.value === "") this.#name.focus();
    else if (this.#room.value === "") this.#room.focus();
    else this.#password.focus();
  }

  /** The password field, focused, with `message` said above it (a reload, a wrong password). */
  askPassword(message: string): void {
    this.showError(message);
    this.#password.value = "";
    this.#password.focus();
  }

  /** Says why a request failed ("" clears it). */
  showError(text: string): void {
    this.#error.textContent = text;
  }

  /** While a request is under way, the buttons wait. */
  setBusy(busy: boolean): void {
    for (const button of this.#buttons) button.disabled = busy;
  }

  /** The list's row for `room`, if it was in the last list. */
  summary(room: string): RoomSummary | undefined {
    return this.#list.find((r) => r.name === room);
  }

  /** Loads and draws the room list. */
  async refresh(): Promise<void> {
    this.#status.textContent = "Loading the rooms…";
    try {
      this.#list = await this.#load();
    } catch (error) {
      this.#status.textContent = `The room list did not load: ${
        displayText(String((error as Error).message ?? error))
      }`;
      return;
    }
    this.#status.textContent = this.#list.length === 0 ? "No rooms yet: create one." : "";
    this.#rooms.replaceChildren(...this.#list.map((room) => el("li", {}, this.#row(room))));
  }

  #row(room: RoomSummary): HTMLButtonElement {
    const full = room.capacity !== null && room.members >= room.capacity;
    const plain = room.sealed === false;
    const count = room.capacity === null ? `${room.members}` : `${room.members}/${room.capacity}`;
    const parts = [`${count} ${room.members === 1 ? "member" : "members"}`];
    if (room.passwordProtected) parts.push("password");
    if (full) parts.push("full");
    if (plain) parts.push("terminal only (not sealed)");
    const row = el(
      "button",
      {
        class: "room-row",
        attrs: { type: "button", "data-room": room.name, "data-members": String(room.members) },
      },
      isolated(displayText(room.name), "name"),
      el("span", { class: "room-info", text: ` ${parts.join(" · ")}` }),
    );
    if (room.passwordProtected) row.setAttribute("data-locked", "");
    if (room.sealed === true) row.setAttribute("data-sealed", "");
    row.disabled = full || plain;
    row.addEventListener("click", () => {
      this.#room.value = room.name;
      if (room.passwordProtected) this.askPassword(`"${displayText(room.name)}" has a password.`);
      else if (this.#name.value.trim() === "") this.#name.focus();
      else this.#request(false);
    });
    return row;
  }

  #request(create: boolean): void {
    const name = this.#name.value.trim();
    const room = this.#room.value.trim();
    if (name === "") return this.#missing(this.#name, "Pick a name first.");
    if (room === "") return this.#missing(this.#room, "Pick a room from the list or type a name.");
    this.showError("");
    this.#submit({ create, name, room, password: this.#password.value });
  }

  #missing(input: HTMLInputElement, text: string): void {
    this.showError(text);
    input.focus();
  }
}
