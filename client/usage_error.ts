/** A mistake in how a command was called (exit code 2). */
export class UsageError extends Error {
  /** Describes the mistake for a person. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
