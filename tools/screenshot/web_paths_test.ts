import assert from "node:assert/strict";
import { isPng, pngSize } from "./web_paths.ts";

/** A PNG header: the signature and an IHDR chunk of `width` × `height`. */
function pngHeader(width: number, height: number): Uint8Array {
  const bytes = new Uint8Array(33);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
  bytes.set(new TextEncoder().encode("IHDR"), 12);
  const view = new DataView(bytes.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  return bytes;
}

Deno.test("pngSize reads the IHDR size; isPng refuses other files", () => {
  assert.deepEqual(pngSize(pngHeader(780, 1688)), { width: 780, height: 1688 });
  assert.equal(isPng(new TextEncoder().encode("<html>not a picture at all</html>")), false);
  assert.throws(() => pngSize(new Uint8Array(8)), /not a PNG/);
});
