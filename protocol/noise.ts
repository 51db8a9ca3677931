/**
 * The Noise_NX_25519_ChaChaPoly_SHA256 handshake of sealed TCRP
 * (docs/protocol.md section 6), per the Noise Protocol Framework revision 34
 * (https://noiseprotocol.org/noise.html): `-> e`, then `<- e, ee, s, es`.
 * The initiator (the client) learns and authenticates the responder's static
 * key; both get a pair of transport ciphers. Only the state machine is here
 * (sections 5.1-5.3, HKDF from HMAC-SHA256 as in 4.3); every primitive comes
 * from the injected {@linkcode CryptoProvider}. Checked against published
 * vectors (protocol/testdata/noise_nx_vectors.json).
 *
 * @module
 */
import { concatBytes } from "./bytes.ts";
import type { CryptoProvider, X25519KeyPair } from "./sealed_types.ts";

/** The Noise protocol name; it is also the initial handshake hash (exactly 32 bytes). */
export const NOISE_PROTOCOL_NAME = "Noise_NX_25519_ChaChaPoly_SHA256";

/** A handshake or transport message that is malformed, out of order or does not decrypt. */
export class NoiseError extends Error {
  /** Says what failed; never includes key material. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NoiseError";
  }
}

/** One direction of a Noise transport: implicit nonces from 0, one per message. */
export interface NoiseCipher {
  encrypt(plaintext: Uint8Array, ad?: Uint8Array): Uint8Array;
  /** Throws {@linkcode NoiseError} when the message does not decrypt. */
  decrypt(ciphertext: Uint8Array, ad?: Uint8Array): Uint8Array;
}

const DH_BYTES = 32;
const TAG_BYTES = 16;
const MAX_MESSAGE_BYTES = 65535;
const S_END = 2 * DH_BYTES + TAG_BYTES; // message 2: e, then s sealed
const MESSAGE_2_LEAST = S_END + TAG_BYTES; // and the sealed payload
const MAX_NONCE = 2n ** 64n - 1n; // reserved by the spec (section 5.1): never used
const EMPTY = new Uint8Array(0);
const DEAD = -1; // the step of a handshake that failed

/**
 * A Noise CipherState (section 5.1): a key, or none yet, and a 64-bit nonce
 * encoded for ChaChaPoly as 4 zero bytes || u64 little-endian (section 12.3).
 * Exported as the transport cipher `split` hands out.
 */
export class CipherState implements NoiseCipher {
  #crypto: CryptoProvider;
  #key: Uint8Array | null;
  #nonce = 0n;

  /** A cipher with `key`, or an empty one (which passes plaintext through, as the spec says). */
  constructor(crypto: CryptoProvider, key: Uint8Array | null = null) {
    this.#crypto = crypto;
    this.#key = key;
  }

  /** SetNonce of section 5.1 (the next message uses `nonce`). */
  setNonce(nonce: bigint): void {
    this.#nonce = nonce;
  }

  #nextNonce(): Uint8Array {
    if (this.#nonce >= MAX_NONCE) throw new NoiseError("Noise nonce exhausted");
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setBigUint64(4, this.#nonce, true);
    return nonce;
  }

  /** EncryptWithAd: the ciphertext and tag; the nonce moves on. */
  encrypt(plaintext: Uint8Array, ad: Uint8Array = EMPTY): Uint8Array {
    if (this.#key === null) return plaintext;
    const sealed = this.#crypto.aeadSeal(this.#key, this.#nextNonce(), plaintext, ad);
    this.#nonce++;
    return sealed;
  }

  /** DecryptWithAd: the plaintext; throws NoiseError, and keeps the nonce, when it fails. */
  decrypt(ciphertext: Uint8Array, ad: Uint8Array = EMPTY): Uint8Array {
    if (this.#key === null) return ciphertext;
    const plaintext = this.#crypto.aeadOpen(this.#key, this.#nextNonce(), ciphertext, ad);
    if (plaintext === null) throw new NoiseError("Noise message does not decrypt");
    this.#nonce++;
    return plaintext;
  }
}

/** A Noise SymmetricState (section 5.2): chaining key, handshake hash and a CipherState. */
class SymmetricState {
  #crypto: CryptoProvider;
  #ck: Uint8Array;
  #h: Uint8Array;
  #cipher: CipherState;

  constructor(crypto: CryptoProvider) {
    this.#crypto = crypto;
    // The name is exactly HASHLEN bytes, so it is h as it is, not hashed (section 5.2).
    this.#h = new TextEncoder().encode(NOISE_PROTOCOL_NAME);
    this.#ck = this.#h;
    this.#cipher = new CipherState(crypto);
  }

  get h(): Uint8Array {
    return this.#h.slice();
  }

  /** HKDF of section 4.3, with HMAC-SHA256: two 32-byte outputs. */
  #hkdf(ikm: Uint8Array): [Uint8Array, Uint8Array] {
    const tempKey = this.#crypto.hmacSha256(this.#ck, ikm);
    const first = this.#crypto.hmacSha256(tempKey, Uint8Array.of(1));
    return [first, this.#crypto.hmacSha256(tempKey, concatBytes(first, Uint8Array.of(2)))];
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, key] = this.#hkdf(ikm);
    this.#ck = ck;
    this.#cipher = new CipherState(this.#crypto, key);
  }

  mixHash(data: Uint8Array): void {
    this.#h = this.#crypto.sha256(concatBytes(this.#h, data));
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.#cipher.encrypt(plaintext, this.#h);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.#cipher.decrypt(ciphertext, this.#h);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** Split: the initiator's sending cipher first, then the responder's. */
  split(): [CipherState, CipherState] {
    const [first, second] = this.#hkdf(EMPTY);
    return [new CipherState(this.#crypto, first), new CipherState(this.#crypto, second)];
  }
}

/** What the two roles share: the symmetric state, DH, step order, and the split. */
abstract class NxHandshake {
  protected abstract readonly initiator: boolean;
  protected readonly crypto: CryptoProvider;
  protected readonly state: SymmetricState;
  protected readonly e: X25519KeyPair;
  #step = 0;

  /** `ephemeral` is for tests (fixed vectors); a fresh key pair otherwise. */
  constructor(crypto: CryptoProvider, prologue: Uint8Array, ephemeral?: X25519KeyPair) {
    this.crypto = crypto;
    this.state = new SymmetricState(crypto);
    this.state.mixHash(prologue);
    this.e = ephemeral ?? crypto.x25519KeyPair();
  }

  /**
   * Runs handshake step `step`; anything out of order is a NoiseError. A
   * step that throws leaves the handshake dead, so nothing (a split above
   * all) can follow a message that failed.
   */
  protected run<T>(step: number, what: string, body: () => T): T {
    if (this.#step !== step) throw new NoiseError(`Noise ${what} out of order`);
    this.#step = DEAD;
    const result = body();
    this.#step = step + 1;
    return result;
  }

  protected dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    try {
      return this.crypto.x25519(privateKey, publicKey);
    } catch (cause) {
      throw new NoiseError("Noise DH failed (a low-order public key)", { cause });
    }
  }

  protected static checkSize(message: Uint8Array, least: number, what: string): Uint8Array {
    if (message.length < least || message.length > MAX_MESSAGE_BYTES) {
      throw new NoiseError(`${what} of ${message.length} bytes is not ${least} to 65535`);
    }
    return message;
  }

  /** The hash that binds the whole handshake (channel binding); final after message 2. */
  get handshakeHash(): Uint8Array {
    return this.state.h;
  }

  /** The transport ciphers, once message 2 was read (initiator) or written (responder). */
  split(): { send: NoiseCipher; receive: NoiseCipher } {
    const [first, second] = this.run(2, "split", () => this.state.split());
    return this.initiator ? { send: first, receive: second } : { send: second, receive: first };
  }
}

/** The client's side of NX: sends `e`, then learns and authenticates the server's `s`. */
export class NoiseNxInitiator extends NxHandshake {
  protected readonly initiator = true;

  /** `-> e`: 32 bytes and the payload (in clear: there is no key yet). */
  writeMessage1(payload: Uint8Array = EMPTY): Uint8Array {
    return this.run(0, "message 1", () => {
      this.state.mixHash(this.e.publicKey);
      const message = concatBytes(this.e.publicKey, this.state.encryptAndHash(payload));
      return NxHandshake.checkSize(message, DH_BYTES, "Noise message 1");
    });
  }

  /** `<- e, ee, s, es`: the payload and the responder's static key. Throws NoiseError. */
  readMessage2(message: Uint8Array): { payload: Uint8Array; remoteStatic: Uint8Array } {
    return this.run(1, "message 2", () => {
      NxHandshake.checkSize(message, MESSAGE_2_LEAST, "Noise message 2");
      const re = message.slice(0, DH_BYTES);
      this.state.mixHash(re);
      this.state.mixKey(this.dh(this.e.privateKey, re));
      const remoteStatic = this.state.decryptAndHash(message.slice(DH_BYTES, S_END));
      this.state.mixKey(this.dh(this.e.privateKey, remoteStatic));
      const payload = this.state.decryptAndHash(message.slice(S_END));
      return { payload, remoteStatic };
    });
  }
}

/** The server's side of NX: proves its static key `s` to whoever sent `e`. */
export class NoiseNxResponder extends NxHandshake {
  protected readonly initiator = false;
  #s: X25519KeyPair;
  #re: Uint8Array | null = null;

  /** `staticKey` is the server's long-term key; `ephemeral` is for tests. */
  constructor(
    crypto: CryptoProvider,
    prologue: Uint8Array,
    staticKey: X25519KeyPair,
    ephemeral?: X25519KeyPair,
  ) {
    super(crypto, prologue, ephemeral);
    this.#s = staticKey;
  }

  /** `-> e`: the payload. Throws NoiseError. */
  readMessage1(message: Uint8Array): Uint8Array {
    return this.run(0, "message 1", () => {
      NxHandshake.checkSize(message, DH_BYTES, "Noise message 1");
      this.#re = message.slice(0, DH_BYTES);
      this.state.mixHash(this.#re);
      return this.state.decryptAndHash(message.slice(DH_BYTES));
    });
  }

  /** `<- e, ee, s, es`: 96 bytes and the sealed payload. */
  writeMessage2(payload: Uint8Array = EMPTY): Uint8Array {
    return this.run(1, "message 2", () => {
      const re = this.#re!;
      this.state.mixHash(this.e.publicKey);
      this.state.mixKey(this.dh(this.e.privateKey, re));
      const s = this.state.encryptAndHash(this.#s.publicKey);
      this.state.mixKey(this.dh(this.#s.privateKey, re));
      const message = concatBytes(this.e.publicKey, s, this.state.encryptAndHash(payload));
      return NxHandshake.checkSize(message, MESSAGE_2_LEAST, "Noise message 2");
    });
  }
}
