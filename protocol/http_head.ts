/**
 * The head of an HTTP/1.1 request (RFC 9112 sections 2-5): the request line
 * and the header fields, read strictly. The server only serves GET and HEAD
 * without bodies, so this is all of HTTP it reads; anything a lenient parser
 * would have to guess at (folded lines, bare CR or LF, stray bytes, a second
 * Host) is refused rather than guessed, since a proxy in front may have read
 * it the other way (request smuggling). Pure: no I/O, no Deno API.
 *
 * @module
 */

/** A parsed request head. */
export interface HttpRequestHead {
  /** The method as sent (case-sensitive, RFC 9110 section 9.1): "GET". */
  method: string;
  /** The request target as sent: "/ws", "/?x=1". */
  target: string;
  /** "HTTP/1.1" or "HTTP/1.0". */
  version: string;
  /** Field names in lower case; a repeated field's values joined with ", ". */
  headers: Map<string, string>;
}

/** The statuses a bad head is answered with. */
export type HttpHeadStatus = 400 | 431 | 505;

/**
 * The one error of this module: the head cannot be served. `status` is the
 * answer: 400 malformed, 431 too large, 505 another HTTP version.
 */
export class HttpHeadError extends Error {
  /** The HTTP status to answer with before closing. */
  readonly status: HttpHeadStatus;

  /** Creates an error with a person-readable message and a status. */
  constructor(message: string, status: HttpHeadStatus) {
    super(message);
    this.name = "HttpHeadError";
    this.status = status;
  }
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * Where the head ends in the bytes read so far: the index just after its
 * CRLFCRLF, or -1 when more bytes are needed. A head that has not ended
 * within `maxHeadBytes` (8192 on the server) is a 431, so a client cannot
 * make the server hold more than that before it answers.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nrest");
 * findHeadEnd(bytes, 8192); // 27: bytes.subarray(0, 27) is the head, the rest comes after
 * findHeadEnd(bytes.subarray(0, 20), 8192); // -1: read more
 * ```
 */
export function findHeadEnd(bytes: Uint8Array, maxHeadBytes: number): number {
  const last = Math.min(bytes.length, maxHeadBytes) - 4;
  for (let i = 0; i <= last; i++) {
    if (bytes[i + 3] === LF && bytes[i + 2] === CR && bytes[i + 1] === LF && bytes[i] === CR) {
      return i + 4;
    }
  }
  if (bytes.length >= maxHeadBytes) {
    throw new HttpHeadError(`the request head is longer than ${maxHeadBytes} bytes`, 431);
  }
  return -1;
}

/** tchar of RFC 9110 section 5.6.2: what a method or a field name is made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A request target: visible ASCII, no spaces (RFC 9112 section 3.2). */
const TARGET = /^[\x21-\x7e]+$/;
/** What a field value may not hold (RFC 9110 section 5.5: "invalid and dangerous"). */
const BAD_VALUE = /[\0\r\n]/;
/** Leading or trailing optional white space (SP and HTAB) of a field value. */
const OWS = /^[ \t]+|[ \t]+$/g;

/**
 * Each byte as the character of the same number (ISO 8859-1). Not
 * `new TextDecoder("latin1")`: the Encoding Standard makes that
 * windows-1252, which turns 0x80 into "€" (U+20AC) and would hide it from a
 * check for bytes over 0x7f.
 */
function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let at = 0; at < bytes.length; at += 4096) {
    text += String.fromCharCode(...bytes.subarray(at, at + 4096));
  }
  return text;
}

/**
 * Parses a request head: the bytes up to {@linkcode findHeadEnd}'s index
 * (with or without the final CRLFCRLF). Refusals, each an
 * {@linkcode HttpHeadError}: a request line that is not three parts
 * separated by single spaces, or holds a byte of 0x80 or more, or a method or
 * target of the wrong characters, 400; a version other than HTTP/1.1 or
 * HTTP/1.0, 505 (400 when it does not even start "HTTP/"); a folded line
 * (starting with a space or tab), a field name that is not a token or
 * followed by white space before its colon, a value holding NUL, CR or LF, a
 * second Host, or an HTTP/1.1 request without Host (RFC 9112 section 3.2),
 * 400. Values are trimmed of surrounding spaces and tabs; bytes 0x80-0xff in
 * a value are kept as the Latin-1 characters they are.
 *
 * @example
 * ```ts
 * const head = parseHttpRequestHead(new TextEncoder().encode(
 *   "GET /ws HTTP/1.1\r\nHost: chat.example\r\nUpgrade: websocket\r\n\r\n",
 * ));
 * head.target; // "/ws"
 * head.headers.get("upgrade"); // "websocket"
 * ```
 */
export function parseHttpRequestHead(bytes: Uint8Array): HttpRequestHead {
  let text = latin1(bytes);
  if (text.endsWith("\r\n\r\n")) text = text.slice(0, -4);
  const lines = text.split("\r\n");
  const requestLine = lines[0]!;
  if (/[\x80-\xff]/.test(requestLine)) {
    throw new HttpHeadError("the request line holds a byte over 0x7f", 400);
  }
  const parts = requestLine.split(" ");
  if (parts.length !== 3) {
    throw new HttpHeadError("the request line is not a method, a target and a version", 400);
  }
  const [method, target, version] = parts as [string, string, string];
  if (!TOKEN.test(method)) throw new HttpHeadError("the method is not a token", 400);
  if (!TARGET.test(target)) throw new HttpHeadError("the request target is malformed", 400);
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    if (!version.startsWith("HTTP/")) throw new HttpHeadError("the version is malformed", 400);
    throw new HttpHeadError(`${version} is not served (HTTP/1.1 only)`, 505);
  }
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const [name, value] = parseFieldLine(lines[i]!);
    const previous = headers.get(name);
    if (previous === undefined) {
      headers.set(name, value);
    } else if (name === "host") {
      throw new HttpHeadError("more than one Host header", 400);
    } else {
      headers.set(name, `${previous}, ${value}`);
    }
  }
  if (version === "HTTP/1.1" && !headers.has("host")) {
    throw new HttpHeadError("an HTTP/1.1 request without a Host header", 400);
  }
  return { method, target, version, headers };
}

/** One "name: value" line: the lower-case name and the trimmed value. */
function parseFieldLine(line: string): [string, string] {
  if (line === "") throw new HttpHeadError("an empty line inside the head", 400);
  if (line[0] === " " || line[0] === "\t") {
    throw new HttpHeadError("a folded header line (obsolete line folding)", 400);
  }
  const colon = line.indexOf(":");
  if (colon < 0) throw new HttpHeadError("a header line without a colon", 400);
  const name = line.slice(0, colon);
  if (!TOKEN.test(name)) throw new HttpHeadError("a header name is not a token", 400);
  const value = line.slice(colon + 1);
  if (BAD_VALUE.test(value)) {
    throw new HttpHeadError(`the ${name} header holds NUL, CR or LF`, 400);
  }
  return [name.toLowerCase(), value.replace(OWS, "")];
}
