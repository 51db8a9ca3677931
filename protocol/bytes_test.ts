import assert from "node:assert/strict";
import { ByteReader, ByteWriter, decodeUtf8, encodeUtf8 } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";

function throws400(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
    assert.equal(error.status, 400, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

Deno.test("UTF-8 round-trips multi-byte text, keeping a leading BOM", () => {
  for (const text of ["", "a", "é", "部屋", "😀", "\uFEFFbom", "mixed é 部 😀 \u0000"]) {
    assert.equal(decodeUtf8(encodeUtf8(text), "text"), text);
  }
  assert.deepEqual([...encodeUtf8("é😀")], [0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]);
});

Deno.test("invalid UTF-8 is a 400 naming the field", () => {
  const invalid = [
    [0xff],
    [0x80], // a lone continuation byte
    [0xc3], // truncated 2-byte sequence
    [0xe2, 0x82], // truncated 3-byte sequence
    [0xc0, 0x80], // overlong NUL
    [0xed, 0xa0, 0x80], // UTF-16 surrogate
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0x61, 0xc3, 0x28, 0x62],
  ];
  for (const bytes of invalid) {
    throws400(() => decodeUtf8(Uint8Array.from(bytes), "room name"), /room name/);
  }
});

Deno.test("ByteWriter and ByteReader round-trip every width at its largest value", () => {
  const bytes = new ByteWriter(1 + 2 + 4 + 8 + 3)
    .u8(0xff).u16(0xffff).u32(0xffff_ffff).u64(Number.MAX_SAFE_INTEGER).bytes(encodeUtf8("é!"))
    .finish();
  const r = new ByteReader(bytes, "test");
  assert.equal(r.u8("a"), 0xff);
  assert.equal(r.u16("b"), 0xffff);
  assert.equal(r.u32("c"), 0xffff_ffff);
  assert.equal(r.u64("d"), Number.MAX_SAFE_INTEGER);
  assert.equal(r.remaining, 3);
  assert.deepEqual(r.bytes(2, "e"), Uint8Array.of(0xc3, 0xa9));
  assert.deepEqual(r.rest(), Uint8Array.of(0x21));
  assert.equal(r.remaining, 0);
  assert.deepEqual(r.rest(), new Uint8Array(0));
  r.end();
});

Deno.test("ByteWriter writes big-endian", () => {
  const bytes = new ByteWriter(15).u8(1).u16(0x0203).u32(0x04050607).u64(0x08090a0b0c0d0e).finish();
  assert.deepEqual([...bytes], [1, 2, 3, 4, 5, 6, 7, 0, 8, 9, 10, 11, 12, 13, 14]);
});

Deno.test("ByteWriter.finish throws RangeError unless filled exactly", () => {
  assert.throws(() => new ByteWriter(3).u16(1).finish(), RangeError);
  assert.throws(() => new ByteWriter(3).u32(1), RangeError);
  assert.equal(new ByteWriter(0).finish().length, 0);
});

Deno.test("ByteReader reads a subarray at its own offset", () => {
  const backing = Uint8Array.of(0xaa, 0xbb, 0, 0, 1, 2, 0xcc);
  const r = new ByteReader(backing.subarray(2, 6), "test");
  assert.equal(r.u32("x"), 0x0102);
  throws400(() => r.u8("y"), /test is truncated: y is missing/);
});

Deno.test("ByteReader throws 400 instead of reading past the end", () => {
  const reads: [number, (r: ByteReader) => unknown][] = [
    [0, (r) => r.u8("f")],
    [1, (r) => r.u16("f")],
    [3, (r) => r.u32("f")],
    [7, (r) => r.u64("f")],
    [4, (r) => r.bytes(5, "f")],
  ];
  for (const [size, read] of reads) {
    throws400(() => read(new ByteReader(new Uint8Array(size), "HELLO datagram")), /HELLO datagram/);
  }
});

Deno.test("ByteReader.u64 refuses values above 2^53 - 1 with a 400", () => {
  for (const value of [2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, value);
    throws400(() => new ByteReader(bytes, "EVENT").u64("timeMs"), /timeMs is out of range/);
  }
});

Deno.test("ByteReader.end throws 400 on trailing bytes", () => {
  const r = new ByteReader(Uint8Array.of(1, 2, 3), "ACK");
  r.u8("kind");
  throws400(() => r.end(), /ACK has 2 unexpected trailing bytes/);
  r.bytes(2, "rest");
  r.end();
});
