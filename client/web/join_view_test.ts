import assert from "node:assert/strict";
import type { RoomSummary } from "../../protocol/tcrp.ts";
import { installDom, type TestDom } from "./dom_test_util.ts";
import { type JoinRequest, JoinView } from "./join_view.ts";

const ROOMS: RoomSummary[] = [
  { name: "open", members: 1, capacity: null, passwordProtected: false, sealed: true },
  { name: "staff", members: 2, capacity: 10, passwordProtected: true, sealed: true },
  { name: "full", members: 3, capacity: 3, passwordProtected: false, sealed: true },
  { name: "plain", members: 1, capacity: null, passwordProtected: false, sealed: false },
];

async function withJoin(
  test: (view: JoinView, requests: JoinRequest[], dom: TestDom) => Promise<void>,
  load: () => Promise<RoomSummary[]> = () => Promise.resolve(ROOMS),
): Promise<void> {
  const dom = installDom();
  try {
    const requests: JoinRequest[] = [];
    const view = new JoinView((request) => requests.push(request), load);
    await test(view, requests, dom);
  } finally {
    await dom.close();
  }
}

const $ = (dom: TestDom, selector: string) => dom.document.querySelector(selector) as HTMLElement;
const field = (dom: TestDom, id: string) => dom.document.getElementById(id) as HTMLInputElement;

Deno.test("join: the room list shows counts and locks; full and plain rooms cannot be picked", () =>
  withJoin(async (view, _requests, dom) => {
    await view.refresh();
    const rows = [...dom.document.querySelectorAll("[data-room]")] as HTMLButtonElement[];
    assert.deepEqual(rows.map((r) => r.getAttribute("data-room")), [
      "open",
      "staff",
      "full",
      "plain",
    ]);
    assert.deepEqual(rows.map((r) => r.disabled), [false, false, true, true]);
    assert.equal(rows[0]!.textContent, "open 1 member");
    assert.equal(rows[1]!.textContent, "staff 2/10 members · password");
    assert.equal(rows[1]!.hasAttribute("data-locked"), true);
    assert.match(rows[3]!.textContent!, /terminal only/);
    assert.equal(view.summary("staff")?.capacity, 10);
  }));

Deno.test("join: picking an open room with a name joins it; a locked one asks for the password", () =>
  withJoin(async (view, requests, dom) => {
    await view.refresh();
    ($(dom, '[data-room="staff"]') as HTMLButtonElement).click();
    assert.equal(field(dom, "room").value, "staff");
    assert.equal(dom.document.activeElement?.id, "password");
    assert.match($(dom, "#join-error").textContent!, /has a password/);
    assert.deepEqual(requests, []);
    ($(dom, '[data-room="open"]') as HTMLButtonElement).click();
    assert.equal(dom.document.activeElement?.id, "name"); // no name yet
    field(dom, "name").value = " ann ";
    ($(dom, '[data-room="open"]') as HTMLButtonElement).click();
    assert.deepEqual(requests, [{ create: false, name: "ann", room: "open", password: "" }]);
  }));

Deno.test("join: Create and Join send what the form says, and say what is missing", () =>
  withJoin((_view, requests, dom) => {
    ($(dom, "#create") as HTMLButtonElement).click();
    assert.equal($(dom, "#join-error").textContent, "Pick a name first.");
    field(dom, "name").value = "ann";
    ($(dom, "#create") as HTMLButtonElement).click();
    assert.match($(dom, "#join-error").textContent!, /Pick a room/);
    field(dom, "room").value = "new room";
    field(dom, "password").value = "s3cret";
    ($(dom, "#create") as HTMLButtonElement).click();
    ($(dom, "#join") as HTMLButtonElement).click();
    assert.deepEqual(requests, [
      { create: true, name: "ann", room: "new room", password: "s3cret" },
      { create: false, name: "ann", room: "new room", password: "s3cret" },
    ]);
    assert.equal($(dom, "#join-error").textContent, "");
    return Promise.resolve();
  }));

Deno.test("join: a list that does not load says why, as text", () =>
  withJoin(async (view, _requests, dom) => {
    await view.refresh();
    assert.match($(dom, "#rooms-status").textContent!, /did not load: no route<b>\uFFFD/);
  }, () => Promise.reject(new Error("no route<b>\u202E"))));
