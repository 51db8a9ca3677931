import assert from "node:assert/strict";
import { ConnectionGate } from "./connection_gate.ts";

Deno.test("ConnectionGate: per-IP ceiling, then the total ceiling; closing frees a slot", () => {
  const gate = new ConnectionGate({ maxPerIp: 2, maxTotal: 3 });
  assert.equal(gate.open("a"), null);
  assert.equal(gate.open("a"), null);
  assert.equal(gate.open("a"), "per-ip");
  assert.equal(gate.open("b"), null);
  assert.equal(gate.open("c"), "total");
  assert.equal(gate.total, 3);
  gate.close("a");
  assert.equal(gate.open("c"), null);
  assert.equal(gate.open("a"), "total");
});

Deno.test("ConnectionGate: addresses with nothing open are forgotten; a stray close is ignored", () => {
  const gate = new ConnectionGate({ maxPerIp: 8, maxTotal: 100 });
  for (let i = 0; i < 50; i++) assert.equal(gate.open(`10.0.0.${i}`), null);
  for (let i = 0; i < 50; i++) gate.close(`10.0.0.${i}`);
  gate.close("10.9.9.9");
  assert.equal(gate.addresses, 0);
  assert.equal(gate.total, 0);
});
