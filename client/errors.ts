/**
 * Errors by kind, so a caller can tell "the server said no" from "the network
 * failed" from "our own code failed" with `instanceof`.
 */

/** The server answered and said no (a TCRP refusal or a fatal datagram ERROR). */
export class ChatRefusedError extends Error {
  /** The protocol status the server gave (400, 401, 403, 404, 409, 413, 429, 503). */
  readonly status: number;

  /** Wraps the server's own words. */
  constructor(status: number, message: string) {
    super(message);
    this.name = "ChatRefusedError";
    this.status = status;
  }
}

/**
 * The network failed us: no connection, a dropped connection, no answer in
 * time, garbage; or a refusal that arrived in plain text before a sealed
 * handshake completed, which anyone on the path could have forged, so it is
 * never final: it carries the `status` the server (or whoever) gave, and is
 * retried like any other transport failure.
 */
export class ChatTransportError extends Error {
  /** The status of a plain refusal before a sealed handshake (429, 503, ...); else undefined. */
  readonly status: number | undefined;

  /** Describes what failed; `cause` keeps the underlying error. */
  constructor(message: string, options?: ErrorOptions & { status?: number }) {
    super(message, options);
    this.name = "ChatTransportError";
    this.status = options?.status;
  }
}

/**
 * Our own side failed: the session's logic, or a part it was given (the
 * connector, channel, scheduler or crypto hook), threw something it could
 * not explain. A bug to report, not a network condition; `cause` keeps the
 * original error.
 */
export class ChatInternalError extends Error {
  /** Says where it happened; `cause` is what was thrown. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ChatInternalError";
  }
}
