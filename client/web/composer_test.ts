import assert from "node:assert/strict";
import { Composer } from "./composer.ts";
import { installDom, keydown, paste, type TestDom } from "./dom_test_util.ts";

interface Harness {
  dom: TestDom;
  input: HTMLTextAreaElement;
  counter: HTMLElement;
  sent: string[];
  /** The pending question, answered by the test. */
  asked: { question: string; yes: () => void; no: () => void }[];
}

async function withComposer(
  test: (h: Harness) => void,
  options: { limit?: number; refuse?: (text: string) => boolean } = {},
): Promise<void> {
  const dom = installDom();
  try {
    const input = dom.document.getElementById("composer") as HTMLTextAreaElement;
    const counter = dom.document.getElementById("counter")!;
    const h: Harness = { dom, input, counter, sent: [], asked: [] };
    new Composer({
      form: dom.document.getElementById("composer-form") as HTMLFormElement,
      input,
      counter,
      limit: () => options.limit ?? 100,
      send: (text) => {
        if (options.refuse?.(text)) return false;
        h.sent.push(text);
        return true;
      },
      confirm: (question, yes, no) => h.asked.push({ question, yes, no }),
    });
    test(h);
  } finally {
    await dom.close();
  }
}

Deno.test("composer: Enter sends; Shift+Enter and Enter during IME composition do not", () =>
  withComposer((h) => {
    h.input.value = "hello";
    assert.equal(keydown(h.dom, h.input, "Enter", { shiftKey: true }), true);
    assert.equal(keydown(h.dom, h.input, "Enter", { isComposing: true }), true);
    assert.equal(keydown(h.dom, h.input, "Enter", { keyCode: 229 }), true);
    assert.deepEqual(h.sent, []);
    assert.equal(keydown(h.dom, h.input, "Enter"), false);
    assert.deepEqual(h.sent, ["hello"]);
    assert.equal(h.input.value, "");
  }));

Deno.test("composer: Enter sends each line; more than three lines ask first, and no keeps them", () =>
  withComposer((h) => {
    h.input.value = "one\n\ntwo  ";
    keydown(h.dom, h.input, "Enter");
    assert.deepEqual(h.sent, ["one", "two"]);
    h.input.value = "a\nb\nc\nd";
    keydown(h.dom, h.input, "Enter");
    assert.equal(h.asked.length, 1);
    assert.equal(h.asked[0]!.question, "Send 4 lines as 4 messages?");
    h.asked[0]!.no();
    assert.equal(h.input.value, "a\nb\nc\nd");
    keydown(h.dom, h.input, "Enter");
    h.asked[1]!.yes();
    assert.deepEqual(h.sent, ["one", "two", "a", "b", "c", "d"]);
    assert.equal(h.input.value, "");
  }));

Deno.test("composer: a line the server would refuse stays in the input", () =>
  withComposer((h) => {
    h.input.value = "fine\nrefused";
    keydown(h.dom, h.input, "Enter");
    assert.deepEqual(h.sent, ["fine"]);
    assert.equal(h.input.value, "refused");
  }, { refuse: (text) => text === "refused" }));

Deno.test("composer: a paste with line ends sends the complete lines and keeps the last", () =>
  withComposer((h) => {
    h.input.value = "say: ";
    h.input.setSelectionRange(5, 5);
    assert.equal(paste(h.dom, h.input, "one\r\ntwo\tx\nthree"), false);
    assert.deepEqual(h.sent, ["say: one", "two    x"]);
    assert.equal(h.input.value, "three");
    assert.equal(h.input.selectionStart, 5);
    // Without a line end, the browser pastes as usual.
    assert.equal(paste(h.dom, h.input, "plain"), true);
  }));

Deno.test("composer: a paste of more than three lines asks first; no changes nothing", () =>
  withComposer((h) => {
    h.input.value = "draft";
    h.input.setSelectionRange(5, 5);
    paste(h.dom, h.input, "1\n2\n3\n4\nrest");
    assert.equal(h.asked[0]!.question, "Send 4 pasted lines?");
    assert.equal(h.input.value, "draft");
    h.asked[0]!.no();
    assert.deepEqual(h.sent, []);
    assert.equal(h.input.value, "draft");
    paste(h.dom, h.input, "1\n2\n3\n4\nrest");
    h.asked[1]!.yes();
    assert.deepEqual(h.sent, ["draft1", "2", "3", "4"]);
    assert.equal(h.input.value, "rest");
  }));

Deno.test("composer: the counter shows UTF-8 bytes against the limit; over it nothing is sent", () =>
  withComposer((h) => {
    h.input.value = "é😀";
    h.input.dispatchEvent(new h.dom.window.Event("input"));
    assert.equal(h.counter.textContent, "6 / 8 bytes");
    assert.equal(h.counter.classList.contains("over"), false);
    h.input.value = "é😀😀";
    h.input.dispatchEvent(new h.dom.window.Event("input"));
    assert.equal(h.counter.textContent, "10 / 8 bytes");
    assert.equal(h.counter.classList.contains("over"), true);
    assert.equal(h.input.getAttribute("aria-invalid"), "true");
    keydown(h.dom, h.input, "Enter");
    assert.deepEqual(h.sent, []);
  }, { limit: 8 }));
