/**
 * How `chat trust HOST:PORT` learns a server's key: one sealed room-list
 * exchange whose key check keeps the key the server proves and ends the
 * exchange there, before the list request goes out (trust_command.ts).
 *
 * @module
 */
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { type FetchServerKey, serverKeyFetcher } from "./trust_command.ts";
import { requestSealedRoomList } from "./tcrp_client.ts";

/** The static key the server at `server` proves in a sealed handshake. */
export const fetchServerKey: FetchServerKey = serverKeyFetcher((server, checkServerKey) =>
  requestSealedRoomList(server, { crypto: nodeCrypto, checkServerKey })
);
