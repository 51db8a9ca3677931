/// <reference lib="dom" />
/**
 * The web page's entry, bundled into client/web/dist/page.js by
 * `deno task bundle`: the page's flow (page_app.ts) with the browser's own
 * parts, the reconnect triggers and the visual viewport. See docs/web.md.
 *
 * @module
 */
import { browserCrypto, listRoomsOverWebSocket } from "./client_api.ts";
import { startPage } from "./page_app.ts";
import { openPageSession } from "./page_session.ts";
import { onComeBack } from "./reconnect_triggers.ts";
import { followVisualViewport } from "./viewport.ts";

const meta = (name: string) =>
  document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") ?? "";

followVisualViewport();
const app = startPage({
  serverKeyBase64: meta("chat-server-key"),
  build: meta("chat-build"),
  location,
  secure: isSecureContext,
  local: localStorage,
  session: sessionStorage,
  crypto: browserCrypto,
  open: openPageSession,
  list: async (link) => (await listRoomsOverWebSocket(link)).rooms,
  reload: () => location.reload(),
});
onComeBack(() => app.current()?.nudge());
