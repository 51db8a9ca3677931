/**
 * The parts of the session library the page uses for the browser
 * (docs/protocol.md 7.5), in one place: the WebSocket connector and room
 * list, the session's event and ticket types, and the crypto provider.
 *
 * INTERIM: crypto/browser_crypto.ts (branch `client`) is not merged yet,
 * so {@linkcode browserCrypto} is the pure-JS @noble provider it builds on
 * (correct everywhere, but verifies Ed25519 on the main thread); the merge
 * replaces it with a re-export.
 *
 * @module
 */
import { nobleCrypto } from "../../crypto/noble_crypto.ts";
import type { CryptoProvider } from "../../protocol/sealed_types.ts";

export {
  listRoomsOverWebSocket,
  WebSocketConnector,
  type WebSocketConnectorOptions,
} from "../ws_connector.ts";
export { ChatClosedError } from "../connector.ts";
export type { ResumeTicket, SessionEvent } from "../session_options.ts";

/** The crypto provider for a browser (see the module comment). */
export function browserCrypto(): CryptoProvider {
  return nobleCrypto;
}
