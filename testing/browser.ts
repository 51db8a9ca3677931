/// <reference lib="dom" />
/**
 * Headless Chromium for the browser test, driven through puppeteer-core.
 *
 * It runs Debian's binary itself, /usr/lib/chromium/chromium: the
 * /usr/bin/chromium wrapper script prints a shell error on this machine.
 * Every browser gets a fresh profile directory, the flags that keep it off
 * the network (this machine refuses outside connections, and Chromium would
 * retry them all the time), a fixed time zone and locale, and one browser
 * context per page, so that each page has its own storage and cookies, as
 * two people on two machines would.
 *
 * A missing Chromium is an error naming the package, never a skip: .ci/run
 * installs it, and a test that quietly did nothing would hide that it broke.
 *
 * Puppeteer keeps timers and sockets of its own that Deno's op and resource
 * sanitizers would report: a Deno.test that uses this module turns them off
 * (`sanitizeOps: false, sanitizeResources: false`) and calls
 * {@linkcode TestBrowser.close} in `finally`, which ends the process whatever
 * state it is in.
 */
import puppeteer, {
  type Browser,
  type BrowserContext,
  type EvaluateFunc,
  type Page,
} from "puppeteer-core";

/** Debian's Chromium binary (package `chromium`). */
export const CHROMIUM_PATH = "/usr/lib/chromium/chromium";

/** The time zone every page runs in, so times on screen are the same on every machine. */
export const TEST_TIME_ZONE = "Europe/Paris";

/** Chromium's flags: headless, as root, and nothing that reaches past loopback. */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--no-sandbox", // the tests run as root, which the sandbox refuses
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--no-first-run",
  "--no-default-browser-check",
  "--lang=en-US",
];

/**
 * Puppeteer's default flags that make a background tab behave like a visible
 * one. Left out, so that a hidden page here is throttled as in a real browser.
 */
const KEEP_BACKGROUND_THROTTLING: readonly string[] = [
  "--disable-background-timer-throttling",
  "--disable-backgrounding-occluded-windows",
  "--disable-renderer-backgrounding",
];

/** Chromium is not installed where the test looks for it. */
export class ChromiumMissingError extends Error {
  constructor(path: string) {
    super(
      `Chromium is missing: no executable ${path}. The browser test needs Debian's chromium ` +
        `(apt-get install chromium; .ci/run installs it when it is missing).`,
    );
    this.name = "ChromiumMissingError";
  }
}

/** Throws {@linkcode ChromiumMissingError} unless `path` is an executable file. */
export function requireChromium(path: string = CHROMIUM_PATH): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new ChromiumMissingError(path);
    throw error;
  }
  if (!info.isFile || ((info.mode ?? 0o111) & 0o111) === 0) throw new ChromiumMissingError(path);
}

/** Options of one page. */
export interface PageOptions {
  /** The viewport (default 1000 × 800 at scale 1). */
  viewport?: { width: number; height: number; deviceScaleFactor?: number; mobile?: boolean };
  /** A label for failure messages (default "page N"). */
  label?: string;
}

/** A page in its own browser context, with what it did that a test may want to forbid. */
export interface TestPage {
  readonly label: string;
  readonly page: Page;
  readonly context: BrowserContext;
  /**
   * Every dialog it opened, as "type: message": alerts, confirms and prompts
   * (dismissed at once), and "beforeunload: " (accepted, so a reload goes on).
   */
  readonly dialogs: string[];
  /** Uncaught exceptions in the page, and console errors (a Trusted Types violation among them). */
  readonly errors: string[];
}

/** One running Chromium and the pages a test opened in it. */
export class TestBrowser {
  readonly browser: Browser;
  readonly #profile: string;
  readonly #pages: TestPage[] = [];
  #closed = false;

  private constructor(browser: Browser, profile: string) {
    this.browser = browser;
    this.#profile = profile;
  }

  /**
   * Starts Chromium headless with a fresh profile directory. Throws
   * {@linkcode ChromiumMissingError} when it is not installed.
   */
  static async launch(options: { executablePath?: string } = {}): Promise<TestBrowser> {
    const executablePath = options.executablePath ?? CHROMIUM_PATH;
    requireChromium(executablePath);
    const profile = await Deno.makeTempDir({ prefix: "chat-chromium-" });
    try {
      const browser = await puppeteer.launch({
        executablePath,
        headless: true,
        userDataDir: profile,
        args: [...CHROMIUM_FLAGS],
        ignoreDefaultArgs: [...KEEP_BACKGROUND_THROTTLING],
        env: { ...Deno.env.toObject(), TZ: TEST_TIME_ZONE, LANG: "en_US.UTF-8" },
        // The test owns the process: no signal handlers left behind in Deno.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
        timeout: 30_000,
        protocolTimeout: 30_000,
      });
      return new TestBrowser(browser, profile);
    } catch (error) {
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** Opens a page in a new browser context (its own storage), time zone {@linkcode TEST_TIME_ZONE}. */
  async newPage(options: PageOptions = {}): Promise<TestPage> {
    const context = await this.browser.createBrowserContext();
    const page = await context.newPage();
    const label = options.label ?? `page ${this.#pages.length + 1}`;
    const testPage: TestPage = { label, page, context, dialogs: [], errors: [] };
    this.#pages.push(testPage);
    page.on("dialog", (dialog) => {
      testPage.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      // A "leave this page?" question is answered yes, so a reload goes ahead; any other
      // dialog is dismissed.
      const answer = dialog.type() === "beforeunload" ? dialog.accept() : dialog.dismiss();
      answer.catch(() => {});
    });
    page.on("pageerror", (error) => {
      testPage.errors.push(error instanceof Error ? error.message : String(error));
    });
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      // Chromium asks every site for /favicon.ico; the page has none, and that is no error of it.
      if (new URL(message.location().url ?? "", "http://x/").pathname === "/favicon.ico") return;
      testPage.errors.push(message.text());
    });
    await page.emulateTimezone(TEST_TIME_ZONE);
    const viewport = options.viewport ?? { width: 1000, height: 800 };
    await page.setViewport({
      width: viewport.width,
      height: viewport.height,
      deviceScaleFactor: viewport.deviceScaleFactor ?? 1,
      isMobile: viewport.mobile ?? false,
      hasTouch: viewport.mobile ?? false,
    });
    return testPage;
  }

  /**
   * Closes every context and the browser, kills the process if it is still
   * there, and removes the profile directory. Never throws; safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const process = this.browser.process();
    for (const { context } of this.#pages) await context.close().catch(() => {});
    await withTimeout(this.browser.close(), 10_000).catch(() => {});
    if (process !== null && process.exitCode === null && process.signalCode === null) {
      process.kill("SIGKILL");
      await withTimeout(
        new Promise<void>((resolve) => process.once("exit", () => resolve())),
        5_000,
      ).catch(() => {});
    }
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined = undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until `selector` matches at least `count` elements in the page
 * (checked on every DOM change, so a hidden page whose animation frames are
 * paused still answers), or fails after `timeoutMs` naming what it waited for
 * and how many there were.
 */
export async function waitForCount(
  target: TestPage,
  selector: string,
  count: number,
  timeoutMs = 15_000,
): Promise<void> {
  try {
    await target.page.waitForFunction(
      (sel: string, n: number) => document.querySelectorAll(sel).length >= n,
      { polling: "mutation", timeout: timeoutMs },
      selector,
      count,
    );
  } catch (error) {
    const found = await target.page
      .evaluate((sel: string) => document.querySelectorAll(sel).length, selector)
      .catch(() => "?");
    throw new Error(
      `${target.label}: waited ${timeoutMs} ms for ${count} × ${selector}, found ${found}: ` +
        (error instanceof Error ? error.message : String(error)),
    );
  }
}

/**
 * Waits until `predicate` (run in the page with `args`) is true, re-checking
 * on every DOM change and every 100 ms; fails after `timeoutMs` naming `what`.
 */
export async function waitInPage<A extends unknown[]>(
  target: TestPage,
  what: string,
  predicate: EvaluateFunc<A>,
  args: A,
  timeoutMs = 15_000,
): Promise<void> {
  try {
    await target.page.waitForFunction(predicate, { polling: 100, timeout: timeoutMs }, ...args);
  } catch (error) {
    throw new Error(
      `${target.label}: no ${what} within ${timeoutMs} ms: ` +
        (error instanceof Error ? error.message : String(error)),
    );
  }
}

/**
 * Hides a page as a person does by switching tabs: a blank tab opens in the
 * same browser context, in front of it. The page's `document.visibilityState`
 * becomes "hidden" for real, with Chromium's throttling of hidden pages.
 * {@linkcode showPage} brings it back.
 */
export async function hidePage(target: TestPage): Promise<void> {
  const cover = await target.context.newPage();
  covers.set(target, cover);
  await cover.bringToFront();
  await waitInPage(
    target,
    "visibilityState hidden",
    () => document.visibilityState === "hidden",
    [],
  );
}

/** Closes the tab {@linkcode hidePage} opened and brings the page to the front again. */
export async function showPage(target: TestPage): Promise<void> {
  const cover = covers.get(target);
  covers.delete(target);
  await target.page.bringToFront();
  await cover?.close();
  await waitInPage(
    target,
    "visibilityState visible",
    () => document.visibilityState === "visible",
    [],
  );
}

const covers = new WeakMap<TestPage, Page>();
