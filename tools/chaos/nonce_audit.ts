/**
 * The nonce audit of the chaos suites (issue 13, Tests): every
 * ChaCha20-Poly1305 seal made by the server and by every client through a
 * suite is recorded as a hash of key || nonce, and no pair may repeat.
 *
 * It records at the bottom: a {@linkcode CryptoProvider} wrapper sees every
 * `aeadSeal` call the party makes, whatever code made it (member and room
 * datagrams, and the Noise handshake's messages too), so nothing can seal
 * without being audited. The server runs in its own process
 * (tools/chaos/audited_server.ts) and streams its records here.
 */
import { createHash } from "node:crypto";
import {
  MEMBER_HEADER_BYTES,
  ROOM_HEADER_BYTES,
  SealedType,
} from "../../protocol/sealed_datagram.ts";
import type { CryptoProvider } from "../../protocol/sealed_types.ts";

/** Who sealed. */
export type SealParty = "server" | "client";
/** What was sealed, told apart by the associated data (the clear header of a datagram). */
export type SealKind = "member" | "room" | "handshake";

/** Bytes of a record's hash: the first 16 of SHA-256(key || nonce). */
export const AUDIT_HASH_BYTES = 16;

/** The kind of a seal from its associated data: a member or room header, else Noise's. */
export function sealKindOf(ad: Uint8Array): SealKind {
  if (ad.length === MEMBER_HEADER_BYTES && ad[0] === 0 && ad[1] === SealedType.MEMBER) {
    return "member";
  }
  if (ad.length === ROOM_HEADER_BYTES && ad[0] === 0 && ad[1] === SealedType.ROOM) return "room";
  return "handshake";
}

/** The record of one (key, nonce): 128 bits of SHA-256(key || nonce). */
export function auditHash(key: Uint8Array, nonce: Uint8Array): Uint8Array {
  const digest = createHash("sha256").update(key).update(nonce).digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, AUDIT_HASH_BYTES).slice();
}

/** What the audit found. */
export interface NonceAuditFigures {
  /** Distinct (key, nonce) pairs recorded. */
  pairs: number;
  /** Seals recorded, per party and kind. */
  seals: Record<SealParty, Record<SealKind, number>>;
  /** Pairs seen more than once. */
  repeats: number;
}

/**
 * One Set of every (key, nonce) hash seen, across parties: a pair sealed
 * twice, by anyone, is a repeat. A suite's audit passes every record on to
 * its `parent` (the whole run's), so pairs are also unique across suites.
 */
export class NonceAudit {
  #parent: NonceAudit | undefined;
  #seen = new Set<string>();
  #repeats = 0;
  #seals: Record<SealParty, Record<SealKind, number>> = {
    server: { member: 0, room: 0, handshake: 0 },
    client: { member: 0, room: 0, handshake: 0 },
  };

  /** An audit that also tells `parent` every record. */
  constructor(parent?: NonceAudit) {
    this.#parent = parent;
  }

  /** Records one seal by its hash ({@linkcode auditHash}). */
  recordHash(party: SealParty, kind: SealKind, hash: Uint8Array): void {
    this.#parent?.recordHash(party, kind, hash);
    this.#seals[party][kind]++;
    const text = String.fromCharCode(...hash);
    if (this.#seen.has(text)) this.#repeats++;
    else this.#seen.add(text);
  }

  /** Records one seal. */
  record(party: SealParty, kind: SealKind, key: Uint8Array, nonce: Uint8Array): void {
    this.recordHash(party, kind, auditHash(key, nonce));
  }

  /** Counts so far. */
  get figures(): NonceAuditFigures {
    return {
      pairs: this.#seen.size,
      seals: structuredClone(this.#seals),
      repeats: this.#repeats,
    };
  }
}

/** One line for a report: pairs, seals per party and kind, repeats. */
export function describeAudit(f: NonceAuditFigures): string {
  const { server, client } = f.seals;
  // Clients seal no room datagrams (the server seals each broadcast once); shown if one ever did.
  const clientRoom = client.room > 0 ? ` + ${client.room} room` : "";
  return `nonce audit: ${f.pairs} (key, nonce) pairs (server seals: ${server.member} member + ` +
    `${server.room} room + ${server.handshake} handshake; client seals: ${client.member} ` +
    `member${clientRoom} + ${client.handshake} handshake), ${f.repeats} repeated`;
}

/**
 * `inner`, with every `aeadSeal` told to `onSeal` first (before the sealed
 * bytes exist, so a process killed right after still has its record out).
 */
export function auditingCrypto(
  inner: CryptoProvider,
  onSeal: (kind: SealKind, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array) => void,
): CryptoProvider {
  return {
    name: `${inner.name} (audited)`,
    randomBytes: (size) => inner.randomBytes(size),
    x25519KeyPair: (privateKey) => inner.x25519KeyPair(privateKey),
    x25519: (privateKey, publicKey) => inner.x25519(privateKey, publicKey),
    sha256: (data) => inner.sha256(data),
    hmacSha256: (key, data) => inner.hmacSha256(key, data),
    aeadSeal(key, nonce, plaintext, ad) {
      onSeal(sealKindOf(ad), key, nonce, plaintext);
      return inner.aeadSeal(key, nonce, plaintext, ad);
    },
    aeadOpen: (key, nonce, sealed, ad) => inner.aeadOpen(key, nonce, sealed, ad),
    ed25519Signer: (seed) => inner.ed25519Signer(seed),
    ed25519Verify: (publicKey, message, signature) =>
      inner.ed25519Verify(publicKey, message, signature),
  };
}
