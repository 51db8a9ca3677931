/// <reference lib="dom" />
/**
 * The web page's entry (bundled into client/web/dist/page.js by
 * `deno task bundle`): reads what the server put in the page, shows the
 * join screen, opens sessions with the project's own client library over a
 * WebSocket, and runs the chat screen until the session ends. After a
 * reload it takes the tab's membership back (page_storage.ts). See
 * docs/web.md.
 *
 * @module
 */
import { CloseReason } from "../../protocol/datagram.ts";
import { ChatRefusedError } from "../errors.ts";
import { displayText } from "../../protocol/display_text.ts";
import { Banners } from "./banners.ts";
import { ChatScreen, type SessionEnd } from "./chat_screen.ts";
import {
  browserCrypto,
  ChatClosedError,
  listRoomsOverWebSocket,
  type WebSocketConnectorOptions,
} from "./client_api.ts";
import { endNotice, OUT_OF_DATE_CODE } from "./close_banner.ts";
import { ConfirmBar } from "./confirm_bar.ts";
import { byId } from "./dom.ts";
import { roomFromFragment } from "./invite.ts";
import { type JoinRequest, JoinView } from "./join_view.ts";
import { checkBuild, decodeServerKey, webSocketUrl } from "./page_meta.ts";
import { openPageSession, type PageSession } from "./page_session.ts";
import {
  clearResume,
  loadName,
  loadResume,
  type ResumeState,
  saveName,
  saveResume,
  ticketToHex,
} from "./page_storage.ts";
import { resumePlan, ticketFor } from "./resume_plan.ts";
import { onComeBack } from "./reconnect_triggers.ts";
import { followVisualViewport } from "./viewport.ts";

const banners = new Banners(byId("banners", HTMLElement));
const joinScreen = byId("join-screen", HTMLElement);

/** The server key and build from the page's meta tags; null (with a banner) when they are not filled. */
function linkOptions(): WebSocketConnectorOptions | null {
  const meta = (name: string) =>
    document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") ?? "";
  try {
    const serverKey = decodeServerKey(meta("chat-server-key"));
    const build = checkBuild(meta("chat-build"));
    return {
      url: webSocketUrl(location),
      crypto: browserCrypto(),
      // The key this page was served with, and no other: no pins (the same origin serves this code).
      checkServerKey: (key) => {
        if (key.length !== serverKey.length || key.some((b, i) => b !== serverKey[i])) {
          throw new Error("the server proved a key other than the one this page was served with");
        }
      },
      build,
    };
  } catch (error) {
    banners.show(
      "closed",
      `This page cannot connect: ${(error as Error).message}. Open it from chat serve.`,
    );
    return null;
  }
}

function start(): void {
  followVisualViewport();
  if (!isSecureContext) {
    banners.show(
      "insecure",
      "This page is served over plain http: the chat is protected only against passive listeners, " +
        "not against someone who can change the traffic. Ask for an https address.",
    );
  }
  const link = linkOptions();
  if (link === null) return;
  let resume = loadResume(sessionStorage);
  let current: PageSession | null = null;
  let lastRequest: JoinRequest | null = null;
  const confirm = new ConfirmBar(
    byId("paste-confirm", HTMLElement),
    byId("paste-question", HTMLElement),
    byId("paste-send", HTMLButtonElement),
    byId("paste-cancel", HTMLButtonElement),
  );
  const chat = new ChatScreen({
    banners,
    confirm,
    remember: (session) => {
      const ticket = session.resumeTicket;
      const state: ResumeState = {
        room: session.room,
        name: session.username,
        ticket: ticket === null || ticket === undefined ? null : ticketToHex(ticket),
        wasHost: session.host === session.username,
      };
      saveResume(sessionStorage, state);
    },
    leaving: () => clearResume(sessionStorage),
    back: () => {
      for (const kind of ["closed", "idle", "outdated"] as const) banners.hide(kind);
      showJoin();
    },
  });
  const join = new JoinView((request) => void enter(request), async () => {
    const list = await listRoomsOverWebSocket(link);
    return list.rooms;
  });
  onComeBack(() => current?.nudge());

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
    for (const kind of ["closed", "idle", "outdated"] as const) banners.hide(kind);
    // A reload's ticket goes with a request for the same membership only.
    const ticket = ticketFor(resume, request);
    let session: PageSession;
    try {
      session = await openPageSession(link, request, ticket);
    } catch (error) {
      join.setBusy(false);
      refused(error);
      return;
    }
    resume = null;
    lastRequest = request;
    current = session;
    saveName(localStorage, request.name);
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
    banners.show(notice.banner, notice.text, { label: "Reload", run: () => location.reload() });
  };

  const ended = (end: SessionEnd) => {
    clearResume(sessionStorage);
    const notice = endNotice(end.reason, end.text, end.closeCode);
    if (end.reason === CloseReason.LEFT) return showJoin();
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
  join.prefill({ name: resume?.name ?? loadName(localStorage) });
  const invited = roomFromFragment(location.hash);
  if (resume !== null) join.prefill({ room: resume.room });
  else if (invited !== null) join.prefill({ room: invited });
  void join.refresh().then(() => {
    if (resume === null) return join.focus();
    const plan = resumePlan(resume, join.summary(resume.room));
    switch (plan.action) {
      case "forget":
        resume = null;
        clearResume(sessionStorage);
        join.showError(displayText(plan.message));
        return join.focus();
      case "askPassword":
        return join.askPassword(displayText(plan.message));
      case "join":
        return void enter({ create: false, name: resume.name, room: resume.room, password: "" });
    }
  });
}

start();
