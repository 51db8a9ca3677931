/**
 * Opening a membership from the page: the project's own session library
 * (client/session.ts) over the WebSocket connector, with the browser's
 * crypto provider, and on a reload the resume ticket that takes over the
 * member this tab was (docs/protocol.md 7.4).
 *
 * @module
 */
import { ChatSession } from "../session.ts";
import type { SessionOptions } from "../session_options.ts";
import {
  type ResumeTicket,
  type SessionEvent,
  WebSocketConnector,
  type WebSocketConnectorOptions,
} from "./client_api.ts";
import type { JoinRequest } from "./join_view.ts";

/** What the page uses of a session. */
export interface PageSession {
  readonly username: string;
  readonly room: string;
  readonly host: string;
  readonly members: string[];
  /** The ticket a reload takes this membership over with; null until there is one. */
  readonly resumeTicket: ResumeTicket | null;
  send(text: string): number;
  leave(): Promise<void>;
  /** Tries the connection now (the page came back: online, visible, shown). */
  nudge(): void;
  readonly closed: Promise<void>;
  [Symbol.asyncIterator](): AsyncIterator<SessionEvent>;
}

/** Opens a session for `request`; rejects as {@linkcode ChatSession.open} does. */
export async function openPageSession(
  link: WebSocketConnectorOptions,
  request: JoinRequest,
  resume: ResumeTicket | null,
): Promise<PageSession> {
  const options: SessionOptions = {
    connector: new WebSocketConnector(link),
    create: request.create,
    room: request.room,
    username: request.name,
    password: request.password === "" ? null : request.password,
    crypto: link.crypto,
  };
  if (resume !== null && !request.create) options.resume = resume;
  return await ChatSession.open(options);
}
