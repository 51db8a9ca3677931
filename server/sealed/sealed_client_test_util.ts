/**
 * A sealed member made by hand from the codecs (not the project's client),
 * for the server's tests: it seals client datagrams with its own counter,
 * and opens what the server sends it, member channel, room channel (signature
 * checked first) and resets, learning epoch keys from WELCOME and KEY.
 */
import { decodeServerDatagram, type ServerBody } from "../../protocol/datagram.ts";
import {
  decodeSealedServerInner,
  encodeSealedClientBody,
  openMemberDatagram,
  openRoomDatagram,
  peekSealedHeader,
  type SealedClientBody,
  type SealedServerControl,
  sealMemberDatagram,
  verifyRoomDatagram,
} from "../../protocol/sealed_datagram.ts";
import type { CryptoProvider, IssuedSession } from "../../protocol/sealed_types.ts";

/** What one server datagram meant to this member. */
export type Opened =
  | { channel: "member"; counter: number; control: SealedServerControl }
  | { channel: "room"; epoch: number; counter: number; event: ServerBody }
  | { channel: "reset"; sessionId: Uint8Array; token: Uint8Array };

/** A member's side of a sealed session, by hand. */
export class SealedTestClient {
  readonly session: IssuedSession;
  readonly signingKey: Uint8Array;
  /** Epoch keys learned, by epoch. */
  readonly epochs = new Map<number, Uint8Array>();
  #crypto: CryptoProvider;
  #counter = 0;

  /** A member holding `session`'s keys, trusting `signingKey` for room datagrams. */
  constructor(crypto: CryptoProvider, session: IssuedSession, signingKey: Uint8Array) {
    this.#crypto = crypto;
    this.session = session;
    this.signingKey = signingKey;
  }

  /** The next counter this member would use. */
  get counter(): number {
    return this.#counter;
  }

  /** A sealed client datagram of `body` with the next counter (or `counter`, for tests). */
  seal(body: SealedClientBody, counter = this.#counter++): Uint8Array {
    return sealMemberDatagram(this.#crypto, {
      key: this.session.clientKey,
      sessionId: this.session.sessionId,
      counter,
      inner: encodeSealedClientBody(body),
    });
  }

  /**
   * What a server datagram says, or null when it is not for us: a member
   * datagram that does not open under our serverKey, a room datagram
   * without the server's signature or of an epoch we hold no key for.
   */
  open(bytes: Uint8Array): Opened | null {
    const header = peekSealedHeader(bytes);
    switch (header.type) {
      case "reset":
        return { channel: "reset", sessionId: header.sessionId, token: header.token };
      case "member": {
        const inner = openMemberDatagram(this.#crypto, this.session.serverKey, bytes);
        if (inner === null) return null;
        const control = decodeSealedServerInner(inner);
        if (control.kind === "welcome" || control.kind === "key") {
          this.epochs.set(control.epoch, control.epochKey);
        }
        return { channel: "member", counter: header.counter, control };
      }
      case "room": {
        if (verifyRoomDatagram(this.#crypto, this.signingKey, bytes) !== true) return null;
        const key = this.epochs.get(header.epoch);
        if (key === undefined) return null;
        const inner = openRoomDatagram(this.#crypto, key, bytes);
        if (inner === null) return null;
        return {
          channel: "room",
          epoch: header.epoch,
          counter: header.counter,
          event: decodeServerDatagram(inner),
        };
      }
    }
  }
}

/** The server body of an opened datagram, when it carries one (EVENT, ACK, WELCOME...). */
export function bodyOf(opened: Opened | null): ServerBody | null {
  if (opened === null || opened.channel === "reset") return null;
  if (opened.channel === "room") return opened.event;
  const control = opened.control;
  if (control.kind === "welcome") return control.welcome;
  return control.kind === "body" ? control.body : null;
}
