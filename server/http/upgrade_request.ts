/**
 * Whether a request to `/ws` is a WebSocket upgrade the server takes
 * (RFC 6455 section 4.2.1), and which subprotocol it answers with
 * (docs/protocol.md 7.1). Pure: the HTTP front writes the answer.
 *
 * Subprotocols: a client must offer one starting `chat.ws.`. The server
 * picks `chat.ws.1` (bots, tools, tests) or `chat.ws.1.build.<build>` for
 * the page it serves now. Any other `chat.ws.` offer (an older profile, a
 * page of another build) is still accepted and echoed, so that the browser
 * opens the socket and the page can be told why it must go: the front
 * closes it at once with 4426. Without a `chat.ws.` offer it is not our
 * client at all: 400. Extensions are never negotiated.
 *
 * @module
 */
import type { HttpRequestHead } from "../../protocol/http_head.ts";
import { isValidWebSocketKey, webSocketAccept } from "./ws_accept.ts";

/** The WebSocket profile version of docs/protocol.md section 7. */
export const WS_PROFILE = "chat.ws.1";
/** The prefix every subprotocol of this server starts with. */
export const WS_PROFILE_PREFIX = "chat.ws.";

/** An upgrade the server takes: the 101's headers and whether the client is current. */
export interface UpgradeAccepted {
  ok: true;
  /** The Sec-WebSocket-Accept value. */
  accept: string;
  /** The offer echoed in Sec-WebSocket-Protocol. */
  subprotocol: string;
  /** False: an older profile or another build; closed at once with 4426. */
  current: boolean;
}

/** An upgrade refused before the 101: the status, a one-line text, extra headers. */
export interface UpgradeRefused {
  ok: false;
  status: 400 | 405 | 426;
  text: string;
  headers: [string, string][];
}

/** Whether a comma-separated header value holds `token` (case-insensitive). */
export function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const wanted = token.toLowerCase();
  return value.split(",").some((part) => part.trim().toLowerCase() === wanted);
}

/** A subprotocol as a client may name it: a token of letters, digits, "." "_" "-". */
const OFFER = /^chat\.ws\.[A-Za-z0-9._-]{1,64}$/;

/**
 * Which subprotocol to answer an offer list (Sec-WebSocket-Protocol) with:
 * the current one, else the first other `chat.ws.` offer (out of date), or
 * null when there is no `chat.ws.` offer. `build` is the served page's build
 * (null when no page is served: every build offer is then out of date).
 */
export function chooseSubprotocol(
  offers: string | undefined,
  build: string | null,
): { subprotocol: string; current: boolean } | null {
  const list = (offers ?? "").split(",").map((offer) => offer.trim()).filter((offer) =>
    OFFER.test(offer)
  );
  const currentOnes = [WS_PROFILE, ...(build === null ? [] : [`${WS_PROFILE}.build.${build}`])];
  const current = list.find((offer) => currentOnes.includes(offer));
  if (current !== undefined) return { subprotocol: current, current: true };
  const other = list[0];
  return other === undefined ? null : { subprotocol: other, current: false };
}

/** Checks an upgrade request to `/ws` (see the module doc for the subprotocol rules). */
export function checkUpgrade(
  head: HttpRequestHead,
  build: string | null,
): UpgradeAccepted | UpgradeRefused {
  const refuse = (
    status: 400 | 405 | 426,
    text: string,
    headers: [string, string][] = [],
  ): UpgradeRefused => ({ ok: false, status, text, headers });
  if (head.method !== "GET") {
    return refuse(405, "/ws takes only a GET WebSocket upgrade", [["Allow", "GET"]]);
  }
  if (head.version !== "HTTP/1.1") return refuse(400, "a WebSocket upgrade needs HTTP/1.1");
  const headers = head.headers;
  if (
    !hasToken(headers.get("upgrade"), "websocket") ||
    !hasToken(headers.get("connection"), "upgrade")
  ) {
    return refuse(426, "/ws is a WebSocket: send Upgrade: websocket and Connection: Upgrade", [
      ["Upgrade", "websocket"],
      ["Connection", "Upgrade"],
    ]);
  }
  if (headers.get("sec-websocket-version") !== "13") {
    return refuse(426, "only WebSocket version 13 is served", [["Sec-WebSocket-Version", "13"]]);
  }
  const key = headers.get("sec-websocket-key");
  if (key === undefined || !isValidWebSocketKey(key)) {
    return refuse(400, "Sec-WebSocket-Key must be the base64 of 16 bytes");
  }
  const chosen = chooseSubprotocol(headers.get("sec-websocket-protocol"), build);
  if (chosen === null) {
    return refuse(
      400,
      `a WebSocket here must offer the subprotocol ${WS_PROFILE} (Sec-WebSocket-Protocol)`,
    );
  }
  return { ok: true, accept: webSocketAccept(key), ...chosen };
}
