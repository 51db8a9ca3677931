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

/** The network failed us: no connection, a dropped connection, no answer in time, garbage. */
export class ChatTransportError extends Error {
  /** Describes what failed; `cause` keeps the underlying error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ChatTransportError";
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
