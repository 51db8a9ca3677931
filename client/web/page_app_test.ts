import assert from "node:assert/strict";
import { CloseReason } from "../../protocol/datagram.ts";
import type { RoomSummary } from "../../protocol/tcrp.ts";
import { ChatRefusedError } from "../errors.ts";
import { nobleCrypto } from "../../crypto/noble_crypto.ts";
import { ChatClosedError, type ResumeTicket } from "./client_api.ts";
import { installDom, type TestDom } from "./dom_test_util.ts";
import { FakeSession } from "./fake_session_test_util.ts";
import type { JoinRequest } from "./join_view.ts";
import { type PageApp, type PageDeps, servedKeyCheck, startPage } from "./page_app.ts";
import { type KeyValueStore, NAME_KEY, RESUME_KEY } from "./page_storage.ts";

const KEY = new Uint8Array(32).fill(7);
const TICKET = { session: "0011223344556677", proof: "ab".repeat(32) };
const ROOMS: RoomSummary[] = [
  { name: "open", members: 1, capacity: null, passwordProtected: false, sealed: true },
  { name: "staff", members: 1, capacity: null, passwordProtected: true, sealed: true },
];

function memory(
  entries: Record<string, string> = {},
): KeyValueStore & { map: Map<string, string> } {
  const map = new Map(Object.entries(entries));
  return {
    map,
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

interface Harness {
  dom: TestDom;
  app: PageApp;
  opened: { request: JoinRequest; ticket: ResumeTicket | null }[];
  sessions: FakeSession[];
  local: ReturnType<typeof memory>;
  session: ReturnType<typeof memory>;
  reloads: number;
  $(selector: string): HTMLElement | null;
  click(selector: string): void;
}

/** Polls `check` until it holds, for at most 2 s. */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within 2 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

async function withPage(
  options: {
    deps?: Partial<PageDeps>;
    local?: Record<string, string>;
    session?: Record<string, string>;
    refuse?: () => Error;
  },
  test: (h: Harness) => Promise<void>,
): Promise<void> {
  const dom = installDom();
  try {
    const $ = (selector: string) => dom.document.querySelector(selector) as HTMLElement | null;
    const h: Harness = {
      dom,
      app: null!,
      opened: [],
      sessions: [],
      local: memory(options.local),
      session: memory(options.session),
      reloads: 0,
      $,
      click: (selector) => ($(selector) as HTMLButtonElement).click(),
    };
    h.app = startPage({
      serverKeyBase64: btoa(String.fromCharCode(...KEY)),
      build: "0123456789ab",
      location: { protocol: "http:", host: "10.0.0.2:8080", hash: "" },
      secure: true,
      local: h.local,
      session: h.session,
      crypto: () => nobleCrypto,
      open: (_link, request, ticket) => {
        h.opened.push({ request, ticket });
        const refusal = options.refuse?.();
        if (refusal !== undefined) return Promise.reject(refusal);
        const session = new FakeSession(request.name, request.room);
        session.members = [request.name];
        h.sessions.push(session);
        return Promise.resolve(session);
      },
      list: () => Promise.resolve(ROOMS),
      reload: () => h.reloads++,
      ...options.deps,
    });
    await h.app.ready;
    await test(h);
  } finally {
    await dom.close();
  }
}

const fill = (
  h: Harness,
  id: string,
  value: string,
) => ((h.dom.document.getElementById(id) as HTMLInputElement).value = value);

Deno.test("page: plain http shows the insecure banner; a secure context does not", async () => {
  await withPage({ deps: { secure: false } }, (h) => {
    assert.match(h.$("[data-banner=insecure]")!.textContent!, /only against passive listeners/);
    return Promise.resolve();
  });
  await withPage({}, (h) => {
    assert.equal(h.$("[data-banner]") === null, true);
    return Promise.resolve();
  });
});

Deno.test("page: a page whose meta tags were not filled says it cannot connect", () =>
  withPage({ deps: { serverKeyBase64: "{{SERVER_KEY}}" } }, (h) => {
    assert.match(h.$("[data-banner=closed]")!.textContent!, /cannot connect/);
    assert.equal(h.dom.document.querySelectorAll("[data-room]").length, 0);
    return Promise.resolve();
  }));

Deno.test("page: the served key is the only one accepted", () => {
  const check = servedKeyCheck(KEY);
  check(KEY.slice());
  assert.throws(() => check(new Uint8Array(32)), /other than the one this page was served with/);
});

Deno.test("page: joining opens a session without a ticket, remembers the name, shows the room", () =>
  withPage({}, async (h) => {
    fill(h, "name", "ann");
    fill(h, "room", "open");
    h.click("#join");
    await until("in the room", () => !h.$("#chat-screen")!.hidden);
    assert.deepEqual(h.opened, [{
      request: { create: false, name: "ann", room: "open", password: "" },
      ticket: null,
    }]);
    assert.equal(h.local.map.get(NAME_KEY), "ann");
    assert.equal(h.$("#join-screen")!.hidden, true);
    h.sessions[0]!.events.push({
      type: "welcome",
      room: "open",
      host: "ann",
      members: ["ann"],
      rejoined: false,
    });
    await until("remembered", () => h.session.map.has(RESUME_KEY));
    assert.deepEqual(JSON.parse(h.session.map.get(RESUME_KEY)!), {
      room: "open",
      name: "ann",
      ticket: null,
      wasHost: true,
    });
    h.click("#leave"); // the host is asked
    h.click("#paste-send");
    await until("back on the join screen", () => !h.$("#join-screen")!.hidden);
    assert.equal(h.session.map.has(RESUME_KEY), false);
  }));

const remembered = (room: string) =>
  JSON.stringify({ room, name: "ann", ticket: TICKET, wasHost: true });

Deno.test("page: after a reload into an open room, it joins again at once with the ticket", () =>
  withPage({ session: { [RESUME_KEY]: remembered("open") } }, async (h) => {
    await until("opened", () => h.opened.length === 1);
    assert.deepEqual(h.opened[0]!.request, {
      create: false,
      name: "ann",
      room: "open",
      password: "",
    });
    assert.equal(h.opened[0]!.ticket?.sessionId.length, 8);
  }));

Deno.test("page: after a reload into a locked room, it asks the password, then sends the ticket", () =>
  withPage({ session: { [RESUME_KEY]: remembered("staff") } }, async (h) => {
    assert.equal(h.opened.length, 0);
    assert.match(h.$("#join-error")!.textContent!, /password of "staff" again/);
    assert.equal(h.dom.document.activeElement?.id, "password");
    fill(h, "password", "pw");
    h.click("#join");
    await until("opened", () => h.opened.length === 1);
    assert.equal(h.opened[0]!.request.password, "pw");
    assert.notEqual(h.opened[0]!.ticket, null);
  }));

Deno.test("page: after a reload into a room that closed, the membership is forgotten", () =>
  withPage({ session: { [RESUME_KEY]: remembered("gone") } }, (h) => {
    assert.equal(h.opened.length, 0);
    assert.equal(h.session.map.has(RESUME_KEY), false);
    assert.match(h.$("#join-error")!.textContent!, /no longer open/);
    return Promise.resolve();
  }));

Deno.test("page: a refusal is said on the join screen; a wrong password asks again", () =>
  withPage({ refuse: () => new ChatRefusedError(401, "wrong or missing password") }, async (h) => {
    fill(h, "name", "ann");
    fill(h, "room", "staff");
    h.click("#join");
    await until("refused", () => /Wrong password/.test(h.$("#join-error")!.textContent!));
    assert.equal(h.dom.document.activeElement?.id, "password");
    assert.equal((h.$("#join") as HTMLButtonElement).disabled, false);
  }));

Deno.test("page: close 4426 while connecting shows the out-of-date banner, whose button reloads", () =>
  withPage({ refuse: () => new ChatClosedError(4426, "this page is out of date") }, async (h) => {
    fill(h, "name", "ann");
    fill(h, "room", "open");
    h.click("#join");
    await until("banner", () => h.$("[data-banner=outdated]") !== null);
    h.click("[data-banner=outdated] button");
    assert.equal(h.reloads, 1);
  }));

Deno.test("page: removed for idleness, the banner's Rejoin joins the same room again", () =>
  withPage({}, async (h) => {
    fill(h, "name", "ann");
    fill(h, "room", "new");
    fill(h, "password", "pw");
    h.click("#create");
    await until("opened", () => h.sessions.length === 1);
    h.sessions[0]!.events.push({ type: "closed", reason: CloseReason.IDLE, text: "idle" });
    h.sessions[0]!.events.end();
    await until("idle banner", () => h.$("[data-banner=idle]") !== null);
    h.click("[data-banner=idle] button");
    await until("opened again", () => h.opened.length === 2);
    assert.deepEqual(h.opened[1]!.request, {
      create: false,
      name: "ann",
      room: "new",
      password: "pw",
    });
    assert.ok(h.$("[data-banner=idle]") === null, "the idle banner is gone");
  }));
