/**
 * The server's half of the WebSocket opening handshake (RFC 6455 section
 * 4.2.2): the Sec-WebSocket-Accept value that proves to the browser that
 * this server understood its upgrade request.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** The GUID RFC 6455 appends to every key. */
const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/**
 * base64(SHA-1(key + GUID)): the Sec-WebSocket-Accept header for a
 * request's Sec-WebSocket-Key.
 *
 * @example
 * ```ts
 * webSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 * ```
 */
export function webSocketAccept(secWebSocketKey: string): string {
  return createHash("sha1").update(secWebSocketKey + WEBSOCKET_GUID).digest("base64");
}

/**
 * Base64 of exactly 16 bytes, canonical (22 characters, the last of them
 * carrying no stray bits, then "=="), as every client's encoder writes it.
 */
const KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

/**
 * Whether a Sec-WebSocket-Key is what RFC 6455 section 4.1 requires: the
 * base64 of 16 bytes. Anything else is a 400 before the upgrade.
 *
 * @example
 * ```ts
 * isValidWebSocketKey("dGhlIHNhbXBsZSBub25jZQ=="); // true
 * isValidWebSocketKey("abc"); // false
 * ```
 */
export function isValidWebSocketKey(key: string): boolean {
  return KEY.test(key);
}
