import assert from "node:assert/strict";
import { encodeServerDatagram, EventType } from "../../protocol/datagram.ts";
import { readEventStamp, type Stamp, stampText } from "./stamp.ts";

Deno.test("a stamped text survives an EVENT datagram", () => {
  const text = new TextDecoder().decode(stampText(3, 41, 1234, 1_795_701_871_228_657));
  const bytes = encodeServerDatagram({
    kind: "event",
    seq: 0xfffffffe,
    timeMs: 1,
    type: EventType.MESSAGE,
    name: "m0",
    text,
  });
  const out: Stamp = { eventSeq: 0, step: 0, sender: 0, seq: 0, sentMicros: 0 };
  assert.equal(readEventStamp(bytes, out), "stamp");
  assert.deepEqual(out, {
    eventSeq: 0xfffffffe,
    step: 3,
    sender: 41,
    seq: 1234,
    sentMicros: 1_795_701_871_228_657,
  });
  const joined = encodeServerDatagram({
    kind: "event",
    seq: 7,
    timeMs: 1,
    type: EventType.JOINED,
    name: "m1",
    text: "",
  });
  assert.equal(readEventStamp(joined, out), "event");
  assert.equal(out.eventSeq, 7);
  assert.equal(readEventStamp(new Uint8Array([0x82, 0, 0, 0, 1, 0, 0, 0, 1]), out), null);
});
