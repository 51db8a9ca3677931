/**
 * The vocabulary of sealed sessions (docs/protocol.md section 6) that the
 * codecs, the server and the client share: the primitives they are given
 * (a {@linkcode CryptoProvider}, never imported by protocol/ or the client
 * library, so a browser can pass a pure-JS one), what a sealed answer hands
 * a member, and how a client decides whether it trusts a server's key.
 *
 * @module
 */

/** An X25519 key pair, 32 raw bytes each. */
export interface X25519KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/** An Ed25519 private key ready to sign, with its 32-byte public half. */
export interface Ed25519Signer {
  readonly publicKey: Uint8Array;
  /** A 64-byte signature of `message`. */
  sign(message: Uint8Array): Uint8Array;
}

/**
 * The primitives sealed sessions are built from. Synchronous, so the
 * server's hot path stays synchronous; only `ed25519Verify` may answer with
 * a promise (WebCrypto in a browser).
 *
 * @example A provider is passed in, never imported by the library
 * ```ts
 * const bytes = provider.randomBytes(32);
 * ```
 */
export interface CryptoProvider {
  /** For logs and benchmarks ("node:crypto", "@noble"). */
  readonly name: string;
  /** Bytes from a cryptographically secure generator. */
  randomBytes(size: number): Uint8Array;
  /** The key pair of `privateKey`, or a fresh one. */
  x25519KeyPair(privateKey?: Uint8Array): X25519KeyPair;
  /** The X25519 shared secret; throws when it is all zeros (a low-order public key). */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** ChaCha20-Poly1305 (RFC 8439): ciphertext followed by the 16-byte tag. */
  aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array;
  /** The plaintext, or null when the tag does not verify. */
  aeadOpen(
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    ad: Uint8Array,
  ): Uint8Array | null;
  /** A signer for the 32-byte `seed`, or for a fresh one. */
  ed25519Signer(seed?: Uint8Array): Ed25519Signer;
  ed25519Verify(
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
  ): boolean | Promise<boolean>;
}

/**
 * What a sealed CREATE or JOIN answer hands the member, besides the plain
 * settings (JoinAccepted): the keys of its member channel, how it knows the
 * room's events are the server's, and what it needs to judge a rejoin.
 */
export interface SealedSessionParams {
  /** 8 bytes, public, authenticating nothing: names the session in every member datagram. */
  sessionId: Uint8Array;
  /** Seals client -> server member datagrams (32 bytes). */
  clientKey: Uint8Array;
  /** Seals server -> client member datagrams (32 bytes). */
  serverKey: Uint8Array;
  /** 16 bytes: a stateless reset carrying it means the server no longer knows the session. */
  resetToken: Uint8Array;
  /** The server process's Ed25519 public key: room datagrams are signed with its private half. */
  signingKey: Uint8Array;
  /** Whether the room asks for a password. */
  passwordProtected: boolean;
  /** The room's host. */
  host: string;
  /** The server's static X25519 public key, as the handshake proved it. */
  serverStaticKey: Uint8Array;
}

/** What the server hands out for one admitted member (the rest of SealedSessionParams is its own). */
export interface IssuedSession {
  sessionId: Uint8Array;
  clientKey: Uint8Array;
  serverKey: Uint8Array;
  resetToken: Uint8Array;
}

/**
 * Opens the sealed-datagram session of a member the registry just admitted
 * (its token stays inside the server), for the handshake to put in its answer.
 */
export interface SealedSessionIssuer {
  issue(memberToken: Uint8Array, roomName: string): IssuedSession;
}

/**
 * Decides whether the client trusts the server's static key, before anything
 * secret is sent: resolves when it does (it may pin it on first use), and
 * throws {@linkcode ServerKeyMismatchError} when a pinned key differs.
 */
export type ServerKeyCheck = (serverStaticKey: Uint8Array) => void | Promise<void>;

/** The server proved a key other than the one pinned for it: nothing secret was sent. */
export class ServerKeyMismatchError extends Error {
  /** The pinned key. */
  readonly expected: Uint8Array;
  /** The key the server proved. */
  readonly actual: Uint8Array;

  /** Both keys; the message says what to do. */
  constructor(expected: Uint8Array, actual: Uint8Array, message: string) {
    super(message);
    this.name = "ServerKeyMismatchError";
    this.expected = expected;
    this.actual = actual;
  }
}
