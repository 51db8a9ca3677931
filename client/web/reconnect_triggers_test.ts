import assert from "node:assert/strict";
import { installDom } from "./dom_test_util.ts";
import { onComeBack } from "./reconnect_triggers.ts";

Deno.test("reconnect: online, pageshow and becoming visible nudge; becoming hidden does not", async () => {
  const dom = installDom();
  try {
    const win = dom.window as unknown as Window;
    const doc = dom.document;
    let visibility = "visible";
    Object.defineProperty(doc, "visibilityState", { get: () => visibility, configurable: true });
    let nudges = 0;
    const stop = onComeBack(() => nudges++, win, doc);
    const fire = (target: EventTarget, type: string) =>
      target.dispatchEvent(new dom.window.Event(type));
    fire(win, "online");
    fire(win, "pageshow");
    visibility = "hidden";
    fire(doc, "visibilitychange");
    assert.equal(nudges, 2);
    visibility = "visible";
    fire(doc, "visibilitychange");
    assert.equal(nudges, 3);
    stop();
    fire(win, "online");
    assert.equal(nudges, 3);
  } finally {
    await dom.close();
  }
});
