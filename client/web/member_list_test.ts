import assert from "node:assert/strict";
import { installDom } from "./dom_test_util.ts";
import { renderMembers } from "./member_list.ts";

Deno.test("members: one [data-member] each, in order, the host marked, names isolated and safe", async () => {
  const dom = installDom();
  try {
    const list = dom.document.getElementById("members")!;
    renderMembers(list, ["ann", "bob\u202Ex"], "ann", "bob\u202Ex");
    const items = [...list.querySelectorAll("[data-member]")];
    assert.deepEqual(items.map((i) => i.getAttribute("data-member")), ["ann", "bob\u202Ex"]);
    assert.deepEqual(items.map((i) => i.hasAttribute("data-host")), [true, false]);
    assert.deepEqual(items.map((i) => i.textContent), ["ann (host)", "bob\uFFFDx (you)"]);
    assert.equal(list.querySelectorAll("bdi.name").length, 2);
    renderMembers(list, ["bob\u202Ex"], "bob\u202Ex", "bob\u202Ex");
    assert.equal(list.querySelectorAll("[data-member]").length, 1);
    assert.equal(list.querySelector("[data-host]")?.getAttribute("data-member"), "bob\u202Ex");
  } finally {
    await dom.close();
  }
});
