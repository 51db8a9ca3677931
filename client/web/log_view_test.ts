import assert from "node:assert/strict";
import { installDom, type TestDom } from "./dom_test_util.ts";
import { LogView, type RoomEntry } from "./log_view.ts";

const TODAY = new Date(2026, 11, 2, 12, 0);
const at = (minute: number) => new Date(2026, 11, 2, 10, minute);

async function withLog(
  test: (log: LogView, dom: TestDom, root: HTMLElement) => void,
): Promise<void> {
  const dom = installDom();
  try {
    const root = dom.document.getElementById("log")!;
    const button = dom.document.getElementById("new-messages") as HTMLButtonElement;
    const log = new LogView(root, button, () => TODAY);
    log.reset("ann");
    test(log, dom, root);
  } finally {
    await dom.close();
  }
}

const message = (seq: number, name: string, text: string, time = at(seq)): RoomEntry => ({
  type: "message",
  seq,
  time,
  name,
  text,
});

/** The log as lines: "seq kind name: text [state]". */
function lines(root: HTMLElement): string[] {
  return [...root.children].map((e) => {
    const el = e as HTMLElement;
    if (el.classList.contains("day")) return `-- ${el.textContent}`;
    if (el.hasAttribute("data-note")) return `note ${el.textContent}`;
    const name = el.querySelector("[data-name]")?.textContent;
    const text = el.querySelector("[data-text]")?.textContent ?? "";
    const state = el.getAttribute("data-state");
    return `${el.getAttribute("data-seq") ?? "-"} ${
      el.getAttribute("data-kind")
    } ${name}: ${text}` +
      (state === null ? "" : ` [${state}]`);
  });
}

Deno.test("log: events in seq order, each once; names and texts are text, made safe, in bdi", () =>
  withLog((log, _dom, root) => {
    assert.equal(log.event({ type: "joined", seq: 1, time: at(1), name: "bob" }), true);
    log.event(message(2, "bob", "<img src=x onerror=alert(1)>"));
    log.event(message(3, "bob\u202Eevil", "/me waves"));
    assert.equal(log.event(message(2, "bob", "<img src=x onerror=alert(1)>")), false); // a replay
    assert.deepEqual(lines(root), [
      "1 joined bob: ",
      "2 message bob: <img src=x onerror=alert(1)>",
      "3 message bob\uFFFDevil: waves",
    ]);
    assert.ok(root.querySelector("img") === null, "no element from a text");
    assert.equal(root.querySelectorAll("bdi").length, 5);
    assert.equal(root.querySelector("[data-notice=joined]")?.getAttribute("data-seq"), "1");
    assert.match(root.children[2]!.textContent!, /^10:03 \* bob\uFFFDevil waves$/);
    const time = root.querySelector("time")!;
    assert.equal(time.getAttribute("datetime"), at(1).toISOString());
    assert.equal(time.textContent, "10:01");
  }));

Deno.test("log: our message is pending, then delivered in its seq's place; the room's copy is not shown again", () =>
  withLog((log, _dom, root) => {
    log.event(message(1, "bob", "hi"));
    log.pending(7, "hello", () => null);
    assert.deepEqual(lines(root), ["1 message bob: hi", "- message ann: hello [pending]"]);
    log.event(message(2, "bob", "still typing")); // above what we are still sending
    assert.deepEqual(lines(root), [
      "1 message bob: hi",
      "2 message bob: still typing",
      "- message ann: hello [pending]",
    ]);
    log.delivered(7, 3);
    assert.equal(log.event(message(3, "ann", "hello", new Date(2026, 11, 2, 10, 33))), false);
    assert.equal(root.querySelector('[data-seq="3"] time')?.textContent, "10:33"); // the server's time
    assert.deepEqual(lines(root), [
      "1 message bob: hi",
      "2 message bob: still typing",
      "3 message ann: hello [delivered]",
    ]);
  }));

Deno.test("log: when the room's copy comes before the acknowledgement, it becomes ours", () =>
  withLog((log, _dom, root) => {
    log.pending(1, "hello", () => null);
    log.event(message(5, "ann", "hello"));
    assert.deepEqual(lines(root), ["5 message ann: hello", "- message ann: hello [pending]"]);
    log.delivered(1, 5);
    assert.deepEqual(lines(root), ["5 message ann: hello [delivered]"]);
    assert.equal(root.children[0]!.hasAttribute("data-own"), true);
  }));

Deno.test("log: an undelivered message offers a retry, which sends it again as a new message", () =>
  withLog((log, _dom, root) => {
    const retried: string[] = [];
    log.pending(1, "lost one", (text) => {
      retried.push(text);
      return 2;
    });
    log.undelivered(1);
    assert.deepEqual(lines(root), ["- message ann: lost one [undelivered]"]);
    assert.equal(root.querySelector(".state")?.textContent?.trim(), "not delivered");
    (root.querySelector("button.retry") as HTMLButtonElement).click();
    assert.deepEqual(retried, ["lost one"]);
    assert.deepEqual(lines(root), ["- message ann: lost one [pending]"]);
    assert.ok(root.querySelector("button.retry") === null, "the retry button is gone");
    log.delivered(1, 9); // the old msgId means nothing now
    assert.deepEqual(lines(root), ["- message ann: lost one [pending]"]);
    log.delivered(2, 9);
    assert.deepEqual(lines(root), ["9 message ann: lost one [delivered]"]);
  }));

Deno.test("log: a retry that cannot be sent leaves the message undelivered", () =>
  withLog((log, _dom, root) => {
    log.pending(1, "x", () => null);
    log.undelivered(1);
    (root.querySelector("button.retry") as HTMLButtonElement).click();
    assert.equal(root.children[0]!.getAttribute("data-state"), "undelivered");
  }));

Deno.test("log: a day separator before another day's events, none before today's first", () =>
  withLog((log, _dom, root) => {
    log.event(message(1, "bob", "yesterday", new Date(2026, 11, 1, 23, 0)));
    log.event(message(2, "bob", "today", new Date(2026, 11, 2, 9, 0)));
    log.note("You are in the room.");
    assert.deepEqual(lines(root), [
      "-- Tuesday 1 December 2026",
      "1 message bob: yesterday",
      "-- Wednesday 2 December 2026",
      "2 message bob: today",
      "note You are in the room.",
    ]);
    assert.equal(root.querySelector(".day time")!.getAttribute("datetime"), "2026-12-01");
  }));

Deno.test("log: reset empties it for a new membership", () =>
  withLog((log, _dom, root) => {
    log.event(message(1, "bob", "hi"));
    log.reset("ann");
    assert.equal(root.children.length, 0);
    assert.equal(log.event(message(1, "bob", "hi")), true); // a new room's seq 1
  }));

Deno.test("log: scrolled up, new entries count on the button instead of scrolling; the button goes back down", () =>
  withLog((log, dom, root) => {
    const button = dom.document.getElementById("new-messages") as HTMLButtonElement;
    let top = 0;
    Object.defineProperty(root, "scrollHeight", { get: () => 1000, configurable: true });
    Object.defineProperty(root, "clientHeight", { get: () => 400, configurable: true });
    Object.defineProperty(root, "scrollTop", {
      get: () => top,
      set: (value: number) => (top = Math.min(value, 600)),
      configurable: true,
    });
    log.event(message(1, "bob", "first"));
    assert.equal(top, 600); // following: scrolled to the end
    assert.equal(button.hidden, true);
    top = 100; // the reader scrolls up
    root.dispatchEvent(new dom.window.Event("scroll"));
    log.event(message(2, "bob", "second"));
    log.event(message(3, "bob", "third"));
    assert.equal(top, 100);
    assert.equal(button.hidden, false);
    assert.equal(button.textContent, "2 new messages ↓");
    button.click();
    assert.equal(top, 600);
    assert.equal(button.hidden, true);
  }));
