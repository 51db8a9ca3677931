/**
 * The {@linkcode CryptoProvider} for the page: the @noble primitives of
 * `noble_crypto.ts` for everything, random bytes only from
 * `crypto.getRandomValues`, and Ed25519 verification (one per room
 * datagram) through WebCrypto where the browser has it. Without it (plain
 * http has no `crypto.subtle`; older browsers lack Ed25519), @noble
 * verifies, about 0.5 ms each in V8: a 1,024-event catch-up would freeze
 * the page for half a second or more, so the fallback yields to the event
 * loop (a macrotask through a MessageChannel, which hidden tabs do not
 * throttle as they do timers) whenever it has verified for more than
 * {@linkcode VERIFY_SLICE_MS} without one.
 *
 * @module
 */
import type { CryptoProvider, Ed25519Signer } from "../protocol/sealed_types.ts";
import { nobleCrypto } from "./noble_crypto.ts";

/** The fallback verifies for at most about this long before it lets the page run. */
export const VERIFY_SLICE_MS = 8;

/** How an Ed25519 signature is verified. */
export type VerifyPath = "webcrypto" | "noble";

/** Options of {@linkcode browserCrypto}. */
export interface BrowserCryptoOptions {
  /** Verify with @noble even where WebCrypto has Ed25519 (tests, or to compare). */
  forceFallback?: boolean;
  /** WebCrypto to use; default `globalThis.crypto.subtle` (absent on plain http). */
  subtle?: SubtleCrypto;
  /** The fallback's slice (default {@linkcode VERIFY_SLICE_MS}). */
  sliceMs?: number;
  /** A monotonic clock in ms for the slices; default `performance.now`. */
  now?: () => number;
}

/** A provider for the page, and which way it verifies (known after the first verify). */
export interface BrowserCryptoProvider extends CryptoProvider {
  /** Resolves to the way signatures are verified (WebCrypto probed once). */
  verifyPath(): Promise<VerifyPath>;
}

const KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
/** getRandomValues fills at most this many bytes per call. */
const RANDOM_CHUNK_BYTES = 65_536;
/** Imported WebCrypto keys kept: a session meets one signing key per server process. */
const KEY_CACHE_SIZE = 16;

/** RFC 8032 section 7.1 test 2: what the probe verifies, so a broken Ed25519 is not used. */
const PROBE = {
  publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
  message: "72",
  signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da" +
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
};

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

/** Bytes from `crypto.getRandomValues` (never Math.random), in its 64 KiB steps. */
function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += RANDOM_CHUNK_BYTES) {
    globalThis.crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + RANDOM_CHUNK_BYTES)));
  }
  return bytes;
}

/** One macrotask turn: what the page needs to paint and handle input. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
    channel.port2.close();
  });
}

/** True when `subtle` imports an Ed25519 key and verifies RFC 8032's test 2 (and rejects a flip). */
async function probeWebCrypto(subtle: SubtleCrypto): Promise<boolean> {
  try {
    const key = await subtle.importKey(
      "raw",
      fromHex(PROBE.publicKey),
      { name: "Ed25519" },
      false,
      [
        "verify",
      ],
    );
    const signature = fromHex(PROBE.signature);
    const good = await subtle.verify({ name: "Ed25519" }, key, signature, fromHex(PROBE.message));
    signature[9]! ^= 1;
    const bad = await subtle.verify({ name: "Ed25519" }, key, signature, fromHex(PROBE.message));
    return good === true && bad === false;
  } catch {
    return false;
  }
}

/**
 * The page's provider. Ed25519 verification probes WebCrypto once (on the
 * first verify) and uses it when it works; otherwise @noble, in slices.
 *
 * @example
 * ```ts
 * const crypto = browserCrypto();
 * const connector = new WebSocketConnector({ url, crypto, checkServerKey });
 * ```
 */
export function browserCrypto(options: BrowserCryptoOptions = {}): BrowserCryptoProvider {
  const subtle = options.forceFallback ? undefined : options.subtle ?? globalThis.crypto?.subtle;
  const sliceMs = options.sliceMs ?? VERIFY_SLICE_MS;
  const now = options.now ?? (() => performance.now());
  let path: Promise<VerifyPath> | null = null;
  const verifyPath = () =>
    path ??= subtle === undefined
      ? Promise.resolve("noble")
      : probeWebCrypto(subtle).then((works) => works ? "webcrypto" : "noble");

  const keys = new Map<string, Promise<CryptoKey | null>>();
  const importKey = (publicKey: Uint8Array): Promise<CryptoKey | null> => {
    const id = Array.from(publicKey, (b) => b.toString(16).padStart(2, "0")).join("");
    let key = keys.get(id);
    if (key === undefined) {
      key = subtle!.importKey("raw", publicKey.slice(), { name: "Ed25519" }, false, ["verify"])
        .catch(() => null); // not a point on the curve: verifies nothing
      if (keys.size >= KEY_CACHE_SIZE) keys.delete(keys.keys().next().value!);
      keys.set(id, key);
    }
    return key;
  };

  /** Verifying time since the page last had a turn. */
  let busyMs = 0;
  const slicedVerify = async (
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
  ) => {
    if (busyMs >= sliceMs) {
      await yieldToEventLoop();
      busyMs = 0;
    }
    const started = now();
    try {
      return nobleCrypto.ed25519Verify(publicKey, message, signature) as boolean;
    } finally {
      busyMs += now() - started;
    }
  };

  return {
    ...nobleCrypto,
    name: options.forceFallback ? "@noble (browser, sliced verify)" : "@noble + WebCrypto Ed25519",
    randomBytes,
    x25519KeyPair: (privateKey) => nobleCrypto.x25519KeyPair(privateKey ?? randomBytes(KEY_BYTES)),
    ed25519Signer: (seed): Ed25519Signer =>
      nobleCrypto.ed25519Signer(seed ?? randomBytes(KEY_BYTES)),
    verifyPath,
    async ed25519Verify(publicKey, message, signature) {
      if (signature.length !== SIGNATURE_BYTES || publicKey.length !== KEY_BYTES) return false;
      if ((await verifyPath()) === "noble") return slicedVerify(publicKey, message, signature);
      const key = await importKey(publicKey);
      if (key === null) return false;
      try {
        return await subtle!.verify({ name: "Ed25519" }, key, signature.slice(), message.slice());
      } catch {
        return false;
      }
    },
  };
}
