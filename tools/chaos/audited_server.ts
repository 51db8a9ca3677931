/**
 * The chaos suites' server: `chat serve`'s own flags, config and server
 * (`startChatServer`, node:crypto), in a process of its own so it can be
 * killed (SIGKILL) and its memory measured, with one thing added for the
 * nonce audit: its crypto provider is wrapped (tools/chaos/nonce_audit.ts),
 * and every seal is written to stdout as a 17-byte record (its kind, then
 * the first 16 bytes of SHA-256(key || nonce)) with a blocking write
 * *before* the sealed bytes exist, so a SIGKILL loses no record of a
 * datagram that went out. Its `ServerHooks.onSeal` reports are written too
 * (kind 4), and the suites check them against the provider's.
 *
 * The static key's private half comes on stdin (64 hex digits), so a
 * restarted server proves the same key (and resets its former sessions)
 * without a key file: `deno task chaos` may write nothing but docs/.
 *
 * This module is both the program and the handle the suites start it with.
 */
import { Command, Option } from "commander";
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import { bytesToHex } from "../../protocol/bytes.ts";
import { DEFAULT_SERVER_CONFIG, SERVE_FLAGS, serverConfigFrom } from "../../server/config.ts";
import { createLogger } from "../../server/log.ts";
import { startChatServer } from "../../server/server.ts";
import {
  LOOPBACK_ANY_PORTS,
  OutputCollector,
  REPO_ROOT,
  withoutDenoDownloads,
} from "../../testing/cli.ts";
import {
  AUDIT_HASH_BYTES,
  auditHash,
  auditingCrypto,
  type NonceAudit,
  type SealKind,
} from "./nonce_audit.ts";

const KINDS: readonly SealKind[] = ["member", "room", "handshake"];
/** Record kind of an onSeal report (1-3 are KINDS). */
const HOOK_RECORD = 4;
const RECORD_BYTES = 1 + AUDIT_HASH_BYTES;
const LISTENING = /chat server listening: TCRP on tcp (\S+):(\d+), chat datagrams on udp \S+:(\d+)/;

/** A running audited server: its ports, its process, and what its records said. */
export class AuditedServer {
  readonly child: Deno.ChildProcess;
  readonly stderr: OutputCollector;
  readonly port: number;
  readonly udpPort: number;
  /** Datagram seals the server's `onSeal` hook reported. */
  hookReports = 0;
  /** Datagram seals (member and room) its wrapped provider saw. */
  datagramSeals = 0;
  #reading: Promise<void> = Promise.resolve();
  #exited: Promise<Deno.CommandStatus>;
  #gone = false;

  private constructor(child: Deno.ChildProcess, stderr: OutputCollector, ports: number[]) {
    this.child = child;
    this.stderr = stderr;
    this.port = ports[0]!;
    this.udpPort = ports[1]!;
    this.#exited = child.status.finally(() => (this.#gone = true));
  }

  /**
   * Starts this program on 127.0.0.1 with `args` (`chat serve` flags; any
   * free ports unless they say otherwise) and the static key `privateKey`;
   * its seals go to `audit`.
   */
  static async start(
    args: string[],
    privateKey: Uint8Array,
    audit: NonceAudit,
  ): Promise<AuditedServer> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        "--allow-ffi",
        new URL(import.meta.url).pathname,
        ...LOOPBACK_ANY_PORTS,
        ...args,
      ],
      cwd: REPO_ROOT, // deno.json's imports, whatever directory the suite was started from
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new OutputCollector(
      "audited server (stderr)",
      child.stderr,
      withoutDenoDownloads,
    );
    let server: AuditedServer | null = null;
    const early = { hooks: 0, datagrams: 0 };
    const reading = readRecords(child.stdout, (kind, hash) => {
      if (kind === HOOK_RECORD) {
        if (server) server.hookReports++;
        else early.hooks++;
        return;
      }
      const sealKind = KINDS[kind - 1];
      if (sealKind === undefined) throw new Error(`audited server: record of kind ${kind}`);
      if (sealKind !== "handshake") {
        if (server) server.datagramSeals++;
        else early.datagrams++;
      }
      audit.recordHash("server", sealKind, hash);
    });
    try {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(bytesToHex(privateKey) + "\n"));
      await writer.close();
      const match = await stderr.waitFor(LISTENING, 15_000);
      server = new AuditedServer(child, stderr, [Number(match[2]), Number(match[3])]);
    } catch (error) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      await Promise.all([reading, stderr.done]);
      throw error;
    }
    server.#reading = reading;
    server.hookReports += early.hooks;
    server.datagramSeals += early.datagrams;
    return server;
  }

  /** Stops it (SIGTERM: CLOSED to every member; SIGKILL after 2 s) and reads its last records. */
  async dispose(): Promise<void> {
    this.#signal("SIGTERM");
    const timer = setTimeout(() => this.#signal("SIGKILL"), 2_000);
    await this.#exited;
    clearTimeout(timer);
    await Promise.all([this.#reading, this.stderr.done]);
  }

  /** Kills it at once (SIGKILL: no CLOSED, no memory) and reads its last records. */
  async kill(): Promise<void> {
    this.#signal("SIGKILL");
    await this.#exited;
    await Promise.all([this.#reading, this.stderr.done]);
  }

  /** Whether every datagram seal the provider saw was reported by `onSeal`, and no more. */
  get hookAgrees(): boolean {
    return this.hookReports === this.datagramSeals;
  }

  #signal(signal: Deno.Signal): void {
    if (this.#gone) return;
    try {
      this.child.kill(signal);
    } catch { /* it exited meanwhile */ }
  }
}

function fromHex(text: string): Uint8Array {
  if (!/^([0-9a-f]{2})+$/.test(text)) throw new TypeError("expected hex digits on stdin");
  return Uint8Array.from(text.match(/../g)!, (pair) => parseInt(pair, 16));
}

async function readRecords(
  stream: ReadableStream<Uint8Array>,
  onRecord: (kind: number, hash: Uint8Array) => void,
): Promise<void> {
  let pending = new Uint8Array(0);
  for await (const chunk of stream) {
    const bytes = new Uint8Array(pending.length + chunk.length);
    bytes.set(pending);
    bytes.set(chunk, pending.length);
    let at = 0;
    for (; at + RECORD_BYTES <= bytes.length; at += RECORD_BYTES) {
      onRecord(bytes[at]!, bytes.subarray(at + 1, at + RECORD_BYTES));
    }
    pending = bytes.slice(at);
  }
}

/** The program: serve flags, the key on stdin, records on stdout, logs on stderr. */
async function main(): Promise<void> {
  const command = new Command("audited-server").exitOverride();
  const options = new Map(SERVE_FLAGS.map((flag) => {
    const option = new Option(
      flag.switch ? `${flag.flag} [${flag.value}]` : `${flag.flag} <${flag.value}>`,
      flag.help,
    ).default(DEFAULT_SERVER_CONFIG[flag.key]).argParser((text: string) => flag.parse(text));
    if (flag.switch) option.preset("true");
    command.addOption(option);
    return [flag, option];
  }));
  const flags = command.parse(Deno.args, { from: "user" }).opts();
  const config = serverConfigFrom((flag) => flags[options.get(flag)!.attributeName()]);
  const keyLine = (await new Response(Deno.stdin.readable).text()).trim();
  const staticKey = nodeCrypto.x25519KeyPair(fromHex(keyLine));
  const out = (kind: number, hash: Uint8Array) => {
    const record = new Uint8Array(RECORD_BYTES);
    record[0] = kind;
    record.set(hash, 1);
    // Blocking and whole: the record is in the pipe before the seal happens.
    let written = 0;
    while (written < record.length) written += Deno.stdout.writeSync(record.subarray(written));
  };
  const crypto = auditingCrypto(nodeCrypto, (kind, key, nonce) => {
    out(KINDS.indexOf(kind) + 1, auditHash(key, nonce));
  });
  const server = startChatServer(config, {
    log: createLogger(config.logLevel),
    sealed: { staticKey, crypto },
    onSeal: (key, nonce) => out(HOOK_RECORD, auditHash(key, nonce)),
  });
  const stop = await Promise.race([
    new Promise<null>((resolve) => {
      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        Deno.addSignalListener(signal, () => resolve(null));
      }
    }),
    server.failed,
  ]);
  await server.shutdown();
  Deno.exit(stop === null ? 0 : 1);
}

if (import.meta.main) await main();
