import assert from "node:assert/strict";
import { ConnectionGate, type GateTicket } from "./connection_gate.ts";

function ticket(result: GateTicket | string): GateTicket {
  assert(typeof result !== "string", `refused: ${result}`);
  return result;
}

Deno.test("ConnectionGate: per-address ceiling on connections still reading; closing frees a slot", () => {
  const gate = new ConnectionGate({ maxPerIp: 2, maxTotal: 10 });
  const a1 = ticket(gate.open("a"));
  ticket(gate.open("a"));
  assert.equal(gate.open("a"), "per-ip");
  ticket(gate.open("b"));
  gate.close(a1);
  gate.close(a1); // twice is once
  ticket(gate.open("a"));
  assert.equal(gate.open("a"), "per-ip");
  assert.equal(gate.total, 3);
});

Deno.test("ConnectionGate: a connection whose request is in no longer counts against its address", () => {
  const gate = new ConnectionGate({ maxPerIp: 2, maxTotal: 100 });
  // 31 students behind one NAT: each request is read at once, then waits for its password check.
  const held: GateTicket[] = [];
  for (let i = 0; i < 31; i++) {
    const t = ticket(gate.open("nat"));
    gate.requestRead(t);
    held.push(t);
  }
  assert.equal(gate.total, 31);
  assert.equal(gate.reading, 0);
  assert.equal(gate.addresses, 0);
  for (const t of held) gate.close(t);
  assert.equal(gate.total, 0);
});

Deno.test("ConnectionGate: when full, the oldest connection still reading is evicted", () => {
  const gate = new ConnectionGate({ maxPerIp: 5, maxTotal: 3 });
  const evicted: string[] = [];
  const answered = ticket(gate.open("x", () => evicted.push("answered")));
  gate.requestRead(answered); // its request is in: never evicted
  ticket(gate.open("idle1", () => evicted.push("idle1")));
  ticket(gate.open("idle2", () => evicted.push("idle2")));
  ticket(gate.open("new1", () => evicted.push("new1")));
  assert.deepEqual(evicted, ["idle1"]);
  ticket(gate.open("new2"));
  assert.deepEqual(evicted, ["idle1", "idle2"]);
  assert.equal(gate.total, 3);
  assert.equal(gate.addresses, 2, "evicted addresses are uncounted");
});

Deno.test("ConnectionGate: when every open connection has its request in, a new one is refused", () => {
  const gate = new ConnectionGate({ maxPerIp: 5, maxTotal: 2 });
  for (let i = 0; i < 2; i++) gate.requestRead(ticket(gate.open(`busy${i}`)));
  assert.equal(gate.open("late"), "total");
});

Deno.test("ConnectionGate: addresses with nothing reading are forgotten; a stray close is ignored", () => {
  const gate = new ConnectionGate({ maxPerIp: 8, maxTotal: 100 });
  const tickets = Array.from({ length: 50 }, (_, i) => ticket(gate.open(`10.0.0.${i}`)));
  for (const t of tickets) gate.close(t);
  gate.close(tickets[0]!);
  assert.equal(gate.addresses, 0);
  assert.equal(gate.total, 0);
});
