import assert from "node:assert/strict";
import fc from "fast-check";
import { ByteReader, ByteWriter, decodeUtf8, encodeUtf8 } from "./bytes.ts";
import { anyBytes, decodeOrRefuse, mutated, text } from "./arbitraries_test_util.ts";

Deno.test("decodeUtf8: any byte string is text that encodes back to the same bytes, or 400", () => {
  const bytes = fc.oneof(anyBytes(64), mutated(text.map(encodeUtf8)));
  fc.assert(
    fc.property(bytes, (bytes) => {
      const decoded = decodeOrRefuse(() => decodeUtf8(bytes, "text"));
      if (decoded !== null) assert.deepEqual(encodeUtf8(decoded), bytes);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("decodeUtf8: well-formed text round-trips, a leading BOM included", () => {
  fc.assert(
    fc.property(fc.boolean(), text, (bom, text) => {
      const value = (bom ? "\ufeff" : "") + text;
      assert.equal(decodeUtf8(encodeUtf8(value), "text"), value);
    }),
    { numRuns: 500 },
  );
});

type Field =
  | { type: "u8" | "u16" | "u32" | "u64"; value: number }
  | { type: "bytes"; value: Uint8Array };

const SIZES = { u8: 1, u16: 2, u32: 4, u64: 8 } as const;

const field: fc.Arbitrary<Field> = fc.oneof(
  fc.record({ type: fc.constant("u8" as const), value: fc.nat({ max: 0xff }) }),
  fc.record({ type: fc.constant("u16" as const), value: fc.nat({ max: 0xffff }) }),
  fc.record({ type: fc.constant("u32" as const), value: fc.nat({ max: 0xffff_ffff }) }),
  fc.record({ type: fc.constant("u64" as const), value: fc.maxSafeNat() }),
  fc.record({ type: fc.constant("bytes" as const), value: fc.uint8Array({ maxLength: 16 }) }),
);

const sizeOf = (f: Field) => f.type === "bytes" ? f.value.length : SIZES[f.type];

Deno.test("ByteWriter then ByteReader gives back every field, big-endian, and nothing more", () => {
  fc.assert(
    fc.property(fc.array(field, { maxLength: 12 }), (fields) => {
      const writer = new ByteWriter(fields.reduce((sum, f) => sum + sizeOf(f), 0));
      for (const f of fields) {
        if (f.type === "bytes") writer.bytes(f.value);
        else writer[f.type](f.value);
      }
      const reader = new ByteReader(writer.finish(), "frame");
      for (const f of fields) {
        const read = f.type === "bytes" ? reader.bytes(f.value.length, "f") : reader[f.type]("f");
        assert.deepEqual(read, f.value);
      }
      reader.end();
    }),
    { numRuns: 1000 },
  );
});

const read = fc.oneof(
  fc.constantFrom("u8", "u16", "u32", "u64", "rest", "end"),
  fc.nat({ max: 12 }),
);

Deno.test("ByteReader: any reads on any bytes match the bytes, or are 400 where they run out", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 40 }),
      fc.array(read, { maxLength: 10 }),
      (bytes, reads) => {
        const reader = new ByteReader(bytes, "frame");
        const view = new DataView(bytes.buffer);
        let offset = 0;
        for (const step of reads) {
          const size = typeof step === "number" ? step : SIZES[step as keyof typeof SIZES] ?? 0;
          const fits = offset + size <= bytes.length;
          const got = decodeOrRefuse(() => {
            if (typeof step === "number") return reader.bytes(step, "f");
            if (step === "rest") return reader.rest();
            if (step === "end") return reader.end();
            return reader[step]("f");
          });
          if (step === "end") {
            assert.equal(got === null, offset !== bytes.length);
            continue;
          }
          if (!fits) {
            assert.equal(got, null);
            return; // a reader that threw is abandoned, as the decoders do
          }
          if (typeof step === "number") {
            assert.deepEqual(got, bytes.subarray(offset, offset + step));
          } else if (step === "rest") {
            assert.deepEqual(got, bytes.subarray(offset));
            offset = bytes.length;
          } else if (step === "u64") {
            const wide = view.getBigUint64(offset);
            assert.equal(got, wide > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(wide));
            if (got === null) return;
          } else {
            const expected = { u8: view.getUint8, u16: view.getUint16, u32: view.getUint32 }[step]
              .call(view, offset);
            assert.equal(got, expected);
          }
          offset += size;
          assert.equal(reader.remaining, bytes.length - offset);
        }
      },
    ),
    { numRuns: 2000 },
  );
});
