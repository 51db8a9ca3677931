import assert from "node:assert/strict";
import { formatCryptoPrimitives, measureCryptoPrimitives } from "./crypto_primitives.ts";

Deno.test("crypto_primitives measures every operation of both providers, and prints a table", async () => {
  const figures = await measureCryptoPrimitives({ rounds: 1, roundMs: 1 });
  for (const provider of ["node:crypto", "@noble"]) {
    const operations = figures.filter((f) => f.provider === provider).map((f) => f.operation);
    assert.deepEqual(operations, [
      "AEAD seal 120 B",
      "AEAD open 120 B",
      "X25519 shared secret",
      "Ed25519 sign 150 B",
      "Ed25519 verify 150 B",
    ]);
  }
  for (const f of figures) {
    assert.ok(f.bestMicros > 0 && f.bestMicros <= f.medianMicros, JSON.stringify(f));
  }
  const table = formatCryptoPrimitives(figures);
  assert.equal(table.trim().split("\n").length, figures.length + 1);
  assert.match(table, /^provider\s+operation\s+µs\/call best\s+median$/m);
});
