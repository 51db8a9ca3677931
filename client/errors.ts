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
