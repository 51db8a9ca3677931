/**
 * The parts of the session library that the `client` branch adds for the
 * browser (docs/protocol.md 7.5), as ws.md fixes them: the page imports
 * them from here only. TEMPORARY: until that branch is merged these are the
 * contract's declarations, and the two functions fail when called; the merge
 * replaces this file's body with re-exports of client/ws_connector.ts and
 * crypto/browser_crypto.ts.
 *
 * @module
 */
import type { Connector } from "../connector.ts";
import type { SessionEvent } from "../session_options.ts";
import type { CryptoProvider, ServerKeyCheck } from "../../protocol/sealed_types.ts";
import type { RoomList } from "../../protocol/tcrp.ts";

/** A takeover ticket (docs/protocol.md 7.4): the session id and its proof. */
export interface ResumeTicket {
  sessionId: Uint8Array;
  proof: Uint8Array;
}

/** How the page reaches the server: the WebSocket at `url`, offering `build`. */
export interface WebSocketOptions {
  url: string;
  crypto: CryptoProvider;
  checkServerKey: ServerKeyCheck;
  build?: string;
}

/** The session's events, with the WebSocket profile's two. */
export type PageSessionEvent = SessionEvent | { type: "reconnecting" } | { type: "reconnected" };

/** The connector over a WebSocket. */
export function webSocketConnector(_options: WebSocketOptions): Connector {
  throw new Error("the WebSocket connector is not in this build yet (branch client)");
}

/** One page of the room list over its own WebSocket. */
export function listRoomsOverWebSocket(_options: WebSocketOptions): Promise<RoomList> {
  return Promise.reject(new Error("the room list is not in this build yet (branch client)"));
}

/** The crypto provider for a browser. */
export function browserCrypto(): CryptoProvider {
  throw new Error("browser crypto is not in this build yet (branch client)");
}
