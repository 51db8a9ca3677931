/**
 * The server's long-term identity: its static X25519 key pair, kept in one
 * file (`serve --key-file PATH`, CHAT_KEY_FILE; by default
 * $XDG_DATA_HOME/chat/server_key, else $HOME/.local/share/chat/server_key).
 * Clients pin its public key's fingerprint, so losing or changing the file
 * makes every client that knew the server refuse it (docs/protocol.md 6.4).
 *
 * The file is one line, whatever CryptoProvider reads it:
 *
 *     chat-server-key-v1 <the 32-byte private key in base64url, no padding>
 *
 * It is created when missing with mode 0600 from the start, O_CREAT|O_EXCL
 * with the mode in the one call (never written and then narrowed: there is no
 * moment when others could open it), in a directory created 0700, and it
 * appears whole (see `create`). The server refuses to start when the
 * file can be read or written by its group or others, is not a regular file,
 * or is not exactly that line.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import { fingerprintText } from "../protocol/fingerprint.ts";
import type { CryptoProvider, X25519KeyPair } from "../protocol/sealed_types.ts";
import { StartupError } from "./startup_errors.ts";

/** The first word of a key file: its format, versioned. */
export const KEY_FILE_HEADER = "chat-server-key-v1";
/** Bytes of the private key in the file. */
export const PRIVATE_KEY_BYTES = 32;
/** Mode bits of group and others: any of them set and the server refuses the file. */
const GROUP_OR_OTHERS = 0o077;
/** A key file is one short line; anything much longer is not one (and is not read whole). */
const MAX_KEY_FILE_BYTES = 1024;
const KEY_LINE = /^chat-server-key-v1 ([A-Za-z0-9_-]{43})\n?$/;

/** The key the server proves in every sealed handshake, and where it came from. */
export interface ServerKey {
  /** Absolute path of the key file. */
  path: string;
  keyPair: X25519KeyPair;
  /** True when this start made the file, false when it was there. */
  created: boolean;
  /** The public key's fingerprint, "SHA256:..." (protocol/fingerprint.ts). */
  fingerprint: string;
}

/** The primitives a key file needs. */
export type KeyFileCrypto = Pick<CryptoProvider, "randomBytes" | "x25519KeyPair" | "sha256">;

/**
 * The default key file: $XDG_DATA_HOME/chat/server_key, or
 * $HOME/.local/share/chat/server_key when XDG_DATA_HOME is unset, empty or
 * relative (the XDG base directory rules say to ignore a relative one). A
 * fixed absolute path, so the server finds the same key whatever directory it
 * is started from. Throws a StartupError when neither variable gives one.
 */
export function defaultKeyFilePath(env: (name: string) => string | undefined): string {
  const data = env("XDG_DATA_HOME");
  if (data !== undefined && isAbsolute(data)) return join(data, "chat", "server_key");
  const home = env("HOME");
  if (home !== undefined && isAbsolute(home)) {
    return join(home, ".local", "share", "chat", "server_key");
  }
  throw new StartupError(
    "cannot place the server key: neither XDG_DATA_HOME nor HOME is an absolute path; " +
      "give one with --key-file PATH",
  );
}

/**
 * The absolute key file path for a `--key-file` setting: "" means the
 * default, a relative path is taken from `cwd`.
 */
export function keyFilePathOf(
  setting: string,
  env: (name: string) => string | undefined,
  cwd: string,
): string {
  return setting === "" ? defaultKeyFilePath(env) : resolve(cwd, setting);
}

/** The file's text for a private key: one line and a newline. */
export function encodeKeyFile(privateKey: Uint8Array): string {
  if (privateKey.length !== PRIVATE_KEY_BYTES) {
    throw new RangeError(`a private key is ${PRIVATE_KEY_BYTES} bytes, not ${privateKey.length}`);
  }
  const base64url = btoa(String.fromCharCode(...privateKey))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return `${KEY_FILE_HEADER} ${base64url}\n`;
}

/**
 * The private key in a key file's text, or null when the text is not exactly
 * {@linkcode encodeKeyFile}'s (one spelling: the unused bits of the last
 * character must be zero).
 */
export function decodeKeyFile(text: string): Uint8Array | null {
  const match = KEY_LINE.exec(text);
  if (match === null) return null;
  const base64 = match[1]!.replaceAll("-", "+").replaceAll("_", "/");
  const key = Uint8Array.from(atob(`${base64}=`), (c) => c.charCodeAt(0));
  return encodeKeyFile(key).trimEnd() === text.trimEnd() ? key : null;
}

/**
 * Loads the key file at `path` (absolute), or creates it with a fresh key
 * when there is none. Throws a StartupError that says what to do when the
 * file is open to group or others, malformed, or cannot be read or written.
 */
export async function loadOrCreateServerKey(
  path: string,
  crypto: KeyFileCrypto,
): Promise<ServerKey> {
  const loaded = await load(path, crypto);
  if (loaded !== null) return loaded;
  const created = await create(path, crypto);
  // Another server made it between our open and our create: use theirs.
  return created ?? (await load(path, crypto)) ?? missingAfterRace(path);
}

function missingAfterRace(path: string): never {
  throw new StartupError(`the key file ${path} appeared and vanished while starting; start again`);
}

/** The key at `path`, or null when there is no file. */
async function load(path: string, crypto: KeyFileCrypto): Promise<ServerKey | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw cannot("read", path, error);
  }
  try {
    // The open file's own mode, not the path's: nothing can swap it in between.
    const info = await file.stat();
    if (!info.isFile) {
      throw new StartupError(
        `the key file ${path} is not a regular file; give --key-file a file path`,
      );
    }
    if (info.mode !== null && (info.mode & GROUP_OR_OTHERS) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
      throw new StartupError(
        `the key file ${path} has mode ${mode}: its group or others can open it, so the server ` +
          `key may be known to them. If nobody else could have read it, make it yours alone ` +
          `(chmod 600 ${path}); otherwise delete it, and a new key is made at the next start ` +
          `(clients that pinned the old one will refuse the new one until they trust it)`,
      );
    }
    const bytes = new Uint8Array(MAX_KEY_FILE_BYTES + 1);
    let length = 0;
    while (length < bytes.length) {
      const read = await file.read(bytes.subarray(length));
      if (read === null) break;
      length += read;
    }
    const text = length > MAX_KEY_FILE_BYTES
      ? ""
      : new TextDecoder("utf-8", { fatal: false }).decode(bytes.subarray(0, length));
    const privateKey = decodeKeyFile(text);
    if (privateKey === null) {
      throw new StartupError(
        `the key file ${path} is not a chat server key (one line: "${KEY_FILE_HEADER} " and ` +
          `43 base64url characters); restore it from a backup, or move it away to make a new key`,
      );
    }
    return serverKey(path, crypto.x25519KeyPair(privateKey), false, crypto);
  } finally {
    file.close();
  }
}

/**
 * Creates the file with a fresh key; null when it already exists (someone
 * else made it). The key is written to a temporary file made O_EXCL with mode
 * 0600, then hard-linked to `path`, which fails when `path` exists: so the
 * file appears whole, never empty or half written to a server starting at
 * the same moment. Where hard links are not supported, `path` itself is
 * created O_EXCL 0600 and written.
 */
async function create(path: string, crypto: KeyFileCrypto): Promise<ServerKey | null> {
  const directory = resolve(path, "..");
  try {
    // 0700 for every directory it makes (an existing one is left as it is).
    await Deno.mkdir(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw cannot("create the directory of", path, error);
  }
  const keyPair = crypto.x25519KeyPair(crypto.randomBytes(PRIVATE_KEY_BYTES));
  const text = encodeKeyFile(keyPair.privateKey);
  const random = Array.from(crypto.randomBytes(6), (b) => b.toString(16).padStart(2, "0"));
  const temporary = `${path}.${random.join("")}.tmp`;
  if (!(await writeNewFile(temporary, text))) throw cannot("create", temporary, "it exists");
  try {
    await Deno.link(temporary, path);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return null;
    if (error instanceof Error && error.name === "NotCapable") throw cannot("create", path, error);
    // No hard links here (FAT, some network file systems): O_EXCL on the path itself.
    if (!(await writeNewFile(path, text))) return null;
  } finally {
    await Deno.remove(temporary).catch(() => {});
  }
  return serverKey(path, keyPair, true, crypto);
}

/** Writes `text` to a new file made O_EXCL with mode 0600; false when the path exists. */
async function writeNewFile(path: string, text: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    // O_CREAT|O_EXCL with mode 0600 in the one call: the umask can only take bits away.
    file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw cannot("create", path, error);
  }
  try {
    const bytes = new TextEncoder().encode(text);
    for (let written = 0; written < bytes.length;) {
      written += await file.write(bytes.subarray(written));
    }
    await file.sync();
  } catch (error) {
    throw cannot("write", path, error);
  } finally {
    file.close();
  }
  return true;
}

function serverKey(
  path: string,
  keyPair: X25519KeyPair,
  created: boolean,
  crypto: KeyFileCrypto,
): ServerKey {
  return { path, keyPair, created, fingerprint: fingerprintText(crypto, keyPair.publicKey) };
}

/** The one log line that says which key the server proves. */
export function serverKeyLogLine(key: ServerKey): string {
  return `server key ${key.created ? "created" : "loaded"}: ${key.path} (${key.fingerprint})`;
}

function cannot(what: string, path: string, error: unknown): StartupError {
  const reason = error instanceof Error ? error.message : String(error);
  const hint = error instanceof Error && error.name === "NotCapable"
    ? "; run serve with --allow-read and --allow-write (deno task serve does)"
    : "; give another path with --key-file";
  return new StartupError(`cannot ${what} the key file ${path}: ${reason}${hint}`, {
    cause: error,
  });
}
