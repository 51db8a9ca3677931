/// <reference lib="dom" />
/**
 * The member list: one `[data-member]` item per member, in join order, the
 * host marked (`data-host`, and the word "host" for a screen reader).
 *
 * @module
 */
import { displayText } from "../../protocol/display_text.ts";
import { el, isolated } from "./dom.ts";

/** Draws the member list into `list` (replacing it). */
export function renderMembers(
  list: HTMLElement,
  members: readonly string[],
  host: string,
  me: string,
): void {
  const items = members.map((name) => {
    const item = el("li", { attrs: { "data-member": name } }, isolated(displayText(name), "name"));
    if (name === host) {
      item.setAttribute("data-host", "");
      item.append(el("span", { class: "tag", text: " (host)" }));
    }
    if (name === me) item.append(el("span", { class: "tag", text: " (you)" }));
    return item;
  });
  list.replaceChildren(...items);
}
