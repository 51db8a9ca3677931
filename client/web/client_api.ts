/**
 * The parts of the session library the page uses for the browser
 * (docs/protocol.md 7.5), in one place: the WebSocket connector and room
 * list, the session's event and ticket types, and the browser's crypto
 * provider (WebCrypto's Ed25519 where it works, else @noble in slices).
 *
 * @module
 */
export {
  listRoomsOverWebSocket,
  WebSocketConnector,
  type WebSocketConnectorOptions,
} from "../ws_connector.ts";
export { ChatClosedError } from "../connector.ts";
export { browserCrypto } from "../../crypto/browser_crypto.ts";
export type { ResumeTicket, SessionEvent } from "../session_options.ts";
