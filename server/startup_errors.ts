/**
 * Why `chat serve` could not start, in one line that says what went wrong
 * and what to do ("UDP port 9002 is already in use; choose another with
 * --udp-port"), instead of a runtime error and its stack trace.
 *
 * @module
 */
import { lookup } from "node:dns/promises";

/** A startup failure the operator can fix; its message is the whole explanation. */
export class StartupError extends Error {
  /** `message` says what went wrong and what to do; `cause` is the runtime's error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartupError";
  }
}

/** A socket about to be bound: which protocol, on what address and port. */
export interface BindTarget {
  /**
   * "HTTP": the page and WebSocket listener (TCP, or TLS with --tls-cert);
   * "METRICS": the metrics listener (`hostname` is then --metrics-addr as given).
   */
  protocol: "TCP" | "UDP" | "HTTP" | "METRICS";
  hostname: string;
  port: number;
}

const PORT_FLAGS = {
  TCP: "--port",
  UDP: "--udp-port",
  HTTP: "--http-port",
  METRICS: "--metrics-addr",
} as const;

/**
 * Resolves `--host` to one address to bind (an IPv4 one when the name has
 * both), through the system's resolver (so /etc/hosts and "localhost" work).
 * An IP address comes back as it is. Throws a {@linkcode StartupError} when
 * the name does not resolve.
 */
export async function resolveHost(host: string): Promise<string> {
  let found: { address: string; family: number }[];
  try {
    found = await lookup(host, { all: true });
  } catch (error) {
    throw unresolved(host, describeLookupError(error), error);
  }
  const chosen = found.find((entry) => entry.family === 4) ?? found[0];
  if (chosen === undefined) throw unresolved(host, "no addresses");
  return chosen.address;
}

function unresolved(host: string, why: string, cause?: unknown): StartupError {
  return new StartupError(
    `--host ${host} does not resolve (${why}); give an IP address or a name this machine can resolve`,
    { cause },
  );
}

function describeLookupError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOTFOUND") return "no such name";
  if (code === "EAI_AGAIN") return "the name server did not answer";
  return error instanceof Error ? error.message : String(error);
}

/**
 * The one-line explanation of a failure to bind `target`: a port in use
 * (saying whether TCP or UDP, and which flag changes it), an address that is
 * not this machine's, a privileged port, no permission to use the network, or
 * else what the runtime said, with the protocol and address.
 */
export function explainBindError(error: unknown, target: BindTarget): StartupError {
  const { protocol, hostname, port } = target;
  const flag = PORT_FLAGS[protocol];
  const at = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
  const said = error instanceof Error ? error.message : String(error);
  let message;
  if (error instanceof Deno.errors.AddrInUse) {
    message = `${protocol} port ${port} is already in use; choose another with ${flag}`;
  } else if (error instanceof Deno.errors.AddrNotAvailable) {
    message = `${hostname} is not an address of this machine; ` +
      `use one of its addresses, or 0.0.0.0 for all`;
  } else if (error instanceof Deno.errors.PermissionDenied && port > 0 && port < 1024) {
    message = `${protocol} port ${port} is privileged (below 1024) and this process may not ` +
      `bind it; choose a port above 1023 with ${flag}`;
  } else if (error instanceof Deno.errors.NotCapable) {
    message = `no permission to listen on ${protocol} ${at}; run with --allow-net ` +
      `(deno task serve does)`;
  } else {
    message = `cannot listen on ${protocol} ${at}: ${said}`;
  }
  return new StartupError(message, { cause: error });
}

/** Runs `bind`; a failure becomes a {@linkcode StartupError} that explains it. */
export function bindOrExplain<T>(target: BindTarget, bind: () => T): T {
  try {
    return bind();
  } catch (error) {
    throw explainBindError(error, target);
  }
}
