/**
 * The name rules of docs/protocol.md section 2, for usernames and room names:
 * what a name may be (`validateUsername`, `validateRoomName`, for the server
 * and for a client checking a name before it asks), and the key two names
 * share when they are the same name (`canonicalKey`). Which names look the
 * same without being the same is confusables.ts.
 *
 * @module
 */
import { ProtocolError } from "./errors.ts";
import { encodeUtf8 } from "./bytes.ts";
import { checkNameCharacters, codePointLabel } from "./name_characters.ts";

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

function refuseControls(name: string, what: string): void {
  const control = CONTROL.exec(name);
  if (control !== null) {
    const label = codePointLabel(control[0].codePointAt(0)!);
    throw new ProtocolError(`${what} must not contain ${label}: a control character`);
  }
}

/**
 * Checks the form of a room name, as revision 1 did: 1-255 bytes of UTF-8
 * with no control characters, no lone surrogate (which UTF-8 cannot carry),
 * and not only white space (such a room could not be told apart in a list).
 * A client checks listed room names with it, so that a list from a
 * revision-1 server, which knew no other rule, still reads.
 * Returns the name unchanged; throws a {@linkcode ProtocolError} (400) otherwise.
 */
export function validateRoomNameForm(name: string): string {
  refuseLoneSurrogates(name, "room name");
  const size = encodeUtf8(name).length;
  if (size < 1 || size > MAX_ROOM_NAME_BYTES) {
    throw new ProtocolError(`room name must be 1-${MAX_ROOM_NAME_BYTES} bytes, got ${size}`);
  }
  refuseControls(name, "room name");
  if (name.trim() === "") {
    throw new ProtocolError("room name must not be only white space");
  }
  return name;
}

/**
 * Checks a room name: its form ({@linkcode validateRoomNameForm}) and its
 * characters (name_characters.ts: nothing invisible, no lone combining mark
 * first, a letter, digit or emoji, not Latin with Cyrillic or Greek...).
 * Returns it unchanged; throws a {@linkcode ProtocolError} (400) that names
 * the offending code point otherwise.
 */
export function validateRoomName(name: string): string {
  validateRoomNameForm(name);
  checkNameCharacters(name, "room name");
  return name;
}

/**
 * Checks the form of a username, as revision 1 did: 1-32 characters, no
 * control characters or lone surrogates, no leading or trailing white space.
 * Returns it unchanged; throws a {@linkcode ProtocolError} (400) otherwise.
 */
export function validateUsernameForm(name: string): string {
  refuseLoneSurrogates(name, "username");
  const length = [...name].length;
  if (length < 1 || length > MAX_USERNAME_CHARS) {
    throw new ProtocolError(`username must be 1-${MAX_USERNAME_CHARS} characters, got ${length}`);
  }
  refuseControls(name, "username");
  if (name.trim() !== name) {
    throw new ProtocolError("username must not start or end with spaces");
  }
  return name;
}

/**
 * Checks a username: its form ({@linkcode validateUsernameForm}) and its
 * characters, as for room names. Returns it unchanged; throws a
 * {@linkcode ProtocolError} (400) that names the offending code point otherwise.
 */
export function validateUsername(name: string): string {
  validateUsernameForm(name);
  checkNameCharacters(name, "username");
  return name;
}

/**
 * The key two names share when they are the same name: comparison is
 * case-insensitive and ignores Unicode normalization form. Usernames in a
 * room and room names on a server are unique by it.
 */
export function canonicalKey(name: string): string {
  // Lower-casing can make a pair that composes ("J" + U+030C becomes "j" +
  // U+030C, which is U+01F0) or put marks out of canonical order ("İ" is
  // "i" + U+0307), so the key is decomposed before it and composed after.
  return name.normalize("NFD").toLowerCase().normalize("NFC");
}

/** {@linkcode canonicalKey}, by the name it had when only usernames had a key. */
export const usernameKey: (name: string) => string = canonicalKey;
