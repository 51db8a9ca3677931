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

/** The page's DOM hooks (docs/web.md). */
export const HOOKS = {
  nameInput: "#name",
  roomInput: "#room",
  passwordInput: "#password",
  createButton: "[data-action=create]",
  joinButton: "[data-action=join]",
  leaveButton: "[data-action=leave]",
  composer: "#composer",
  /** The log (role=log); each event in it carries data-seq once the server numbered it. */
  log: "[role=log]",
  entry: "[role=log] [data-seq]",
  /** A message of ours the server has not confirmed yet. */
  pending: "[role=log] [data-state=pending]",
  members: "[data-member]",
  hostMember: "[data-member][data-host]",
  banner: "[role=status]",
} as const;

/** One entry of the log as the page shows it. */
export interface LogEntry {
  seq: number;
  /** "message", "joined", "left", ... (data-kind). */
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

/** Opens `url` in the page and waits for the entry form. */
export async function openChat(target: TestPage, url: string): Promise<void> {
  await target.page.goto(url, { waitUntil: "load", timeout: 20_000 });
  await waitForCount(target, HOOKS.nameInput, 1);
}

/** Fills the entry form and creates or joins; waits until the member list shows us. */
export async function enterRoom(target: TestPage, options: EnterOptions): Promise<void> {
  const { page } = target;
  await page.locator(HOOKS.nameInput).fill(options.name);
  await page.locator(HOOKS.roomInput).fill(options.room);
  if (options.password !== undefined) {
    await page.locator(HOOKS.passwordInput).fill(options.password);
  }
  await page.locator(options.create ? HOOKS.createButton : HOOKS.joinButton).click();
  await waitForMember(target, options.name);
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
        el.querySelector("[data-name]")?.textContent === name &&
        el.querySelector("[data-text]")?.textContent === text
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

/** The status banner's text ("" when none is shown). */
export function readBanner(target: TestPage): Promise<string> {
  return target.page.evaluate(
    (selector: string) =>
      [...document.querySelectorAll<HTMLElement>(selector)]
        .filter((el) => !el.hidden)
        .map((el) => el.textContent?.trim() ?? "")
        .filter((text) => text !== "")
        .join(" | "),
    HOOKS.banner,
  );
}

/** Waits until the status banner's text matches `pattern` (a regex source, case-insensitive). */
export async function waitForBanner(
  target: TestPage,
  pattern: string,
  timeoutMs = 15_000,
): Promise<void> {
  await waitInPage(
    target,
    `a status banner matching /${pattern}/i`,
    (selector: string, pattern: string) =>
      [...document.querySelectorAll<HTMLElement>(selector)].some((el) =>
        !el.hidden && new RegExp(pattern, "i").test(el.textContent ?? "")
      ),
    [HOOKS.banner, pattern],
    timeoutMs,
  );
}
