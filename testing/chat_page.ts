/// <reference lib="dom" />
/**
 * The chat page as the browser test drives it: fill the entry form, send,
 * read the log, the member list and the status banner, through the DOM hooks
 * that docs/web.md documents (every selector is in {@linkcode HOOKS}, so a
 * change of the page is one change here).
 *
 * Every wait is on DOM state with a deadline, checked on each DOM change.
 */
import { type TestPage, waitForCount, waitInPage } from "./browser.ts";

/** The page's DOM hooks (client/web/index.html and docs/web.md). */
export const HOOKS = {
  nameInput: "#name",
  roomInput: "#room",
  passwordInput: "#password",
  createButton: "#create",
  joinButton: "#join",
  /** Where a refused request says why. */
  joinError: "#join-error",
  leaveButton: "#leave",
  /** The confirmation bar's "yes" (a host leaving is asked first). */
  confirmYes: "#paste-confirm:not([hidden]) #paste-send",
  chatScreen: "#chat-screen:not([hidden])",
  composer: "#composer",
  /** The log (role=log). */
  log: "#log",
  /** Each room event in it: data-seq, data-kind=message|joined|left|timedOut. */
  entry: "#log [data-seq]",
  /** A message of ours the server has not relayed yet. */
  pending: "#log [data-state=pending]",
  /** Inside an entry: the name and the message text, each a <bdi>. */
  entryName: "bdi.name",
  entryText: "bdi.text",
  /** The member list: data-member=<name>, the host with data-host. */
  members: "#members [data-member]",
  /** Status banners: role=status, data-banner=insecure|reconnecting|closed|idle|outdated. */
  banner: "[data-banner]",
} as const;

/** One entry of the log as the page shows it. */
export interface LogEntry {
  seq: number;
  /** data-kind: "message", "joined", "left", "timedOut". */
  kind: string;
  /** The author's name (a message) or the member's (a notice). */
  name: string;
  /** A message's text as shown (textContent), "" for a notice. */
  text: string;
  /** data-state of a message of ours: "pending", "delivered", "undelivered"; "" otherwise. */
  state: string;
}

/** How to enter a room from the entry form. */
export interface EnterOptions {
  name: string;
  room: string;
  create: boolean;
  password?: string;
}

/** Opens `url` in the page and waits for the join form. */
export async function openChat(target: TestPage, url: string): Promise<void> {
  await target.page.goto(url, { waitUntil: "load", timeout: 20_000 });
  await waitForCount(target, HOOKS.nameInput, 1);
}

/**
 * Fills the join form and creates or joins; waits until the chat screen
 * shows us in the member list (or fails quoting the form's error).
 */
export async function enterRoom(target: TestPage, options: EnterOptions): Promise<void> {
  const { page } = target;
  await fillField(target, HOOKS.nameInput, options.name);
  await fillField(target, HOOKS.roomInput, options.room);
  await fillField(target, HOOKS.passwordInput, options.password ?? "");
  await page.locator(options.create ? HOOKS.createButton : HOOKS.joinButton).click();
  await waitInside(target, options.name);
}

/** Waits until the chat screen shows `name` in its member list; quotes the form's error if not. */
export async function waitInside(target: TestPage, name: string): Promise<void> {
  try {
    await waitForMember(target, name);
  } catch (error) {
    const said = await target.page
      .$eval(HOOKS.joinError, (el) => el.textContent ?? "")
      .catch(() => "?");
    throw new Error(`${(error as Error).message}; the join form says: ${JSON.stringify(said)}`);
  }
}

/** Replaces an input's value by typing `value` (a real person's events). */
export async function fillField(target: TestPage, selector: string, value: string): Promise<void> {
  await target.page.locator(selector).fill(value);
}

/** Clicks Leave, and for a host says yes to "Leaving closes the room for everyone". */
export async function leaveRoom(target: TestPage, asHost: boolean): Promise<void> {
  await target.page.locator(HOOKS.leaveButton).click();
  if (asHost) await target.page.locator(HOOKS.confirmYes).click();
}

/** Types `text` in the composer and presses Enter. */
export async function send(target: TestPage, text: string): Promise<void> {
  const composer = target.page.locator(HOOKS.composer);
  await composer.fill(text);
  await target.page.keyboard.press("Enter");
}

/** The log's numbered entries, in page order. */
export function readLog(target: TestPage): Promise<LogEntry[]> {
  return target.page.evaluate(
    (selector: string) =>
      [...document.querySelectorAll<HTMLElement>(selector)].map((el) => ({
        seq: Number(el.dataset.seq),
        kind: el.dataset.kind ?? "",
        name: el.querySelector("[data-name]")?.textContent ?? "",
        text: el.querySelector("[data-text]")?.textContent ?? "",
        state: el.dataset.state ?? "",
      })),
    HOOKS.entry,
  );
}

/** The messages in the log, as "name: text", in page order. */
export async function readMessages(target: TestPage): Promise<string[]> {
  return (await readLog(target))
    .filter((entry) => entry.kind === "message")
    .map((entry) => `${entry.name}: ${entry.text}`);
}

/** Waits until the log shows a message `text` from `name` (confirmed: it has a seq). */
export async function waitForMessage(
  target: TestPage,
  name: string,
  text: string,
  timeoutMs = 15_000,
): Promise<void> {
  await waitInPage(
    target,
    `message ${JSON.stringify(`${name}: ${text}`)}`,
    (selector: string, name: string, text: string) =>
      [...document.querySelectorAll<HTMLElement>(selector)].some((el) =>
        el.dataset.kind === "message" &&
        el.querySelector("bdi.name")?.textContent === name &&
        el.querySelector("bdi.text")?.textContent === text
      ),
    [HOOKS.entry, name, text],
    timeoutMs,
  );
}

/** The member list: names, and which one is marked host. */
export function readMembers(target: TestPage): Promise<{ name: string; host: boolean }[]> {
  return target.page.evaluate(
    (selector: string) =>
      [...document.querySelectorAll<HTMLElement>(selector)].map((el) => ({
        name: el.dataset.member ?? "",
        host: el.hasAttribute("data-host"),
      })),
    HOOKS.members,
  );
}

/** Waits until the member list shows `name`. */
export async function waitForMember(target: TestPage, name: string): Promise<void> {
  await waitInPage(
    target,
    `member ${name}`,
    (selector: string, name: string) =>
      [...document.querySelectorAll<HTMLElement>(selector)].some((el) =>
        el.dataset.member === name
      ),
    [HOOKS.members, name],
  );
}

/** The banners shown, as kind → text. */
export function readBanners(target: TestPage): Promise<Record<string, string>> {
  return target.page.evaluate(
    (selector: string) =>
      Object.fromEntries(
        [...document.querySelectorAll<HTMLElement>(selector)].map((el) => [
          el.dataset.banner ?? "",
          el.textContent?.trim() ?? "",
        ]),
      ),
    HOOKS.banner,
  );
}

/** Waits until the banner of `kind` is shown; returns its text. */
export async function waitForBanner(
  target: TestPage,
  kind: string,
  timeoutMs = 15_000,
): Promise<string> {
  await waitInPage(
    target,
    `the ${kind} banner`,
    (selector: string) => document.querySelector(selector) !== null,
    [`[data-banner="${kind}"]`],
    timeoutMs,
  );
  return (await readBanners(target))[kind] ?? "";
}

/** Waits until the banner of `kind` is gone. */
export async function waitForNoBanner(
  target: TestPage,
  kind: string,
  timeoutMs = 15_000,
): Promise<void> {
  await waitInPage(
    target,
    `no ${kind} banner`,
    (selector: string) => document.querySelector(selector) === null,
    [`[data-banner="${kind}"]`],
    timeoutMs,
  );
}
