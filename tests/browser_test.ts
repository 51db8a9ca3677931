/// <reference lib="dom" />
/**
 * The web page end to end: a real `chat serve` (the serve task's command and
 * permissions), Debian's Chromium through puppeteer-core (testing/browser.ts),
 * terminal members as the non-interactive `chat join --json`, and a TCP proxy
 * the test controls (testing/cut_proxy.ts) in front of the pages whose
 * sockets it cuts. Rooms have random names; every wait is on DOM state or
 * output with a deadline; one Chromium and one server serve every case, each
 * case with its own pages (one browser context each) and room.
 *
 * Puppeteer keeps timers and sockets of its own, so the test runs without
 * Deno's op and resource sanitizers; `finally` closes the browser, the
 * proxies and every child process whatever happened.
 *
 * It also saves the phone-sized screenshot that `deno task screenshot:web`
 * publishes as docs/web.png.
 */
import assert from "node:assert/strict";
import { Children, type ServerProcess } from "../testing/cli.ts";
import { assertPageServed, startWebServe } from "../testing/web_serve.ts";
import {
  hidePage,
  showPage,
  TestBrowser,
  type TestPage,
  waitForCount,
  waitInPage,
} from "../testing/browser.ts";
import { CutProxy } from "../testing/cut_proxy.ts";
import {
  enterRoom,
  HOOKS,
  leaveRoom,
  openChat,
  readBanners,
  readLog,
  readMembers,
  readMessages,
  send,
  waitForBanner,
  waitForMember,
  waitForMessage,
  waitForNoBanner,
  waitInside,
} from "../testing/chat_page.ts";
import { pngSize, WEB_SCREENSHOT_SAVED } from "../tools/screenshot/web_paths.ts";
import {
  startTerminal,
  type Terminal,
  terminalMessages,
  terminalReady,
  terminalSaw,
  terminalSays,
} from "../testing/chat_terminal.ts";

/** An HTML-looking message that must show as these characters. */
const HTML_LOOKING = "<img src=x onerror=alert(1)>";

/** A fresh room name for one case. */
function roomName(what: string): string {
  return `${what}-${crypto.randomUUID().slice(0, 8)}`;
}

interface World {
  kids: Children;
  server: ServerProcess;
  httpPort: number;
  /** http://127.0.0.1:PORT/ (the server's own listener). */
  url: string;
  browser: TestBrowser;
  proxies: CutProxy[];
}

/** A proxy to the server's HTTP port, closed with the world. */
function proxyFor(world: World): { proxy: CutProxy; url: string } {
  const proxy = new CutProxy({ hostname: "127.0.0.1", port: world.httpPort });
  world.proxies.push(proxy);
  return { proxy, url: `http://127.0.0.1:${proxy.port}/` };
}

/** A terminal member of `room` on the test's server. */
function terminal(world: World, name: string, room: string, create: boolean): Terminal {
  return startTerminal(world.kids, world.server.address, { name, room, create });
}

/** Asserts that a page's log numbers each entry once, in increasing order. */
async function assertNoDuplicates(page: TestPage): Promise<void> {
  const seqs = (await readLog(page)).map((entry) => entry.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${page.label}: log out of order`);
  assert.equal(new Set(seqs).size, seqs.length, `${page.label}: a seq shown twice: ${seqs}`);
}

const BROWSER_STEP = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "the web page: pages and terminal members share rooms through a real chat serve",
  ...BROWSER_STEP,
  async fn(t) {
    const kids = new Children();
    const proxies: CutProxy[] = [];
    let browser: TestBrowser | null = null;
    try {
      const { server, httpPort, url } = await startWebServe(kids, ["--ws-grace", "120"]);
      await assertPageServed(url);
      browser = await TestBrowser.launch();
      const world: World = {
        kids,
        server,
        httpPort,
        url,
        browser,
        proxies,
      };

      await t.step({
        name: "two pages and a terminal member see each other's messages, in one order",
        ...BROWSER_STEP,
        fn: () => talkTogether(world),
      });
      await t.step({
        name: "the host leaving closes the room on every page",
        ...BROWSER_STEP,
        fn: () => hostLeaves(world),
      });
      await t.step({
        name: "an HTML-looking message shows as text",
        ...BROWSER_STEP,
        fn: () => htmlAsText(world),
      });
      await t.step({
        name: "a page whose socket is cut catches up without duplicates",
        ...BROWSER_STEP,
        fn: () => cutAndCatchUp(world),
      });
      await t.step({
        name: "a hidden page and a reloaded host page stay members",
        ...BROWSER_STEP,
        fn: () => hiddenAndReloaded(world),
      });
      await t.step({
        name: "a phone-sized screenshot of the chat view",
        ...BROWSER_STEP,
        fn: () => phoneScreenshot(world),
      });
    } finally {
      await browser?.close();
      for (const proxy of proxies) await proxy.close();
      await kids.dispose();
    }
  },
});

/**
 * Case 1: ann (host) and bob on pages, cli in `chat join --json`; all three
 * send two messages at once. Every one of them ends up with the same six
 * messages in the same (the room's) order, each sender's own in the order
 * sent, no seq twice.
 */
async function talkTogether(world: World): Promise<void> {
  const room = roomName("talk");
  const ann = await world.browser.newPage({ label: "ann" });
  const bob = await world.browser.newPage({ label: "bob" });
  await openChat(ann, world.url);
  await enterRoom(ann, { name: "ann", room, create: true });
  await openChat(bob, world.url);
  await enterRoom(bob, { name: "bob", room, create: false });
  const cli = terminal(world, "cli", room, false);
  await terminalReady(cli);
  await waitForMember(ann, "cli");
  await waitForMember(bob, "cli");

  // Everyone speaks at once; then everyone shows the same messages in the same order.
  await Promise.all([
    (async () => {
      await send(ann, "ann one");
      await send(ann, "ann two");
    })(),
    (async () => {
      await send(bob, "bob one");
      await send(bob, "bob two");
    })(),
    (async () => {
      await terminalSays(cli, "cli one");
      await terminalSays(cli, "cli two");
    })(),
  ]);
  const all = ["ann one", "ann two", "bob one", "bob two", "cli one", "cli two"];
  for (const page of [ann, bob]) {
    for (const text of all) await waitForMessage(page, text.split(" ")[0]!, text);
  }
  for (const text of all) await terminalSaw(cli, text.split(" ")[0]!, text);
  const seenByAnn = await readMessages(ann);
  assert.deepEqual(await readMessages(bob), seenByAnn);
  assert.deepEqual(terminalMessages(cli), seenByAnn);
  // Each sender's own messages in the order it sent them.
  for (const who of ["ann", "bob", "cli"]) {
    assert.deepEqual(
      seenByAnn.filter((line) => line.startsWith(`${who}: `)),
      [`${who}: ${who} one`, `${who}: ${who} two`],
    );
  }
  for (const page of [ann, bob]) {
    await assertNoDuplicates(page);
    assert.deepEqual(page.errors, [], `${page.label}: errors in the page`);
  }
  await cli.child.closeStdin();
  await cli.child.exited(10_000);
  await closePages(ann, bob);
}

/**
 * Case 2: the host's page leaves (saying yes to "Leaving closes the room for
 * everyone"): both other pages show the closed banner with the reason, the
 * terminal member gets `closed` with reason hostLeft and exits 0.
 */
async function hostLeaves(world: World): Promise<void> {
  const room = roomName("leave");
  const host = await world.browser.newPage({ label: "host" });
  const guests = [
    await world.browser.newPage({ label: "gus" }),
    await world.browser.newPage({ label: "gia" }),
  ];
  await openChat(host, world.url);
  await enterRoom(host, { name: "hana", room, create: true });
  for (const guest of guests) {
    await openChat(guest, world.url);
    await enterRoom(guest, { name: guest.label, room, create: false });
  }
  const cli = terminal(world, "tim", room, false);
  await terminalReady(cli);
  await waitForMember(host, "tim");

  await leaveRoom(host, true);
  for (const guest of guests) {
    const said = await waitForBanner(guest, "closed");
    assert.match(said, /host hana left/, `${guest.label}: the closed banner gives the reason`);
  }
  await waitForCount(host, "#join-screen:not([hidden])", 1); // the host is back at the rooms
  await cli.child.stdout.waitFor(/"type":"closed","reason":"hostLeft"/, 10_000);
  assert.equal(await cli.child.exited(10_000), 0, cli.child.describe());
  await closePages(host, ...guests);
}

/**
 * Case 3: `<img src=x onerror=alert(1)>` from a terminal and markup typed on
 * a page show as those characters (textContent equals them), with no img or
 * b element in the log, no dialog, no page error; and Trusted Types is on
 * (an HTML sink throws), so an injection would have failed loudly too.
 */
async function htmlAsText(world: World): Promise<void> {
  const room = roomName("html");
  const ann = await world.browser.newPage({ label: "ann" });
  const bob = await world.browser.newPage({ label: "bob" });
  await openChat(ann, world.url);
  await enterRoom(ann, { name: "ann", room, create: true });
  await openChat(bob, world.url);
  await enterRoom(bob, { name: "bob", room, create: false });
  const cli = terminal(world, "cli", room, false);
  await terminalReady(cli);

  await terminalSays(cli, HTML_LOOKING); // from a terminal
  await send(bob, `${HTML_LOOKING} <b>bold</b>`); // from a page
  for (const page of [ann, bob]) {
    await waitForMessage(page, "cli", HTML_LOOKING);
    await waitForMessage(page, "bob", `${HTML_LOOKING} <b>bold</b>`);
    const elements = await page.page.evaluate((log: string) => ({
      img: document.querySelectorAll(`${log} img`).length,
      b: document.querySelectorAll(`${log} b`).length,
    }), HOOKS.log);
    assert.deepEqual(elements, { img: 0, b: 0 }, `${page.label}: markup became elements`);
    assert.deepEqual(page.dialogs, [], `${page.label}: a dialog opened`);
    assert.deepEqual(page.errors, [], `${page.label}: errors (a Trusted Types violation?)`);
  }
  // Trusted Types is on: an HTML sink in this page throws.
  const sinkRefused = await ann.page.evaluate(() => {
    try {
      document.body.insertAdjacentHTML("beforeend", "<i>x</i>");
      return false;
    } catch (error) {
      return error instanceof TypeError;
    }
  });
  assert.equal(sinkRefused, true, "Trusted Types did not refuse an HTML sink");
  await cli.child.closeStdin();
  await closePages(ann, bob);
}

/**
 * Case 4: cora's page loads through a CutProxy. The proxy cuts its sockets
 * and refuses new ones; the page shows "reconnecting"; ann and cli send
 * three messages and cora one (pending). Then the proxy lets the page back:
 * it resumes, shows the three once each, in ann's order, and its own is
 * delivered once.
 */
async function cutAndCatchUp(world: World): Promise<void> {
  const room = roomName("cut");
  const { proxy, url } = proxyFor(world);
  const ann = await world.browser.newPage({ label: "ann" });
  const cut = await world.browser.newPage({ label: "cut" });
  await openChat(ann, world.url);
  await enterRoom(ann, { name: "ann", room, create: true });
  await openChat(cut, url);
  await enterRoom(cut, { name: "cora", room, create: false });
  const cli = terminal(world, "cli", room, false);
  await terminalReady(cli);
  await send(ann, "before the cut");
  await waitForMessage(cut, "ann", "before the cut");

  proxy.refuse(true);
  assert.ok(proxy.cutAll() >= 1, "the page had no connection through the proxy");
  await waitForBanner(cut, "reconnecting");
  const whileCut = ["ann: while cut 1", "cli: while cut 2", "ann: while cut 3"];
  await send(ann, "while cut 1");
  await waitForMessage(ann, "ann", "while cut 1");
  await terminalSays(cli, "while cut 2");
  await waitForMessage(ann, "cli", "while cut 2");
  await send(ann, "while cut 3");
  await waitForMessage(ann, "ann", "while cut 3");
  await send(cut, "sent while cut"); // pending; sent once on the new socket
  await waitForCount(cut, HOOKS.pending, 1);

  const acceptedWhileCut = proxy.accepted;
  proxy.refuse(false);
  await waitForMessage(cut, "ann", "while cut 3", 30_000);
  assert.ok(proxy.accepted > acceptedWhileCut, "the page came back through the proxy");
  await waitForMessage(ann, "cora", "sent while cut");
  await waitForMessage(cut, "cora", "sent while cut");
  await waitForNoBanner(cut, "reconnecting");
  const shown = await readMessages(cut);
  for (const line of [...whileCut, "cora: sent while cut"]) {
    assert.equal(shown.filter((l) => l === line).length, 1, `${line} shown once: ${shown}`);
  }
  assert.deepEqual(shown, await readMessages(ann), "the cut page shows what ann shows");
  await assertNoDuplicates(cut);
  await cli.child.closeStdin();
  await closePages(ann, cut);
}

/**
 * Case 5: iris's page is hidden the way a person hides one, behind another
 * tab of its browser context (visibilityState "hidden" for real, with
 * Chromium's throttling of hidden pages: puppeteer's flags that turn it off
 * are left out). The host hugo reloads his page (answering the beforeunload
 * warning a host gets): the page remembers room and name, asks for the
 * password again, and takes the membership back with its ticket. The hidden
 * page gets hugo's next message while still hidden; the room stays open on
 * both, hugo is still the host, and nobody was seen leaving or joining again.
 */
async function hiddenAndReloaded(world: World): Promise<void> {
  const room = roomName("grace");
  const password = "open sesame";
  const host = await world.browser.newPage({ label: "host" });
  const hidden = await world.browser.newPage({ label: "hidden" });
  await openChat(host, world.url);
  await enterRoom(host, { name: "hugo", room, create: true, password });
  await openChat(hidden, world.url);
  await enterRoom(hidden, { name: "iris", room, create: false, password });
  await hidePage(hidden);

  // The host reloads: the page remembers the room and name, asks for the password again.
  await host.page.reload({ waitUntil: "load" });
  await waitInPage(
    host,
    "the question for the password again",
    (selector: string) =>
      /password .* again/.test(document.querySelector(selector)?.textContent ?? ""),
    [HOOKS.joinError],
  );
  await host.page.locator(HOOKS.passwordInput).fill(password);
  await host.page.locator(HOOKS.joinButton).click();
  await waitInside(host, "hugo");
  await waitForMember(host, "iris");
  assert.ok(
    host.dialogs.some((d) => d.startsWith("beforeunload")),
    `the host was not warned before the reload: ${host.dialogs}`,
  );
  await send(host, "back after a reload");
  // The hidden page still receives, still sees the room open and hugo as its host.
  await waitForMessage(hidden, "hugo", "back after a reload");
  await showPage(hidden);
  await send(hidden, "still here");
  await waitForMessage(host, "iris", "still here");
  for (const page of [host, hidden]) {
    const members = await readMembers(page);
    assert.deepEqual(
      members.filter((m) => m.host).map((m) => m.name),
      ["hugo"],
      `${page.label}: host mark`,
    );
    assert.equal((await readBanners(page)).closed, undefined, `${page.label}: closed`);
  }
  // No one left and joined again: a takeover is silent.
  const notices = (await readLog(hidden)).filter((e) => e.kind !== "message");
  assert.deepEqual(notices.map((e) => `${e.name} ${e.kind}`), ["hugo joined", "iris joined"]);
  await closePages(host, hidden);
}

/**
 * The screenshot: a 390×844 phone (scale 2, touch) through a CutProxy, in a
 * room a terminal user (sam) hosts; sam's greeting and the HTML-looking
 * message, maya's reply, then one message kept pending by pausing the proxy
 * (the socket stays open, its bytes held) while the picture is taken. Saved
 * to dist/web-screenshot.png; `deno task screenshot:web` publishes it.
 */
async function phoneScreenshot(world: World): Promise<void> {
  const room = `lab-${crypto.randomUUID().slice(0, 4)}`;
  const { proxy, url } = proxyFor(world);
  const cli = terminal(world, "sam", room, true); // a terminal user hosts
  await terminalReady(cli);
  const phone = await world.browser.newPage({
    label: "phone",
    viewport: { width: 390, height: 844, deviceScaleFactor: 2, mobile: true },
  });
  await openChat(phone, url);
  await enterRoom(phone, { name: "maya", room, create: false });
  await cli.child.stdout.waitFor(/"type":"joined".*"name":"maya"/, 10_000);
  await terminalSays(cli, "hi maya! lab notes are in the shared folder");
  await waitForMessage(phone, "sam", "hi maya! lab notes are in the shared folder");
  await terminalSays(cli, HTML_LOOKING);
  await waitForMessage(phone, "sam", HTML_LOOKING);
  await send(phone, "thanks, reading them now");
  await waitForMessage(phone, "maya", "thanks, reading them now");
  await terminalSaw(cli, "maya", "thanks, reading them now");

  proxy.pause(); // the next message stays pending while the bytes are held
  await send(phone, "see you at 5?");
  await waitForCount(phone, HOOKS.pending, 1);
  // What the picture must show: the terminal user marked host, a join notice, the text.
  assert.deepEqual(await readMembers(phone), [
    { name: "sam", host: true },
    { name: "maya", host: false },
  ]);
  const log = await readLog(phone);
  assert.ok(log.some((e) => e.kind === "joined" && e.name === "maya"), "a join notice");
  assert.ok(log.some((e) => e.text === HTML_LOOKING), "the HTML-looking message as text");
  await Deno.mkdir("dist", { recursive: true });
  await phone.page.screenshot({ path: WEB_SCREENSHOT_SAVED, type: "png" });
  proxy.resume();
  await waitForMessage(phone, "maya", "see you at 5?", 20_000);

  const size = pngSize(await Deno.readFile(WEB_SCREENSHOT_SAVED));
  assert.deepEqual(size, { width: 780, height: 1688 });
  await cli.child.closeStdin();
  await closePages(phone);
}

async function closePages(...pages: TestPage[]): Promise<void> {
  for (const page of pages) await page.context.close().catch(() => {});
}
