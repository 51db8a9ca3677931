import assert from "node:assert/strict";
import { NameIndex, nameKeys } from "./name_index.ts";

Deno.test("NameIndex: finds the same name and its lookalikes; remove frees only its own keys", () => {
  const index = new NameIndex<string>();
  index.add(nameKeys("paypaI"), "first"); // keys "paypai" and "paypal"
  assert.equal(index.keyCount, 2);
  assert.equal(index.find(nameKeys("PAYPAI")), "first");
  assert.equal(index.find(nameKeys("paypal")), "first");
  assert.equal(index.find(nameKeys("paypai")), "first");
  assert.equal(index.find(nameKeys("Sam")), undefined);
  index.add(nameKeys("Sam"), "second");
  index.remove(nameKeys("paypal"), "second"); // not its entry: nothing changes
  assert.equal(index.find(nameKeys("paypal")), "first");
  index.remove(nameKeys("paypaI"), "first");
  assert.equal(index.find(nameKeys("paypal")), undefined);
  assert.equal(index.keyCount, 1);
  assert.equal(index.find(nameKeys("Sarn")), undefined);
  index.clear();
  assert.equal(index.keyCount, 0);
});
