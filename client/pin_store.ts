/**
 * The client's pins: which server key it trusts at which server address, in
 * `known_servers.json` under $XDG_CONFIG_HOME/chat/ (else ~/.config/chat/),
 * and the {@linkcode ServerKeyCheck}s a session is opened with: trust on
 * first use against the pins, or one fingerprint given for one run
 * (`--server-key`). Deno I/O, so outside the session library.
 *
 * The file (docs/protocol.md 6.4):
 *
 * ```json
 * { "version": 1,
 *   "servers": { "127.0.0.1:9001": { "fingerprint": "SHA256:...", "since": "2026-12-02T10:00:00.000Z" } } }
 * ```
 *
 * Every change is made under an exclusive lock on `known_servers.json.lock`
 * (flock: released by the kernel if the process dies), re-reads the file,
 * changes one entry, writes a temporary file (mode 0600) and renames it over
 * the old one: a reader sees the old file or the new one, never half of one,
 * and two clients pinning at once both end up pinned. A file that is not
 * valid is an error that names it, and is never overwritten.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { dirname, isAbsolute, join } from "node:path";
import {
  FingerprintError,
  fingerprintOf,
  formatFingerprint,
  parseFingerprint,
  sameFingerprint,
} from "../protocol/fingerprint.ts";
import { formatHostPort, type HostPort } from "../protocol/host_port.ts";
import { type ServerKeyCheck, ServerKeyMismatchError } from "../protocol/sealed_types.ts";

/** The pins file's name in its directory. */
export const PINS_FILE_NAME = "known_servers.json";
/** The file format this code writes and reads. */
export const PINS_VERSION = 1;

/** One server's pin. */
export interface Pin {
  /** "SHA256:..." (protocol/fingerprint.ts). */
  fingerprint: string;
  /** When it was pinned, ISO 8601. */
  since: string;
}

/** The pins file cannot be used: not valid, or not readable or writable. Nothing was changed. */
export class PinStoreError extends Error {
  /** `message` names the file and says what to do. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PinStoreError";
  }
}

/** SHA-256, for fingerprints. */
export type Sha256 = { sha256(data: Uint8Array): Uint8Array };

/** node:crypto's SHA-256. */
export const nodeSha256: Sha256 = {
  sha256: (data) => new Uint8Array(createHash("sha256").update(data).digest()),
};

/**
 * The pins file: $XDG_CONFIG_HOME/chat/known_servers.json, or
 * $HOME/.config/chat/known_servers.json when XDG_CONFIG_HOME is unset, empty
 * or relative (the XDG rules ignore a relative one).
 */
export function defaultPinsPath(env: (name: string) => string | undefined): string {
  const config = env("XDG_CONFIG_HOME");
  if (config !== undefined && isAbsolute(config)) return join(config, "chat", PINS_FILE_NAME);
  const home = env("HOME");
  if (home !== undefined && isAbsolute(home)) {
    return join(home, ".config", "chat", PINS_FILE_NAME);
  }
  throw new PinStoreError(
    "cannot place the pins file: neither XDG_CONFIG_HOME nor HOME is an absolute path; " +
      "set one, or check the server with --server-key FINGERPRINT",
  );
}

/**
 * What a pin is kept under: "host:port" as the user names the server, the
 * host in lower case, an IPv6 literal in brackets. A name and its address
 * ("localhost:9001", "127.0.0.1:9001") are different servers to the pins.
 */
export function serverAddressKey(server: HostPort): string {
  return formatHostPort({ hostname: server.hostname.toLowerCase(), port: server.port });
}

type PinsFile = { version: number; servers: Record<string, Pin>; [field: string]: unknown };

/** The pins, on disk. */
export class PinStore {
  /** Absolute path of the pins file. */
  readonly path: string;
  #now: () => Date;

  /** The pins in the file at `path` (it need not exist yet). */
  constructor(path: string, options: { now?: () => Date } = {}) {
    this.path = path;
    this.#now = options.now ?? (() => new Date());
  }

  /** Every pin, by address. */
  async all(): Promise<Record<string, Pin>> {
    return (await this.#read()).servers;
  }

  /** The pin for `address` ("host:port", see {@linkcode serverAddressKey}), or null. */
  async get(address: string): Promise<Pin | null> {
    return (await this.#read()).servers[address] ?? null;
  }

  /**
   * The pin for `address`; when there is none, `fingerprint` becomes it
   * (trust on first use). Under the lock, so of two clients pinning one
   * server at once, both get the one that was written first.
   */
  async pinIfAbsent(address: string, fingerprint: string): Promise<{ pin: Pin; added: boolean }> {
    checkFingerprint(fingerprint);
    let result: { pin: Pin; added: boolean } | null = null;
    await this.#change((servers) => {
      const existing = servers[address];
      if (existing !== undefined) {
        result = { pin: existing, added: false };
        return false;
      }
      servers[address] = { fingerprint, since: this.#now().toISOString() };
      result = { pin: servers[address]!, added: true };
      return true;
    });
    return result!;
  }

  /** Pins `fingerprint` for `address`, replacing any pin; resolves with the one replaced. */
  async pin(address: string, fingerprint: string): Promise<Pin | null> {
    checkFingerprint(fingerprint);
    let previous: Pin | null = null;
    await this.#change((servers) => {
      previous = servers[address] ?? null;
      servers[address] = { fingerprint, since: this.#now().toISOString() };
      return true;
    });
    return previous;
  }

  /** Removes the pin for `address`; resolves with it, or null when there was none. */
  async forget(address: string): Promise<Pin | null> {
    let removed: Pin | null = null;
    await this.#change((servers) => {
      removed = servers[address] ?? null;
      if (removed === null) return false;
      delete servers[address];
      return true;
    });
    return removed;
  }

  /** Reads the file; an absent file is no pins. */
  async #read(): Promise<PinsFile> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return { version: PINS_VERSION, servers: {} };
      throw this.#cannot("read", error);
    }
    return this.#parse(text);
  }

  #parse(text: string): PinsFile {
    const invalid = (why: string) =>
      new PinStoreError(
        `the pins file ${this.path} is not valid (${why}); nothing was changed. Fix it, or move ` +
          `it away to start over (every server is then trusted on first use again)`,
      );
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw invalid(error instanceof Error ? error.message : "not JSON");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw invalid("not a JSON object");
    }
    const file = value as Record<string, unknown>;
    if (typeof file.version !== "number" || !Number.isInteger(file.version)) {
      throw invalid('no "version"');
    }
    if (file.version > PINS_VERSION) {
      throw new PinStoreError(
        `the pins file ${this.path} is version ${file.version}, written by a newer chat; ` +
          `use that version, or check the server with --server-key FINGERPRINT`,
      );
    }
    const servers = file.servers;
    if (typeof servers !== "object" || servers === null || Array.isArray(servers)) {
      throw invalid('"servers" is not an object');
    }
    for (const [address, pin] of Object.entries(servers)) {
      const p = pin as Partial<Pin> | null;
      if (typeof p !== "object" || p === null || typeof p.fingerprint !== "string") {
        throw invalid(`the pin for ${JSON.stringify(address)} has no fingerprint`);
      }
      try {
        parseFingerprint(p.fingerprint);
      } catch (error) {
        if (!(error instanceof FingerprintError)) throw error;
        throw invalid(`the pin for ${JSON.stringify(address)} is not a fingerprint`);
      }
    }
    return file as PinsFile;
  }

  /**
   * Under the lock: re-reads the file, lets `edit` change the servers (it
   * returns whether it did), and if so writes the file whole and renames it
   * into place.
   */
  async #change(edit: (servers: Record<string, Pin>) => boolean): Promise<void> {
    const directory = dirname(this.path);
    try {
      await Deno.mkdir(directory, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw this.#cannot("create the directory of", error);
    }
    let lock: Deno.FsFile;
    try {
      lock = await Deno.open(`${this.path}.lock`, {
        read: true,
        write: true,
        create: true,
        mode: 0o600,
      });
    } catch (error) {
      throw this.#cannot("lock", error);
    }
    try {
      await lock.lock(true);
      const file = await this.#read();
      if (!edit(file.servers)) return;
      await this.#write(file);
    } finally {
      lock.close(); // closing releases the lock
    }
  }

  async #write(file: PinsFile): Promise<void> {
    const temporary = `${this.path}.${randomBytes(6).toString("hex")}.tmp`;
    const text = JSON.stringify({ ...file, version: PINS_VERSION }, null, 2) + "\n";
    try {
      await Deno.writeTextFile(temporary, text, { createNew: true, mode: 0o600 });
      await Deno.rename(temporary, this.path);
    } catch (error) {
      await Deno.remove(temporary).catch(() => {});
      throw this.#cannot("write", error);
    }
  }

  #cannot(what: string, error: unknown): PinStoreError {
    const reason = error instanceof Error ? error.message : String(error);
    const hint = error instanceof Error && error.name === "NotCapable"
      ? "; run with --allow-read and --allow-write (the deno tasks do)"
      : "";
    return new PinStoreError(`cannot ${what} the pins file ${this.path}: ${reason}${hint}`, {
      cause: error,
    });
  }
}

function checkFingerprint(fingerprint: string): void {
  parseFingerprint(fingerprint);
}

/**
 * The server proved a key other than the one pinned for it (or given with
 * `--server-key`): nothing secret was sent. `expected` holds the pinned
 * fingerprint's 32 bytes (a pin is a fingerprint), `actual` the key the
 * server proved; the message shows both fingerprints and the command that
 * accepts the new key on purpose.
 */
export class ServerKeyChangedError extends ServerKeyMismatchError {
  /** The server, "host:port". */
  readonly address: string;
  /** "SHA256:..." of the pin (or of `--server-key`). */
  readonly expectedFingerprint: string;
  /** "SHA256:..." of the key the server proved. */
  readonly actualFingerprint: string;
  /** `chat trust ADDRESS FINGERPRINT`, which pins the new key. */
  readonly acceptCommand: string;

  /** `explicit`: the expected key came from `--server-key`, not from a pin. */
  constructor(
    address: string,
    expected: Uint8Array,
    actualKey: Uint8Array,
    actual: Uint8Array,
    pin: Pin | "explicit",
  ) {
    const expectedFingerprint = formatFingerprint(expected);
    const actualFingerprint = formatFingerprint(actual);
    const acceptCommand = `chat trust ${address} ${actualFingerprint}`;
    const lines = pin === "explicit"
      ? [
        `the server at ${address} proved a key other than the one --server-key names; ` +
        `nothing was sent.`,
        `  --server-key: ${expectedFingerprint}`,
        `  the server's: ${actualFingerprint}`,
      ]
      : [
        `the server at ${address} proved a key other than the one pinned for it; nothing was sent.`,
        `  pinned (since ${pin.since}): ${expectedFingerprint}`,
        `  the server's:  ${actualFingerprint}`,
        `Someone may be posing as the server. If its operator changed the key on purpose, ` +
        `accept the new one with:`,
        `  ${acceptCommand}`,
        `(or \`chat forget ${address}\` to trust whatever key it shows next time)`,
      ];
    super(expected, actualKey, lines.join("\n"));
    this.name = "ServerKeyChangedError";
    this.address = address;
    this.expectedFingerprint = expectedFingerprint;
    this.actualFingerprint = actualFingerprint;
    this.acceptCommand = acceptCommand;
  }
}

/** Options of {@linkcode pinnedKeyCheck}. */
export interface PinnedKeyCheckOptions {
  /** Called once when a server's key is pinned on first use. */
  onPinned?: (address: string, fingerprint: string) => void;
  sha256?: Sha256;
}

/**
 * The check for a server without `--server-key`: the first call pins the
 * key when the server has no pin (trust on first use), passes when it
 * matches the pin, and throws {@linkcode ServerKeyChangedError} otherwise.
 * Once a key has passed, later calls (a rejoin) compare with that key only,
 * in memory: a rejoin never pins a new key, even if the pin was removed
 * meanwhile.
 */
export function pinnedKeyCheck(
  store: PinStore,
  server: HostPort,
  options: PinnedKeyCheckOptions = {},
): ServerKeyCheck {
  const address = serverAddressKey(server);
  const sha = options.sha256 ?? nodeSha256;
  let accepted: { fingerprint: Uint8Array; pin: Pin } | null = null;
  return async (serverStaticKey) => {
    const actual = fingerprintOf(sha, serverStaticKey);
    if (accepted !== null) {
      if (sameFingerprint(accepted.fingerprint, actual)) return;
      throw new ServerKeyChangedError(
        address,
        accepted.fingerprint,
        serverStaticKey,
        actual,
        accepted.pin,
      );
    }
    const { pin, added } = await store.pinIfAbsent(address, formatFingerprint(actual));
    const pinned = parseFingerprint(pin.fingerprint);
    if (!sameFingerprint(pinned, actual)) {
      throw new ServerKeyChangedError(address, pinned, serverStaticKey, actual, pin);
    }
    accepted = { fingerprint: pinned, pin };
    if (added) options.onPinned?.(address, pin.fingerprint);
  };
}

/**
 * The check for `--server-key FINGERPRINT`: the server must prove exactly
 * that key. Reads and writes no pins.
 */
export function explicitKeyCheck(
  server: HostPort,
  fingerprint: Uint8Array,
  sha256: Sha256 = nodeSha256,
): ServerKeyCheck {
  const address = serverAddressKey(server);
  return (serverStaticKey) => {
    const actual = fingerprintOf(sha256, serverStaticKey);
    if (!sameFingerprint(fingerprint, actual)) {
      throw new ServerKeyChangedError(address, fingerprint, serverStaticKey, actual, "explicit");
    }
  };
}
