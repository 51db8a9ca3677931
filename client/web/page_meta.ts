/**
 * What the server put in the page for it: its static key
 * (`<meta name="chat-server-key">`, base64; the page trusts the key it was
 * served with, and keeps no pins, since the same origin serves the code that
 * would check them) and the build (`<meta name="chat-build">`, offered in
 * the WebSocket subprotocol so an old page learns to reload). Pure: the
 * meta contents and the location are given.
 *
 * @module
 */

/** Bytes of the server's static X25519 key. */
const SERVER_KEY_BYTES = 32;

/** The server key from its meta content; throws RangeError when it is not 32 bytes of base64. */
export function decodeServerKey(base64: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(base64.trim());
  } catch {
    throw new RangeError("the page's server key is not base64");
  }
  if (binary.length !== SERVER_KEY_BYTES) {
    throw new RangeError(
      `the page's server key is ${binary.length} bytes, not ${SERVER_KEY_BYTES}`,
    );
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** The build from its meta content: 12 hex digits, or throws RangeError. */
export function checkBuild(build: string): string {
  if (!/^[0-9a-f]{12}$/.test(build)) {
    throw new RangeError("the page's build id is not 12 hex digits");
  }
  return build;
}

/** The WebSocket's address for a page at `location`: same host, `/ws`, wss on https. */
export function webSocketUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
}
