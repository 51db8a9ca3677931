/**
 * The session library runs anywhere a web platform does (a browser, Deno,
 * tests on virtual time): every file it is made of, found by following its
 * imports from the public entry points, is checked for runtime-specific APIs
 * and for clocks or timers that bypass the injected scheduler.
 */
import assert from "node:assert/strict";

/** The library's public modules; everything they import, transitively, is the library. */
const ENTRY_POINTS = [
  "session.ts",
  "connector.ts",
  "datagram_crypto.ts",
  "scheduler.ts",
  // The browser's connector: the standard WebSocket API only.
  "ws_connector.ts",
];

/** The one file that may touch the platform's own clock and timers (the system scheduler). */
const CLOCK_FILE = "client/scheduler.ts";

const IMPORT = /(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** Paths relative to the repository root, e.g. "client/session.ts". */
function libraryFiles(): Map<string, string> {
  const root = new URL("../", import.meta.url);
  const files = new Map<string, string>();
  const visit = (path: string) => {
    if (files.has(path)) return;
    const text = Deno.readTextFileSync(new URL(path, root));
    files.set(path, text);
    for (const [, from, dynamic] of text.matchAll(IMPORT)) {
      const specifier = (from ?? dynamic)!;
      if (!specifier.startsWith(".")) {
        throw new Error(`${path} imports "${specifier}": the library imports only its own files`);
      }
      visit(new URL(specifier, new URL(path, root)).href.slice(root.href.length));
    }
  };
  for (const entry of ENTRY_POINTS) visit(`client/${entry}`);
  return files;
}

/** The text without comments, so a comment may name what the code must not use. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
}

Deno.test("the session library is what its imports say: the session, its parts, and protocol/", () => {
  const files = [...libraryFiles().keys()].sort();
  for (
    const part of [
      "async_queue",
      "connector",
      "datagram_crypto",
      "inbound",
      "outbox",
      "reconnect",
      "rejoin",
      "scheduler",
      "sealed_exchange",
      "sealed_channel",
      "session",
      "welcome",
      "ws_connector",
    ]
  ) {
    assert.ok(files.includes(`client/${part}.ts`), `client/${part}.ts is part of the library`);
  }
  assert.ok(files.includes("protocol/datagram.ts"));
  assert.ok(!files.includes("client/tcp_udp_connector.ts"), "the Deno connector stays outside");
});

Deno.test("no file of the session library uses Deno or node: APIs", () => {
  const offenders: string[] = [];
  for (const [path, text] of libraryFiles()) {
    // Comments may name them (sealed_types.ts names the "node:crypto" provider it never imports).
    const body = code(text);
    for (const [pattern, what] of [[/\bDeno\./, "Deno."], [/["']node:/, "node:"]] as const) {
      if (pattern.test(body)) offenders.push(`${path} references ${what}`);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("no file of the session library reads a clock or arms a timer except through the scheduler", () => {
  const offenders: string[] = [];
  const bypasses: [RegExp, string][] = [
    [/\bDate\.now\b/, "Date.now"],
    [/\bnew Date\(\s*\)/, "new Date()"],
    [/\bperformance\.now\b/, "performance.now"],
    [/(^|[^.\w])(setTimeout|setInterval|clearTimeout|clearInterval)\s*\(/m, "a global timer"],
    [/globalThis\.(setTimeout|setInterval)/, "a global timer"],
    [/AbortSignal\.timeout/, "AbortSignal.timeout (a timer of its own)"],
  ];
  for (const [path, text] of libraryFiles()) {
    const body = code(text);
    for (const [pattern, what] of bypasses) {
      if (path === CLOCK_FILE && what !== "Date.now" && what !== "new Date()") continue;
      if (pattern.test(body)) offenders.push(`${path} uses ${what}`);
    }
  }
  assert.deepEqual(offenders, []);
});
