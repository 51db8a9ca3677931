/// <reference lib="dom" />
/**
 * The page's flow, with everything from outside injected (main.ts passes
 * the browser's): the server key and build from the meta tags, the join
 * screen, a session per request, the chat screen until it ends, then the
 * banner for how it ended (rejoin after an idle removal, reload when out
 * of date). After a reload it takes the tab's membership back
 * (resume_plan.ts).
 *
 * @module
 */
import { CloseReason } from "../../protocol/datagram.ts";
import { displayText } from "../../protocol/display_text.ts";
import type { CryptoProvider } from "../../protocol/sealed_types.ts";
import type { RoomSummary } from "../../protocol/tcrp.ts";
import { ChatRefusedError } from "../errors.ts";
import { Banners } from "./banners.ts";
import { ChatScreen, type SessionEnd } from "./chat_screen.ts";
import {
  ChatClosedError,
  type ResumeTicket,
  type WebSocketConnectorOptions,
} from "./client_api.ts";
import { endNotice, OUT_OF_DATE_CODE } from "./close_banner.ts";
import { ConfirmBar } from "./confirm_bar.ts";
import { byId } from "./dom.ts";
import { roomFromFragment } from "./invite.ts";
import { type JoinRequest, JoinView } from "./join_view.ts";
import { checkBuild, decodeServerKey, webSocketUrl } from "./page_meta.ts";
import type { PageSession } from "./page_session.ts";
import {
  clearResume,
  type KeyValueStore,
  loadName,
  loadResume,
  saveName,
  saveResume,
  ticketToHex,
} from "./page_storage.ts";
import { resumePlan, ticketFor } from "./resume_plan.ts";

/** What the page takes from its browser (tests pass their own). */
export interface PageDeps {
  /** The contents of `<meta name="chat-server-key">` and `<meta name="chat-build">`. */
  serverKeyBase64: string;
  build: string;
  location: { protocol: string; host: string; hash: string };
  /** `isSecureContext`. */
  secure: boolean;
  /** localStorage and sessionStorage. */
  local: KeyValueStore;
  session: KeyValueStore;
  crypto: () => CryptoProvider;
  /** Opens a session (page_session.ts). */
  open(
    link: WebSocketConnectorOptions,
    request: JoinRequest,
    ticket: ResumeTicket | null,
  ): Promise<PageSession>;
  /** The room list (its first page). */
  list(link: WebSocketConnectorOptions): Promise<RoomSummary[]>;
  /** Loads the page again (a new build). */
  reload(): void;
}

/** The running page. */
export interface PageApp {
  /** Settles once the first room list has loaded and a reload's plan has run. */
  ready: Promise<void>;
  /** The session in the room now, if any (the reconnect triggers nudge it). */
  current(): PageSession | null;
}

/** The key check the connector uses: the key this page was served with, and no other (no pins). */
export function servedKeyCheck(serverKey: Uint8Array): (key: Uint8Array) => void {
  return (key) => {
    if (key.length !== serverKey.length || key.some((b, i) => b !== serverKey[i])) {
      throw new Error("the server proved a key other than the one this page was served with");
    }
  };
}

/** Starts the page; see the module comment. */
export function startPage(deps: PageDeps): PageApp {
  const banners = new Banners(byId("banners", HTMLElement));
  const joinScreen = byId("join-screen", HTMLElement);
  let current: PageSession | null = null;
  const app: PageApp = { ready: Promise.resolve(), current: () => current };
  if (!deps.secure) {
    banners.show(
      "insecure",
      "This page is served over plain http: the chat is protected only against passive listeners, " +
        "not against someone who can change the traffic. Ask for an https address.",
    );
  }
  let link: WebSocketConnectorOptions;
  try {
    link = {
      url: webSocketUrl(deps.location),
      crypto: deps.crypto(),
      checkServerKey: servedKeyCheck(decodeServerKey(deps.serverKeyBase64)),
      build: checkBuild(deps.build),
    };
  } catch (error) {
    banners.show(
      "closed",
      `This page cannot connect: ${(error as Error).message}. Open it from chat serve.`,
    );
    return app;
  }
  let resume = loadResume(deps.session);
  let lastRequest: JoinRequest | null = null;
  const confirm = new ConfirmBar(
    byId("paste-confirm", HTMLElement),
    byId("paste-question", HTMLElement),
    byId("paste-send", HTMLButtonElement),
    byId("paste-cancel", HTMLButtonElement),
  );
  const endBanners = () => {
    for (const kind of ["closed", "idle", "outdated"] as const) banners.hide(kind);
  };
  const chat = new ChatScreen({
    banners,
    confirm,
    remember: (session) => {
      const ticket = session.resumeTicket;
      saveResume(deps.session, {
        room: session.room,
        name: session.username,
        ticket: ticket === null ? null : ticketToHex(ticket),
        wasHost: session.host === session.username,
      });
    },
    leaving: () => clearResume(deps.session),
    back: () => {
      endBanners();
      showJoin();
    },
  });
  const join = new JoinView((request) => void enter(request), () => deps.list(link));

  const showJoin = () => {
    chat.hide();
    joinScreen.hidden = false;
    join.setBusy(false);
    join.focus();
    void join.refresh();
  };

  const enter = async (request: JoinRequest): Promise<void> => {
    join.setBusy(true);
    join.showError("");
    endBanners();
    let session: PageSession;
    try {
      session = await deps.open(link, request, ticketFor(resume, request));
    } catch (error) {
      join.setBusy(false);
      refused(error);
      return;
    }
    resume = null;
    lastRequest = request;
    current = session;
    saveName(deps.local, request.name);
    joinScreen.hidden = true;
    const end = await chat.run(session);
    current = null;
    ended(end);
  };

  const refused = (error: unknown) => {
    const text = error instanceof Error ? error.message : String(error);
    if (error instanceof ChatClosedError && error.closeCode === OUT_OF_DATE_CODE) return outdated();
    if (error instanceof ChatRefusedError && error.status === 401) {
      return join.askPassword(`Wrong password: ${displayText(text)}`);
    }
    join.showError(`Could not get in: ${displayText(text)}`);
    // Full, or no such room (it closed meanwhile): the list has changed.
    if (error instanceof ChatRefusedError && (error.status === 403 || error.status === 404)) {
      void join.refresh();
    }
  };

  const outdated = () => {
    const notice = endNotice("lost", "", OUT_OF_DATE_CODE);
    banners.show(notice.banner, notice.text, { label: "Reload", run: () => deps.reload() });
  };

  const ended = (end: SessionEnd) => {
    clearResume(deps.session);
    if (end.reason === CloseReason.LEFT) return showJoin();
    const notice = endNotice(end.reason, end.text, end.closeCode);
    chat.note(notice.text, "warning");
    if (notice.action === "reload") return outdated();
    if (notice.action === "rejoin" && lastRequest !== null) {
      const again = { ...lastRequest, create: false };
      banners.show(notice.banner, notice.text, { label: "Rejoin", run: () => void enter(again) });
    } else {
      banners.show(notice.banner, notice.text, {
        label: "Back to the rooms",
        run: () => {
          banners.hide(notice.banner);
          showJoin();
        },
      });
    }
  };

  // An invite link names the room; a reload names the membership this tab had.
  join.prefill({ name: resume?.name ?? loadName(deps.local) });
  const invited = roomFromFragment(deps.location.hash);
  if (resume !== null) join.prefill({ room: resume.room });
  else if (invited !== null) join.prefill({ room: invited });
  app.ready = join.refresh().then(() => {
    if (resume === null) return join.focus();
    const plan = resumePlan(resume, join.summary(resume.room));
    switch (plan.action) {
      case "forget":
        resume = null;
        clearResume(deps.session);
        join.showError(displayText(plan.message));
        return join.focus();
      case "askPassword":
        return join.askPassword(displayText(plan.message));
      case "join":
        return void enter({ create: false, name: resume.name, room: resume.room, password: "" });
    }
  });
  return app;
}
