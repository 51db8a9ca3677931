/**
 * What the page keeps between loads. The name, in localStorage (every tab
 * of this origin offers it again). The membership of this tab, in
 * sessionStorage: {room, name, ticket, wasHost}, so that a reload joins the
 * same room again and takes over the member it was (docs/protocol.md 7.4;
 * the ticket is the session's resume ticket, in hex). Never the password,
 * never a key: a reload asks for the password again. Pure: the stores are
 * given (a test passes a Map), and a store that throws (storage disabled,
 * full) only means nothing is remembered.
 *
 * @module
 */

/** The part of the Web Storage API used here. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** A resume ticket in hex: the session id (16 hex digits) and its proof (64). */
export interface TicketHex {
  session: string;
  proof: string;
}

/** What a tab remembers of its membership across a reload. */
export interface ResumeState {
  room: string;
  name: string;
  /** The last resume ticket the session gave, or null (none yet). */
  ticket: TicketHex | null;
  /** We were the room's host (a reload of a host page). */
  wasHost: boolean;
}

/** localStorage key of the name. */
export const NAME_KEY = "chat.name";
/** sessionStorage key of the membership. */
export const RESUME_KEY = "chat.resume";

/** The remembered name, or "". */
export function loadName(store: KeyValueStore): string {
  return attempt(() => store.getItem(NAME_KEY), null) ?? "";
}

/** Remembers the name. */
export function saveName(store: KeyValueStore, name: string): void {
  attempt(() => store.setItem(NAME_KEY, name), undefined);
}

/** The remembered membership, or null (none, or anything that is not one). */
export function loadResume(store: KeyValueStore): ResumeState | null {
  const raw = attempt(() => store.getItem(RESUME_KEY), null);
  if (raw === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { room, name, ticket, wasHost } = value as Record<string, unknown>;
  if (typeof room !== "string" || room === "" || typeof name !== "string" || name === "") {
    return null;
  }
  return { room, name, ticket: validTicket(ticket), wasHost: wasHost === true };
}

/** Remembers the membership. */
export function saveResume(store: KeyValueStore, state: ResumeState): void {
  attempt(() => store.setItem(RESUME_KEY, JSON.stringify(state)), undefined);
}

/** Forgets the membership (we left, or the room closed). */
export function clearResume(store: KeyValueStore): void {
  attempt(() => store.removeItem(RESUME_KEY), undefined);
}

/** Hex of a ticket. */
export function ticketToHex(ticket: { sessionId: Uint8Array; proof: Uint8Array }): TicketHex {
  return { session: hex(ticket.sessionId), proof: hex(ticket.proof) };
}

/** A ticket's bytes from its hex. */
export function ticketFromHex(ticket: TicketHex): { sessionId: Uint8Array; proof: Uint8Array } {
  return { sessionId: unhex(ticket.session), proof: unhex(ticket.proof) };
}

function validTicket(value: unknown): TicketHex | null {
  if (typeof value !== "object" || value === null) return null;
  const { session, proof } = value as Record<string, unknown>;
  if (typeof session !== "string" || !/^[0-9a-f]{16}$/.test(session)) return null;
  if (typeof proof !== "string" || !/^[0-9a-f]{64}$/.test(proof)) return null;
  return { session, proof };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

function attempt<T>(action: () => T, fallback: T): T {
  try {
    return action();
  } catch {
    return fallback; // storage off or full: the page works, it only forgets
  }
}
