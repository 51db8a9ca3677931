import { ProtocolError } from "./errors.ts";
import { encodeUtf8 } from "./bytes.ts";

/** Most bytes in a room name (its size travels in one byte). */
export const MAX_ROOM_NAME_BYTES = 255;
/** Most characters (Unicode code points) in a username. */
export const MAX_USERNAME_CHARS = 32;

const CONTROL = /\p{Cc}/u;

// A JSON escape such as "\ud800" yields a lone surrogate, which has no UTF-8
// form: it would go out as U+FFFD and pass for another name.
function refuseLoneSurrogates(name: string, what: string): void {
  if (!name.isWellFormed()) {
    throw new ProtocolError(`${what} must not contain a lone surrogate (U+D800-U+DFFF)`);
  }
}

/**
 * Checks a room name: 1-255 bytes of UTF-8 with no control characters, no
 * lone surrogate (which UTF-8 cannot carry), and not only white space (such
 * a room could not be told apart in a list).
 * Returns it unchanged; throws a {@linkcode ProtocolError} (400) otherwise.
 */
export function validateRoomName(name: string): string {
  refuseLoneSurrogates(name, "room name");
  const size = encodeUtf8(name).length;
  if (size < 1 || size > MAX_ROOM_NAME_BYTES) {
    throw new ProtocolError(`room name must be 1-${MAX_ROOM_NAME_BYTES} bytes, got ${size}`);
  }
  if (CONTROL.test(name)) {
    throw new ProtocolError("room name must not contain control characters");
  }
  if (name.trim() === "") {
    throw new ProtocolError("room name must not be only white space");
  }
  return name;
}

/**
 * Checks a username: 1-32 characters, no control characters or lone
 * surrogates, no leading or trailing white space. Returns it unchanged; throws a
 * {@linkcode ProtocolError} (400) otherwise.
 */
export function validateUsername(name: string): string {
  refuseLoneSurrogates(name, "username");
  const length = [...name].length;
  if (length < 1 || length > MAX_USERNAME_CHARS) {
    throw new ProtocolError(`username must be 1-${MAX_USERNAME_CHARS} characters, got ${length}`);
  }
  if (CONTROL.test(name)) {
    throw new ProtocolError("username must not contain control characters");
  }
  if (name.trim() !== name) {
    throw new ProtocolError("username must not start or end with spaces");
  }
  return name;
}

/**
 * The key two usernames share when they may not both be in one room:
 * comparison is case-insensitive and ignores Unicode normalization form.
 */
export function usernameKey(name: string): string {
  // Lower-casing can make a pair that composes ("J" + U+030C becomes "j" +
  // U+030C, which is U+01F0) or put marks out of canonical order ("İ" is
  // "i" + U+0307), so the key is decomposed before it and composed after.
  return name.normalize("NFD").toLowerCase().normalize("NFC");
}
