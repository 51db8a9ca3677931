/// <reference lib="dom" />
import assert from "node:assert/strict";
import {
  CHROMIUM_PATH,
  ChromiumMissingError,
  hidePage,
  requireChromium,
  showPage,
  TEST_TIME_ZONE,
  TestBrowser,
  waitForCount,
} from "./browser.ts";

/** Puppeteer keeps timers and sockets of its own; TestBrowser.close() ends them all. */
const BROWSER_TEST = { sanitizeOps: false, sanitizeResources: false };

const PAGE = `<!doctype html><meta charset="utf-8"><title>t</title>
<ul id="log"></ul>
<button id="add" onclick="">add</button>
<script src="/app.js"></script>`;
const APP = `
document.getElementById("add").addEventListener("click", () => {
  const li = document.createElement("li");
  li.dataset.seq = String(document.querySelectorAll("[data-seq]").length + 1);
  li.textContent = new Date(Date.UTC(2026, 0, 15, 12, 0)).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  document.getElementById("log").append(li);
});`;

function serveTrivialPage(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/app.js") {
      return new Response(APP, { headers: { "content-type": "text/javascript" } });
    }
    return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
  });
}

Deno.test("requireChromium names the package when the binary is missing", async () => {
  assert.throws(
    () => requireChromium("/nonexistent/chromium"),
    (error: unknown) =>
      error instanceof ChromiumMissingError && /apt-get install chromium/.test(error.message),
  );
  await assert.rejects(
    () => TestBrowser.launch({ executablePath: "/nonexistent/chromium" }),
    ChromiumMissingError,
  );
});

Deno.test(
  "TestBrowser: Debian's chromium shows a local page, one context per page, a fixed time zone, and close() ends the process",
  BROWSER_TEST,
  async () => {
    requireChromium(CHROMIUM_PATH);
    const server = serveTrivialPage();
    const browser = await TestBrowser.launch();
    const pid = browser.browser.process()?.pid;
    try {
      assert.ok(pid !== undefined);
      const url = `http://127.0.0.1:${server.addr.port}/`;
      const a = await browser.newPage({ label: "a" });
      const b = await browser.newPage({ label: "b" });
      await Promise.all([a.page.goto(url), b.page.goto(url)]);
      await a.page.click("#add");
      await a.page.click("#add");
      await waitForCount(a, "[data-seq]", 2);
      // 12:00 UTC in January is 13:00 in Paris.
      assert.equal(await a.page.$eval("[data-seq='1']", (e) => e.textContent), "13:00");
      assert.equal(
        await a.page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone),
        TEST_TIME_ZONE,
      );
      // Separate contexts: storage written by one page is not seen by the other.
      await a.page.evaluate(() => localStorage.setItem("who", "a"));
      assert.equal(await b.page.evaluate(() => localStorage.getItem("who")), null);
      // Dialogs are dismissed and recorded.
      await a.page.evaluate(() => alert("hi"));
      assert.deepEqual(a.dialogs, ["alert: hi"]);
      assert.deepEqual(b.dialogs, []);
      // A page hidden behind another tab of its context is really hidden, and still works.
      await hidePage(b);
      assert.equal(await b.page.evaluate(() => document.visibilityState), "hidden");
      await b.page.evaluate(() => document.getElementById("add")!.click());
      await waitForCount(b, "[data-seq]", 1);
      await showPage(b);
      assert.equal(await b.page.evaluate(() => document.hidden), false);
      assert.deepEqual([...a.errors, ...b.errors], []);
      await waitForCount(b, "[data-seq]", 5, 300).then(
        () => assert.fail("there is only one"),
        (error: Error) =>
          assert.match(error.message, /b: waited 300 ms for 5 × \[data-seq\], found 1/),
      );
    } finally {
      await browser.close();
      await server.shutdown();
    }
    // The process is gone (kill 0 only checks that it exists).
    assert.throws(() => Deno.kill(pid!, "SIGCONT"));
  },
);
