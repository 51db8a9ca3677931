import assert from "node:assert/strict";
import {
  clearResume,
  type KeyValueStore,
  loadName,
  loadResume,
  RESUME_KEY,
  saveName,
  saveResume,
  ticketFromHex,
  ticketToHex,
} from "./page_storage.ts";

function memory(): KeyValueStore & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

const ticket = { session: "0123456789abcdef", proof: "ab".repeat(32) };

Deno.test("storage: the name and the membership come back; the password is never stored", () => {
  const local = memory();
  const session = memory();
  assert.equal(loadName(local), "");
  saveName(local, "ann");
  assert.equal(loadName(local), "ann");
  assert.equal(loadResume(session), null);
  saveResume(session, { room: "general", name: "ann", ticket, wasHost: true });
  assert.deepEqual(loadResume(session), { room: "general", name: "ann", ticket, wasHost: true });
  assert.doesNotMatch(session.map.get(RESUME_KEY)!, /password/);
  clearResume(session);
  assert.equal(loadResume(session), null);
});

Deno.test("storage: anything that is not a membership is none; a bad ticket is dropped", () => {
  const session = memory();
  for (const raw of ["{", "null", "[]", '{"room":"","name":"a"}', '{"room":"r"}']) {
    session.map.set(RESUME_KEY, raw);
    assert.equal(loadResume(session), null, raw);
  }
  session.map.set(
    RESUME_KEY,
    JSON.stringify({ room: "r", name: "a", ticket: { session: "xyz", proof: "" }, wasHost: 1 }),
  );
  assert.deepEqual(loadResume(session), { room: "r", name: "a", ticket: null, wasHost: false });
});

Deno.test("storage: a store that throws only forgets", () => {
  const broken: KeyValueStore = {
    getItem: () => {
      throw new DOMException("denied", "SecurityError");
    },
    setItem: () => {
      throw new DOMException("full", "QuotaExceededError");
    },
    removeItem: () => {
      throw new DOMException("denied", "SecurityError");
    },
  };
  saveName(broken, "ann");
  assert.equal(loadName(broken), "");
  saveResume(broken, { room: "r", name: "a", ticket: null, wasHost: false });
  assert.equal(loadResume(broken), null);
  clearResume(broken);
});

Deno.test("storage: a ticket's hex round-trips to bytes", () => {
  const bytes = ticketFromHex(ticket);
  assert.equal(bytes.sessionId.length, 8);
  assert.equal(bytes.proof.length, 32);
  assert.deepEqual(ticketToHex(bytes), ticket);
});
