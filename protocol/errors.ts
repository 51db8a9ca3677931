/**
 * The one error a decoder throws: the bytes were not a valid frame.
 *
 * `status` is the protocol code the peer should get back (400 malformed,
 * 413 too large), so a front end can answer without inspecting messages.
 */
export class ProtocolError extends Error {
  /** The protocol status code that describes the fault (400 or 413). */
  readonly status: 400 | 413;

  /** Creates an error with a person-readable message and a protocol status. */
  constructor(message: string, status: 400 | 413 = 400) {
    super(message);
    this.name = "ProtocolError";
    this.status = status;
  }
}
