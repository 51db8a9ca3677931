/**
 * Encodes the HTTP/1.1 responses the HTTP front writes, each with the
 * security headers every response carries (so none can forget them), and
 * the Content-Security-Policy the page needs (docs/protocol.md 7.1).
 *
 * @module
 */

/**
 * The page's policy: its own script and style only, no inline code, no
 * plugins, frames or forms, connections only back to this origin, and
 * Trusted Types required, so that any HTML injection into the DOM throws.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; " +
  "style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; " +
  "form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; " +
  "trusted-types 'none'";

/**
 * Headers on every response: no content sniffing (a text answer is never
 * run as script), no Referer to other sites, a window of its own (no
 * opener), and the policy above (harmless on text, and no response can be
 * framed or run anything by accident).
 */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ["X-Content-Type-Options", "nosniff"],
  ["Referrer-Policy", "no-referrer"],
  ["Cross-Origin-Opener-Policy", "same-origin"],
  ["Content-Security-Policy", CONTENT_SECURITY_POLICY],
];

const REASONS: Record<number, string> = {
  101: "Switching Protocols",
  200: "OK",
  304: "Not Modified",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  421: "Misdirected Request",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

/** One response to encode. */
export interface HttpResponse {
  status: number;
  /** Headers besides the security headers, Content-Length and Connection. */
  headers?: readonly (readonly [string, string])[];
  /** The body (its length is always sent; 304 and 101 send neither). */
  body?: Uint8Array;
  /** HEAD: the same headers, Content-Length included, without the body. */
  headOnly?: boolean;
  /** Adds `Connection: close` (the connection ends after it). */
  close?: boolean;
}

const encoder = new TextEncoder();

/** The bytes of `response`: status line, headers, blank line, body. */
export function encodeResponse(response: HttpResponse): Uint8Array {
  const { status, headers = [], body = new Uint8Array(0) } = response;
  const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? "Unknown"}`];
  for (const [name, value] of SECURITY_HEADERS) lines.push(`${name}: ${value}`);
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  const bodiless = status === 304 || status === 101;
  if (!bodiless) lines.push(`Content-Length: ${body.length}`);
  if (response.close) lines.push("Connection: close");
  const head = encoder.encode(lines.join("\r\n") + "\r\n\r\n");
  if (bodiless || response.headOnly || body.length === 0) return head;
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head);
  bytes.set(body, head.length);
  return bytes;
}

/**
 * A one-line text/plain answer (errors, /healthz): `text` and a newline,
 * never cached.
 */
export function textResponse(
  status: number,
  text: string,
  options: Omit<HttpResponse, "status" | "body"> = {},
): Uint8Array {
  return encodeResponse({
    ...options,
    status,
    headers: [
      ["Content-Type", "text/plain; charset=utf-8"],
      ["Cache-Control", "no-store"],
      ...(options.headers ?? []),
    ],
    body: encoder.encode(text.replace(/[\r\n]+/g, " ") + "\n"),
  });
}
