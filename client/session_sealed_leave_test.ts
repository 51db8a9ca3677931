/**
 * A sealed session that is leaving and hears that the server already forgot
 * it (found by the chaos suite: members leaving through 20% loss). Its LEAVE
 * was handled and the CLOSED that answered it was lost, so the server answers
 * the next LEAVE with a stateless reset: that means the leave is done, not
 * that the session should get back into the room.
 */
import assert from "node:assert/strict";
import { CloseReason } from "../protocol/datagram.ts";
import { withSealedSession } from "./fake_sealed_server_test_util.ts";

Deno.test("sealed: a reset while leaving ends the leave; it starts no rejoin and sends no request", async () => {
  await withSealedSession({}, async ({ clock, connector, fake, session, events, wire }) => {
    const requests = connector.requests.length;
    fake.answerLeave = false; // the CLOSED that answers our LEAVE is lost
    const leaving = session.leave();
    await clock.settle();
    assert.equal(fake.of("leave").length, 1);
    fake.injectBytes(wire.reset()); // the server already removed us
    await clock.settle();
    await clock.advance(5_000);
    await leaving;
    assert.deepEqual(events.of("rejoining"), []);
    assert.equal(connector.requests.length, requests, "no CREATE or JOIN went out");
    assert.deepEqual(events.of("closed").map((c) => c.reason), [CloseReason.LEFT]);
  });
});
