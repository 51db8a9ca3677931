/// <reference lib="dom" />
/**
 * A DOM for the page's modules in Deno tests: happy-dom's window, its
 * classes and objects installed as globals (what the page's code reaches
 * for: document, the element classes for `instanceof`, events, history,
 * location), and the page's own template loaded, so `byId` finds what it
 * finds in the browser. The browser test (tests/browser_test.ts) runs the
 * real thing in Chromium; this runs the modules' logic alone, fast.
 */
// @ts-types="./happy_dom_types.d.ts"
import { Window } from "happy-dom";

const TEMPLATE = await Deno.readTextFile(new URL("./index.html", import.meta.url));

const GLOBALS = [
  "document",
  "history",
  "location",
  "navigator",
  "Node",
  "Element",
  "HTMLElement",
  "HTMLInputElement",
  "HTMLTextAreaElement",
  "HTMLButtonElement",
  "HTMLUListElement",
  "HTMLFormElement",
  "Event",
  "KeyboardEvent",
  "ClipboardEvent",
  "DataTransfer",
  "DOMException",
] as const;

/** A page's DOM for one test; `close` puts the globals back. */
export interface TestDom {
  window: Window;
  document: Document;
  close(): Promise<void>;
}

/** Installs a fresh DOM holding the page's template at `url`. */
export function installDom(url = "http://127.0.0.1:8080/"): TestDom {
  const window = new Window({ url });
  const document = window.document;
  // The template's body, without its head's script and stylesheet (nothing to load here).
  const body = TEMPLATE.slice(TEMPLATE.indexOf("<body>") + 6, TEMPLATE.indexOf("</body>"));
  const parsed = new window.DOMParser().parseFromString(`<body>${body}</body>`, "text/html");
  document.body.replaceChildren(
    ...[...parsed.body.childNodes].map((n) => document.importNode(n, true)),
  );
  const saved = new Map<string, PropertyDescriptor | undefined>();
  const w = window as unknown as Record<string, unknown>;
  const install = (name: string, value: unknown) => {
    saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  };
  for (const name of GLOBALS) install(name, w[name]);
  install("addEventListener", window.addEventListener.bind(window));
  install("removeEventListener", window.removeEventListener.bind(window));
  install("dispatchEvent", window.dispatchEvent.bind(window));
  return {
    window,
    document,
    async close() {
      for (const [name, descriptor] of saved) {
        if (descriptor === undefined) delete (globalThis as Record<string, unknown>)[name];
        else Object.defineProperty(globalThis, name, descriptor);
      }
      await window.happyDOM.close();
    },
  };
}

/** A keydown of `key` in `target`, with the modifiers and IME state given; true when not prevented. */
export function keydown(
  dom: TestDom,
  target: Element,
  key: string,
  options: { shiftKey?: boolean; isComposing?: boolean; keyCode?: number } = {},
): boolean {
  const event = new dom.window.KeyboardEvent("keydown", {
    key,
    shiftKey: options.shiftKey ?? false,
    isComposing: options.isComposing ?? false,
    cancelable: true,
    bubbles: true,
  });
  if (options.keyCode !== undefined) {
    Object.defineProperty(event, "keyCode", { value: options.keyCode });
  }
  return target.dispatchEvent(event);
}

/** A paste of `text` into `target`; true when the page let the browser paste it. */
export function paste(dom: TestDom, target: Element, text: string): boolean {
  const data = new dom.window.DataTransfer();
  data.setData("text/plain", text);
  const event = new dom.window.ClipboardEvent("paste", {
    clipboardData: data,
    cancelable: true,
    bubbles: true,
  });
  return target.dispatchEvent(event);
}
