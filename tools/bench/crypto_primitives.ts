/**
 * What each primitive of sealed sessions costs per call, for each
 * {@linkcode CryptoProvider} (node:crypto and @noble), and WebCrypto's
 * Ed25519 verify when the runtime has it (what a browser on https would use).
 * The sizes are the hot path's: a 120-byte inner body sealed and opened with
 * an 18-byte header as associated data, a room datagram's 150 signed bytes.
 *
 * `deno run --allow-env --allow-read tools/bench/crypto_primitives.ts [--json]`
 *
 * Each figure is the fastest of several rounds (µs per call), and the median
 * beside it: the machine is shared, and the fastest round is the one least
 * disturbed by others.
 */
import { nobleCrypto } from "../../crypto/noble_crypto.ts";
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import type { CryptoProvider } from "../../protocol/sealed_types.ts";
import { writeAllSync } from "./lines.ts";

/** One measured operation. */
export interface PrimitiveFigure {
  provider: string;
  operation: string;
  /** Fastest round, microseconds per call. */
  bestMicros: number;
  /** Median round, microseconds per call. */
  medianMicros: number;
}

/** How long to measure. */
export interface BenchOptions {
  /** Rounds per operation (the best and the median are taken over them). */
  rounds: number;
  /** Milliseconds each round runs at least. */
  roundMs: number;
}

const INNER_BYTES = 120;
const HEADER_BYTES = 18;
const SIGNED_BYTES = 150;

function bytes(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 7 + seed) & 0xff);
}

async function measure(
  options: BenchOptions,
  call: () => unknown,
): Promise<{ bestMicros: number; medianMicros: number }> {
  // A synchronous call is timed without an await, which would add a microtask per call.
  const isAsync = call() instanceof Promise;
  const timeRound = async (calls: number): Promise<number> => {
    const start = performance.now();
    if (isAsync) { for (let i = 0; i < calls; i++) await call(); }
    else for (let i = 0; i < calls; i++) call();
    return performance.now() - start;
  };
  let calls = 1; // calibrate: how many calls fill a round
  while ((await timeRound(calls)) < options.roundMs / 4 && calls < 1 << 24) calls *= 2;
  calls *= 4;
  const perCall: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    perCall.push(((await timeRound(calls)) * 1000) / calls);
  }
  perCall.sort((a, b) => a - b);
  return { bestMicros: perCall[0]!, medianMicros: perCall[Math.floor(perCall.length / 2)]! };
}

function operations(crypto: CryptoProvider): [string, () => unknown][] {
  const key = bytes(32, 1);
  const nonce = bytes(12, 2);
  const ad = bytes(HEADER_BYTES, 3);
  const inner = bytes(INNER_BYTES, 4);
  const sealed = crypto.aeadSeal(key, nonce, inner, ad);
  const a = crypto.x25519KeyPair(bytes(32, 5));
  const b = crypto.x25519KeyPair(bytes(32, 6));
  const signer = crypto.ed25519Signer(bytes(32, 7));
  const message = bytes(SIGNED_BYTES, 8);
  const signature = signer.sign(message);
  return [
    [`AEAD seal ${INNER_BYTES} B`, () => crypto.aeadSeal(key, nonce, inner, ad)],
    [`AEAD open ${INNER_BYTES} B`, () => crypto.aeadOpen(key, nonce, sealed, ad)],
    ["X25519 shared secret", () => crypto.x25519(a.privateKey, b.publicKey)],
    [`Ed25519 sign ${SIGNED_BYTES} B`, () => signer.sign(message)],
    [
      `Ed25519 verify ${SIGNED_BYTES} B`,
      () => crypto.ed25519Verify(signer.publicKey, message, signature),
    ],
  ];
}

/** WebCrypto's Ed25519 verify, or null when the runtime has none. */
async function webCryptoVerify(): Promise<(() => Promise<boolean>) | null> {
  const signer = nodeCrypto.ed25519Signer(bytes(32, 7));
  // WebCrypto takes ArrayBuffer-backed views: copies.
  const message = new Uint8Array(bytes(SIGNED_BYTES, 8));
  const signature = new Uint8Array(signer.sign(message));
  const publicKey = new Uint8Array(signer.publicKey);
  try {
    const key = await crypto.subtle.importKey("raw", publicKey, "Ed25519", false, ["verify"]);
    const verify = () => crypto.subtle.verify("Ed25519", key, signature, message);
    if (!(await verify())) throw new Error("WebCrypto Ed25519 refused a good signature");
    return verify;
  } catch (error) {
    if (error instanceof DOMException) return null; // not supported here
    throw error;
  }
}

/** Measures every operation of every provider. */
export async function measureCryptoPrimitives(options: BenchOptions): Promise<PrimitiveFigure[]> {
  const figures: PrimitiveFigure[] = [];
  for (const provider of [nodeCrypto, nobleCrypto]) {
    for (const [operation, call] of operations(provider)) {
      figures.push({ provider: provider.name, operation, ...await measure(options, call) });
    }
  }
  const verify = await webCryptoVerify();
  if (verify) {
    const operation = `Ed25519 verify ${SIGNED_BYTES} B (async)`;
    figures.push({ provider: "WebCrypto", operation, ...await measure(options, verify) });
  }
  return figures;
}

/** A plain-text table of the figures. */
export function formatCryptoPrimitives(figures: PrimitiveFigure[]): string {
  const rows = figures.map((f) => [
    f.provider,
    f.operation,
    f.bestMicros.toFixed(2),
    f.medianMicros.toFixed(2),
  ]);
  const all = [["provider", "operation", "µs/call best", "median"], ...rows];
  const widths = all[0]!.map((_, column) => Math.max(...all.map((row) => row[column]!.length)));
  return all.map((row) =>
    row.map((cell, column) =>
      column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)
    )
      .join("  ")
  ).join("\n") + "\n";
}

if (import.meta.main) {
  const json = Deno.args.includes("--json");
  const figures = await measureCryptoPrimitives({ rounds: 7, roundMs: 200 });
  writeAllSync(
    Deno.stdout,
    json ? JSON.stringify(figures, null, 2) + "\n" : formatCryptoPrimitives(figures),
  );
}
