import assert from "node:assert/strict";
import { NAME_PALETTE, RoomColors } from "./colors.ts";

Deno.test("colours: the first eight members in join order never share one", () => {
  const colors = new RoomColors();
  const names = ["ann", "bob", "carol", "dave", "eve", "fay", "gus", "hal"];
  colors.assign(names);
  const given = names.map((n) => colors.of(n));
  assert.equal(new Set(given).size, 8);
  assert.deepEqual(given, NAME_PALETTE);
});

Deno.test("colours: a name keeps its colour (case-insensitive), later names reuse the palette", () => {
  const colors = new RoomColors();
  colors.assign(["ann", "bob"]);
  const ann = colors.of("ann");
  colors.assign(["bob", "ann", "carol"]);
  assert.equal(colors.of("ANN"), ann);
  assert.notEqual(colors.of("carol"), ann);
  for (let i = 0; i < 7; i++) colors.of(`x${i}`);
  assert.equal(colors.of("x6"), NAME_PALETTE[1], "the ninth name starts the palette again");
});

Deno.test("colours: the palette is eight distinct 256-colour entries (no theme remaps them)", () => {
  assert.equal(new Set(NAME_PALETTE).size, 8);
  for (const c of NAME_PALETTE) {
    const index = Number(c.split(";")[2]);
    assert.ok(c.startsWith("38;5;") && index >= 16, c);
  }
});
