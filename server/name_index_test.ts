import assert from "node:assert/strict";
import { NameIndex, nameKeys } from "./name_index.ts";

Deno.test("NameIndex: finds the same name and its lookalikes; remove frees only its own keys", () => {
  const byCanonical = new Map<string, string>();
  const index = new NameIndex(byCanonical);
  index.add(nameKeys("paypaI"), "first"); // keys "paypai" and "paypal"
  assert.deepEqual([...byCanonical], [["paypai", "first"]]);
  assert.equal(index.keyCount, 2);
  assert.equal(index.find(nameKeys("PAYPAI")), "first");
  assert.equal(index.find(nameKeys("paypal")), "first");
  assert.equal(index.find(nameKeys("paypai")), "first");
  assert.equal(index.find(nameKeys("Sam")), undefined);
  index.add(nameKeys("Sam"), "second"); // one key: nothing beyond the owner's Map
  assert.equal(index.keyCount, 3);
  index.remove(nameKeys("paypal"), "second"); // not its entry: nothing changes
  assert.equal(index.find(nameKeys("paypal")), "first");
  index.remove(nameKeys("paypaI"), "first");
  assert.equal(index.find(nameKeys("paypal")), undefined);
  assert.deepEqual([...byCanonical], [["sam", "second"]]);
  assert.equal(index.find(nameKeys("Sarn")), undefined);
  index.clear();
  assert.equal(index.keyCount, 0);
  assert.equal(byCanonical.size, 0);
});

Deno.test("NameIndex: a name's skeleton key meets another's canonical key", () => {
  const index = new NameIndex<string>();
  index.add(nameKeys("paypal"), "latin"); // one key, "paypal", by canonical key
  assert.equal(index.find(nameKeys("paypaI")), "latin"); // its second key is "paypal"
  assert.equal(index.find(nameKeys("\u0440\u0430\u0443\u0440\u0430\u0406")), "latin");
});
