/**
 * `chat trust HOST:PORT [FINGERPRINT]` and `chat forget HOST:PORT`: pinning
 * a server's key on purpose, and removing a pin (docs/protocol.md 6.4).
 *
 * - `trust` with a fingerprint pins exactly that, without connecting: the
 *   way to accept a key its operator read out or published.
 * - `trust` without one connects, takes the key the server proves in a
 *   sealed handshake, shows its fingerprint and pins it. It sends no request:
 *   the key check ends the exchange before the sealed request would go out.
 * - Either way an old pin is replaced, and both fingerprints are shown.
 *
 * @module
 */
import { displayText } from "../protocol/display_text.ts";
import {
  FingerprintError,
  fingerprintText,
  formatFingerprint,
  parseFingerprint,
} from "../protocol/fingerprint.ts";
import type { HostPort } from "../protocol/host_port.ts";
import type { ServerKeyCheck } from "../protocol/sealed_types.ts";
import { nodeSha256, type PinStore, serverAddressKey, type Sha256 } from "./pin_store.ts";
import { UsageError } from "./usage_error.ts";

/** Connects to `server` and resolves with the static public key it proves. */
export type FetchServerKey = (server: HostPort) => Promise<Uint8Array>;

/**
 * A sealed call (a room-list page, say) that checks the server's key with
 * `checkServerKey` before it sends anything, and passes on what the check throws.
 */
export type SealedCall = (server: HostPort, checkServerKey: ServerKeyCheck) => Promise<unknown>;

/** Thrown by the capturing check to end the call once the key is known. */
class KeyCaptured extends Error {
  constructor(readonly key: Uint8Array) {
    super("server key captured");
  }
}

/**
 * A {@linkcode FetchServerKey} made of a sealed call: its key check keeps
 * the key and throws, so the call stops right after the server proved it,
 * before its request goes out.
 */
export function serverKeyFetcher(call: SealedCall): FetchServerKey {
  return async (server) => {
    try {
      await call(server, (key) => {
        throw new KeyCaptured(key.slice());
      });
    } catch (error) {
      if (error instanceof KeyCaptured) return error.key;
      throw error;
    }
    throw new Error("the sealed call ended without checking the server's key");
  };
}

/** What `forget` works with. */
export interface ForgetEnvironment {
  store: PinStore;
  writeLine: (line: string) => void;
}

/** What `trust` works with. */
export interface TrustEnvironment extends ForgetEnvironment {
  /** Connects for the key (`trust` without a fingerprint). */
  fetchServerKey: FetchServerKey;
  sha256?: Sha256;
}

/**
 * Runs `chat trust`; resolves with the exit code. A fingerprint that is not
 * one is a UsageError (exit 2); a server that cannot be reached throws as
 * `chat join` does.
 */
export async function runTrustCommand(
  server: HostPort,
  fingerprint: string | undefined,
  env: TrustEnvironment,
): Promise<number> {
  const address = serverAddressKey(server);
  let chosen: string;
  if (fingerprint !== undefined) {
    try {
      chosen = formatFingerprint(parseFingerprint(fingerprint));
    } catch (error) {
      if (error instanceof FingerprintError) throw new UsageError(`FINGERPRINT: ${error.message}`);
      throw error;
    }
  } else {
    const key = await env.fetchServerKey(server);
    chosen = fingerprintText(env.sha256 ?? nodeSha256, key);
    env.writeLine(`The server at ${displayText(address)} proves the key ${chosen}`);
  }
  const previous = await env.store.pin(address, chosen);
  if (previous === null) {
    env.writeLine(`Pinned ${chosen} for ${displayText(address)}.`);
  } else if (previous.fingerprint === chosen) {
    env.writeLine(`${displayText(address)} was already pinned to ${chosen}; nothing changed.`);
  } else {
    env.writeLine(`Pinned ${chosen} for ${displayText(address)}, replacing the old pin:`);
    env.writeLine(`  old (pinned ${previous.since}): ${displayText(previous.fingerprint)}`);
    env.writeLine(`  new:  ${chosen}`);
  }
  return 0;
}

/** Runs `chat forget`; resolves with the exit code (0 whether or not there was a pin). */
export async function runForgetCommand(server: HostPort, env: ForgetEnvironment): Promise<number> {
  const address = serverAddressKey(server);
  const removed = await env.store.forget(address);
  env.writeLine(
    removed === null
      ? `No pin for ${displayText(address)}; nothing changed.`
      : `Forgot the pin for ${displayText(address)} (${
        displayText(removed.fingerprint)
      }): the key it shows next is trusted on first use.`,
  );
  return 0;
}
