import assert from "node:assert/strict";
import { concatBytes, encodeUtf8 } from "./bytes.ts";
import { findHeadEnd, HttpHeadError, parseHttpRequestHead } from "./http_head.ts";

const UPGRADE = "GET /ws HTTP/1.1\r\n" +
  "Host: 192.168.1.20:8080\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Sec-WebSocket-Protocol: chat.ws.1\r\n" +
  "Sec-WebSocket-Version: 13\r\n" +
  "\r\n";

function throwsStatus(fn: () => unknown, status: 400 | 431 | 505, what = ""): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HttpHeadError, `expected an HttpHeadError, got ${error}`);
    assert.equal(error.status, status, `${what}: ${error.message}`);
    return true;
  }, what);
}

/** Parses a head given as text, with its CRLFCRLF added. */
const parse = (head: string) => parseHttpRequestHead(latin1Bytes(`${head}\r\n\r\n`));
const latin1Bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

Deno.test("findHeadEnd: the index after CRLFCRLF, wherever the reads were split", () => {
  const bytes = concatBytes(encodeUtf8(UPGRADE), encodeUtf8("\x82\x85rest"));
  for (let length = 0; length <= bytes.length; length++) {
    const end = findHeadEnd(bytes.subarray(0, length), 8192);
    assert.equal(end, length < UPGRADE.length ? -1 : UPGRADE.length, `after ${length} bytes`);
  }
  // A bare LF LF is not an end: lines end in CRLF here.
  assert.equal(findHeadEnd(encodeUtf8("GET / HTTP/1.1\n\n"), 8192), -1);
  assert.equal(findHeadEnd(encodeUtf8("\r\n\r\n"), 8192), 4);
});

Deno.test("findHeadEnd: no end within maxHeadBytes is 431", () => {
  const long = encodeUtf8("GET / HTTP/1.1\r\nX: " + "a".repeat(200));
  assert.equal(findHeadEnd(long.subarray(0, 99), 100), -1);
  throwsStatus(() => findHeadEnd(long.subarray(0, 100), 100), 431);
  throwsStatus(() => findHeadEnd(long, 100), 431);
  // An end just inside the limit is found; one just past it is not.
  const head = encodeUtf8("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  assert.equal(findHeadEnd(head, head.length), head.length);
  throwsStatus(() => findHeadEnd(head, head.length - 1), 431);
});

Deno.test("parseHttpRequestHead: a WebSocket upgrade", () => {
  const bytes = encodeUtf8(UPGRADE);
  for (const head of [bytes, bytes.subarray(0, bytes.length - 4)]) {
    const parsed = parseHttpRequestHead(head);
    assert.equal(parsed.method, "GET");
    assert.equal(parsed.target, "/ws");
    assert.equal(parsed.version, "HTTP/1.1");
    assert.deepEqual([...parsed.headers], [
      ["host", "192.168.1.20:8080"],
      ["upgrade", "websocket"],
      ["connection", "Upgrade"],
      ["sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="],
      ["sec-websocket-protocol", "chat.ws.1"],
      ["sec-websocket-version", "13"],
    ]);
  }
});

Deno.test("parseHttpRequestHead: repeated fields are joined, values trimmed of OWS", () => {
  const parsed = parse(
    "GET /?a=1 HTTP/1.0\r\nSec-WebSocket-Protocol: chat.ws.1\r\n" +
      "sec-websocket-protocol:\t chat.ws.1.build.0123456789ab \t\r\nX-Empty:\r\nX-Inner: a  b",
  );
  assert.equal(parsed.version, "HTTP/1.0");
  assert.equal(parsed.target, "/?a=1");
  assert.equal(
    parsed.headers.get("sec-websocket-protocol"),
    "chat.ws.1, chat.ws.1.build.0123456789ab",
  );
  assert.equal(parsed.headers.get("x-empty"), "");
  assert.equal(parsed.headers.get("x-inner"), "a  b");
  // An HTTP/1.0 request may leave Host out; bytes over 0x7f in a value are kept as Latin-1.
  assert.equal(parse("HEAD / HTTP/1.0\r\nX: caf\xe9").headers.get("x"), "café");
  assert.equal(parse("HEAD / HTTP/1.0\r\nX: \x80\x9f").headers.get("x"), "\u0080\u009f");
});

Deno.test("parseHttpRequestHead: each refusal", () => {
  const cases: [string, string, 400 | 505][] = [
    ["two parts", "GET /", 400],
    ["four parts", "GET / HTTP/1.1 x\r\nHost: a", 400],
    ["two spaces", "GET  / HTTP/1.1\r\nHost: a", 400],
    ["a leading empty line", "\r\nGET / HTTP/1.1\r\nHost: a", 400],
    ["a byte over 0x7f in the target", "GET /caf\xe9 HTTP/1.1\r\nHost: a", 400],
    ["a byte over 0x7f in the method", "G\xc9T / HTTP/1.1\r\nHost: a", 400],
    ["0x80 in the target", "GET /\x80 HTTP/1.1\r\nHost: a", 400],
    ["0x9f in the version", "GET / HTTP/1.1\x9f\r\nHost: a", 400],
    ["a method that is not a token", "GE(T / HTTP/1.1\r\nHost: a", 400],
    ["a control character in the target", "GET /\x01 HTTP/1.1\r\nHost: a", 400],
    ["a bare LF in the request line", "GET / HTTP/1.1\nHost: a", 400],
    ["a malformed version", "GET / HTTX/1.1\r\nHost: a", 400],
    ["a lower-case version", "GET / http/1.1\r\nHost: a", 400],
    ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: a", 505],
    ["HTTP/1.2", "GET / HTTP/1.2\r\nHost: a", 505],
    ["HTTP/0.9", "GET / HTTP/0.9\r\nHost: a", 505],
    ["obs-fold with a space", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c", 400],
    ["obs-fold with a tab", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc", 400],
    ["white space before the colon", "GET / HTTP/1.1\r\nHost : a", 400],
    ["a name that is not a token", "GET / HTTP/1.1\r\nHost: a\r\nX(y): b", 400],
    ["an empty name", "GET / HTTP/1.1\r\nHost: a\r\n: b", 400],
    ["a line without a colon", "GET / HTTP/1.1\r\nHost: a\r\nXY", 400],
    ["NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: b\0c", 400],
    ["a bare CR in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: b\rc", 400],
    ["a bare LF in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: b\nc", 400],
    ["a second Host", "GET / HTTP/1.1\r\nHost: a\r\nhost: b", 400],
    ["a second Host, the same", "GET / HTTP/1.1\r\nHost: a\r\nHost: a", 400],
    ["HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX: b", 400],
    ["an empty line inside", "GET / HTTP/1.1\r\nHost: a\r\n\r\nX: b", 400],
  ];
  for (const [what, head, status] of cases) throwsStatus(() => parse(head), status, what);
});
