/**
 * Leaving when the process is told to stop: SIGHUP (the terminal closed),
 * SIGTERM (`kill`), SIGINT in pipe mode, or a closed stdout. Without this,
 * the process dies without a LEAVE and stays in the room as a ghost until
 * the server's liveness timeout. The first request runs one async leave
 * (the owner's: send LEAVE, report what was not delivered, restore a
 * terminal) and exits with the code it gives; the process exits anyway
 * after `graceMs`, and at once on a second signal.
 */

/** Why the process is ending. */
export type ExitCause =
  | { kind: "signal"; signal: Deno.Signal }
  /** Writing to stdout failed (EPIPE: the reader is gone; EIO: the terminal hung up). */
  | { kind: "outputClosed" };

/** What {@linkcode installExitHandlers} needs. */
export interface ExitHandlerOptions {
  /** Signals to handle; where the platform cannot listen for one, it is skipped. */
  signals: Deno.Signal[];
  /** Runs once, on the first request; resolves with the exit code. */
  leave: (cause: ExitCause) => Promise<number>;
  /** Exit after this long even if `leave` has not finished (default 2000 ms). */
  graceMs?: number;
  /** Ends the process (default `Deno.exit`); tests pass a recorder. */
  exit?: (code: number) => void;
}

/** The handlers, once installed. */
export interface ExitHandlers {
  /** Starts leaving for `cause` (as a signal would); later requests are ignored. */
  request(cause: ExitCause): void;
  /** True once a request came. */
  readonly requested: boolean;
  /** Removes the signal listeners (the program is ending on its own). */
  dispose(): void;
}

const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGTERM: 15,
};

/**
 * The exit code for a cause: 128 + the signal's number for a signal (what a
 * shell reports for a program the signal ended: 129 SIGHUP, 130 SIGINT, 143
 * SIGTERM), or `otherwise` (the owner's own code) for a closed output.
 */
export function exitCodeFor(cause: ExitCause, otherwise: number): number {
  if (cause.kind !== "signal") return otherwise;
  return 128 + (SIGNAL_NUMBERS[cause.signal] ?? 0);
}

/**
 * Listens for `signals` and returns a handle whose `request` does the same
 * for other causes. The first one runs `leave` and then exits with its
 * code; a second signal while leaving exits at once, with the code of
 * that signal.
 */
export function installExitHandlers(options: ExitHandlerOptions): ExitHandlers {
  const exit = options.exit ?? ((code: number) => Deno.exit(code));
  const graceMs = options.graceMs ?? 2_000;
  let requested = false;
  let exited = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finish = (code: number) => {
    if (exited) return;
    exited = true;
    clearTimeout(timer);
    exit(code);
  };
  const request = (cause: ExitCause) => {
    if (requested) {
      // Asked twice: whoever asks again does not want to wait.
      if (cause.kind === "signal") finish(exitCodeFor(cause, 1));
      return;
    }
    requested = true;
    timer = setTimeout(() => finish(exitCodeFor(cause, 1)), graceMs);
    options.leave(cause).then(finish, () => finish(exitCodeFor(cause, 1)));
  };
  const listeners: [Deno.Signal, () => void][] = [];
  for (const signal of options.signals) {
    const listener = () => request({ kind: "signal", signal });
    try {
      Deno.addSignalListener(signal, listener);
      listeners.push([signal, listener]);
    } catch {
      // Windows listens only for SIGINT and SIGBREAK: the others cannot arrive there.
    }
  }
  return {
    request,
    get requested() {
      return requested;
    },
    dispose() {
      for (const [signal, listener] of listeners.splice(0)) {
        Deno.removeSignalListener(signal, listener);
      }
      if (!exited) clearTimeout(timer);
    },
  };
}
