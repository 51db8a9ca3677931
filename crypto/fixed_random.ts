/**
 * A test helper: a {@linkcode CryptoProvider} whose randomness is a fixed
 * byte sequence, so that two providers, or two runs, can be compared byte
 * for byte (Noise transcripts, sealed datagrams, fresh keys).
 *
 * @module
 */
import type { CryptoProvider, Ed25519Signer, X25519KeyPair } from "../protocol/sealed_types.ts";

/**
 * `provider`, except that `randomBytes` and every fresh key (an
 * `x25519KeyPair()` or `ed25519Signer()` without a key: 32 bytes each) are
 * drawn in order from `bytes`. Running out throws a RangeError rather than
 * repeating bytes, which would hide a nonce or key reuse.
 */
export function withFixedRandom(provider: CryptoProvider, bytes: Uint8Array): CryptoProvider {
  const source = bytes.slice();
  let used = 0;
  const draw = (size: number): Uint8Array => {
    if (used + size > source.length) {
      throw new RangeError(
        `fixed random source exhausted: ${size} bytes asked, ${source.length - used} left`,
      );
    }
    used += size;
    return source.slice(used - size, used);
  };
  return {
    name: `${provider.name} (fixed random)`,
    randomBytes: draw,
    x25519KeyPair: (privateKey?: Uint8Array): X25519KeyPair =>
      provider.x25519KeyPair(privateKey ?? draw(32)),
    x25519: (privateKey, publicKey) => provider.x25519(privateKey, publicKey),
    sha256: (data) => provider.sha256(data),
    hmacSha256: (key, data) => provider.hmacSha256(key, data),
    aeadSeal: (key, nonce, plaintext, ad) => provider.aeadSeal(key, nonce, plaintext, ad),
    aeadOpen: (key, nonce, sealed, ad) => provider.aeadOpen(key, nonce, sealed, ad),
    ed25519Signer: (seed?: Uint8Array): Ed25519Signer => provider.ed25519Signer(seed ?? draw(32)),
    ed25519Verify: (publicKey, message, signature) =>
      provider.ed25519Verify(publicKey, message, signature),
  };
}
