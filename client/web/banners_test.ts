import assert from "node:assert/strict";
import { Banners } from "./banners.ts";
import { installDom } from "./dom_test_util.ts";

Deno.test("banners: one per kind, role=status, replaced, with a working button, hidden on demand", async () => {
  const dom = installDom();
  try {
    const root = dom.document.getElementById("banners")!;
    const banners = new Banners(root);
    let clicked = 0;
    banners.show("reconnecting", "first");
    banners.show("reconnecting", "second");
    banners.show("idle", "removed", { label: "Rejoin", run: () => clicked++ });
    assert.equal(root.querySelectorAll("[role=status]").length, 2);
    assert.equal(root.querySelector("[data-banner=reconnecting]")!.textContent, "second");
    (root.querySelector("[data-banner=idle] button") as HTMLButtonElement).click();
    assert.equal(clicked, 1);
    banners.hide("reconnecting");
    assert.equal(banners.has("reconnecting"), false);
    assert.equal(banners.has("idle"), true);
  } finally {
    await dom.close();
  }
});
