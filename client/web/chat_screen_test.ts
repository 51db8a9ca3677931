import assert from "node:assert/strict";
import { CloseReason } from "../../protocol/datagram.ts";
import type { SessionEvent } from "../session_options.ts";
import { Banners } from "./banners.ts";
import { ChatScreen, type SessionEnd } from "./chat_screen.ts";
import { ConfirmBar } from "./confirm_bar.ts";
import { installDom, keydown, type TestDom } from "./dom_test_util.ts";
import { FakeSession } from "./fake_session_test_util.ts";

interface Harness {
  dom: TestDom;
  screen: ChatScreen;
  remembered: number;
  leaving: number;
  back: number;
  $(selector: string): HTMLElement | null;
}

/** Polls `check` on the event loop until it holds, for at most 2 s. */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within 2 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

async function withScreen(test: (h: Harness) => Promise<void>): Promise<void> {
  const dom = installDom();
  try {
    const $ = (selector: string) => dom.document.querySelector(selector) as HTMLElement | null;
    const h: Harness = { dom, screen: null!, remembered: 0, leaving: 0, back: 0, $ };
    h.screen = new ChatScreen({
      banners: new Banners($("#banners")!),
      confirm: new ConfirmBar(
        $("#paste-confirm")!,
        $("#paste-question")!,
        $("#paste-send") as HTMLButtonElement,
        $("#paste-cancel") as HTMLButtonElement,
      ),
      remember: () => h.remembered++,
      leaving: () => h.leaving++,
      back: () => h.back++,
    });
    await test(h);
  } finally {
    await dom.close();
  }
}

const welcome = (members: string[]): SessionEvent => ({
  type: "welcome",
  room: "general",
  host: "ann",
  members,
  rejoined: false,
});

Deno.test("chat screen: the room's events, the members with the host, and our messages' states", () =>
  withScreen(async (h) => {
    const session = new FakeSession("bob");
    const ended = h.screen.run(session);
    session.members = ["ann", "bob"];
    session.events.push(welcome(["ann", "bob"]));
    session.events.push({ type: "joined", seq: 1, time: new Date(), name: "bob", replay: false });
    await until(
      "members drawn",
      () => h.dom.document.querySelectorAll("[data-member]").length === 2,
    );
    assert.equal(h.$("[data-host]")?.getAttribute("data-member"), "ann");
    assert.equal(h.$("#room-count")?.textContent, "2 members");
    assert.equal(h.remembered, 1);
    assert.equal(h.dom.document.title, "general · chat");
    assert.equal(h.dom.window.location.hash, "#room=general");

    const input = h.$("#composer") as HTMLTextAreaElement;
    input.value = "hello";
    keydown(h.dom, input, "Enter");
    assert.deepEqual(session.sent, ["hello"]);
    assert.equal(h.$("[data-state=pending]")?.textContent?.includes("hello"), true);
    session.events.push({ type: "delivered", msgId: 1, seq: 2 });
    await until("delivered", () => h.$("[data-state=delivered]")?.getAttribute("data-seq") === "2");

    session.events.push({
      type: "closed",
      reason: CloseReason.HOST_LEFT,
      text: "the host ann left",
    });
    session.events.end();
    const end: SessionEnd = await ended;
    assert.equal(end.reason, CloseReason.HOST_LEFT);
    // Over: no members, nothing to send, and Leave goes back to the rooms.
    assert.equal(h.dom.document.querySelectorAll("[data-member]").length, 0);
    assert.equal(input.disabled, true);
    assert.equal(h.$("#leave")?.textContent, "Back to the rooms");
    (h.$("#leave") as HTMLButtonElement).click();
    assert.equal(h.back, 1);
    assert.equal(h.leaving, 0);
  }));

Deno.test("chat screen: reconnecting shows a banner until reconnected; unread counts while hidden", () =>
  withScreen(async (h) => {
    const session = new FakeSession("bob");
    const ended = h.screen.run(session);
    session.events.push(welcome(["ann", "bob"]));
    session.events.push({ type: "reconnecting", reason: "socket closed 1006" });
    await until("banner", () => h.$("[data-banner=reconnecting]") !== null);
    assert.match(h.$("[data-banner=reconnecting]")!.textContent!, /socket closed 1006/);
    session.events.push({ type: "reconnected" });
    await until("banner gone", () => h.$("[data-banner=reconnecting]") === null);
    assert.equal(h.remembered, 2);

    let visibility = "hidden";
    Object.defineProperty(h.dom.document, "visibilityState", {
      get: () => visibility,
      configurable: true,
    });
    h.dom.document.dispatchEvent(new h.dom.window.Event("visibilitychange"));
    const message = (seq: number, name: string): SessionEvent => ({
      type: "message",
      seq,
      time: new Date(),
      name,
      text: `m${seq}`,
      replay: false,
    });
    session.events.push(message(1, "ann"));
    session.events.push(message(2, "bob")); // ours: not unread
    session.events.push(message(3, "ann"));
    await until("three messages", () => h.dom.document.querySelectorAll("[data-seq]").length === 3);
    assert.equal(h.dom.document.title, "(2) general · chat");
    visibility = "visible";
    h.dom.document.dispatchEvent(new h.dom.window.Event("visibilitychange"));
    assert.equal(h.dom.document.title, "general · chat");
    session.events.end();
    await ended;
  }));

Deno.test("chat screen: a host is asked before leaving and warned before unloading; a member is not", () =>
  withScreen(async (h) => {
    const host = new FakeSession("ann");
    const ended = h.screen.run(host);
    host.events.push(welcome(["ann"]));
    await until("welcome", () => h.$("[data-member]") !== null);
    const unload = () => {
      const event = new h.dom.window.Event("beforeunload", { cancelable: true });
      h.dom.window.dispatchEvent(event);
      return event.defaultPrevented;
    };
    assert.equal(unload(), true);
    (h.$("#leave") as HTMLButtonElement).click();
    assert.equal(h.$("#paste-confirm")?.hidden, false);
    assert.match(h.$("#paste-question")!.textContent!, /closes the room for everyone/);
    assert.equal(host.left, 0);
    (h.$("#paste-send") as HTMLButtonElement).click();
    assert.equal(h.leaving, 1);
    assert.equal(host.left, 1);
    assert.equal((await ended).reason, CloseReason.LEFT);
    assert.equal(unload(), false); // no longer in a room

    const member = new FakeSession("bob");
    const again = h.screen.run(member);
    member.members = ["ann", "bob"];
    member.events.push(welcome(["ann", "bob"]));
    await until("welcome", () => h.dom.document.querySelectorAll("[data-member]").length === 2);
    assert.equal(unload(), false);
    (h.$("#leave") as HTMLButtonElement).click();
    assert.equal(member.left, 1); // not asked
    await again;
  }));
