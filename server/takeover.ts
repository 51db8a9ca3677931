/**
 * Whether a sealed JOIN's resume ticket holds (docs/protocol.md 7.4): it
 * names a live sealed session whose member is in the requested room under
 * the requested name, and proves that the requester held that session's
 * client key. The handshake then takes the member over (after the usual
 * password check) instead of joining a second one under the same name.
 *
 * @module
 */
import { sameBytes } from "../protocol/bytes.ts";
import { canonicalKey } from "../protocol/names.ts";
import { resumeProof } from "../protocol/resume.ts";
import type { RoomRequest } from "../protocol/tcrp.ts";
import type {
  CryptoProvider,
  IssuedSession,
  SealedSessionIssuer,
} from "../protocol/sealed_types.ts";
import type { RoomRegistry } from "./registry.ts";
import type { SealedSession } from "./sealed/sessions.ts";

/** What a takeover needs of the session table (server/sealed/sessions.ts has it). */
export interface TakeoverSessions {
  /** Computes the proof a resume ticket must carry. */
  readonly crypto: CryptoProvider;
  /** The live session with this id. */
  byId(sessionId: Uint8Array): SealedSession | undefined;
  /** A new session for `old`'s member; `old` is forgotten and its socket told. */
  replace(old: SealedSession, roomName: string): IssuedSession;
}

/** The handshake's session issuer: with {@linkcode TakeoverSessions}, takeovers are possible. */
export type HandshakeSessions = SealedSessionIssuer | (SealedSessionIssuer & TakeoverSessions);

/** Whether `sessions` can check tickets and replace sessions. */
export function takesOver(
  sessions: HandshakeSessions | undefined,
): sessions is SealedSessionIssuer & TakeoverSessions {
  return sessions !== undefined && "replace" in sessions && "byId" in sessions;
}

/**
 * The live session `request`'s ticket names, when it holds; otherwise why
 * not, in words for the abuse log.
 */
export function ticketHolder(
  sessions: HandshakeSessions | undefined,
  registry: RoomRegistry,
  request: RoomRequest,
): SealedSession | string {
  const ticket = request.resume;
  if (ticket === undefined) return "no ticket";
  if (!takesOver(sessions)) return "takeovers are off";
  const session = sessions.byId(ticket.sessionId);
  if (session === undefined) return "no such session";
  // sameBytes takes the same time wherever two proofs differ.
  const expected = resumeProof(sessions.crypto, session.clientKey, session.id);
  if (!sameBytes(expected, ticket.proof)) return "a wrong proof";
  if (!stillHeld(sessions, registry, session, request)) {
    return "a session of another room or name";
  }
  return session;
}

/**
 * Whether `session` is still live and its member is `request`'s name
 * (canonical key) in `request`'s room (canonical key): asked again after the
 * password check, since the session may have ended or been taken over
 * meanwhile.
 */
export function stillHeld(
  sessions: HandshakeSessions | undefined,
  registry: RoomRegistry,
  session: SealedSession,
  request: RoomRequest,
): boolean {
  if (session.closed || !takesOver(sessions) || sessions.byId(session.id) !== session) {
    return false;
  }
  const member = registry.membership(session.token);
  return member !== undefined && member.roomKey === canonicalKey(request.roomName) &&
    canonicalKey(member.name) === canonicalKey(request.username);
}
