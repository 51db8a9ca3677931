/**
 * Key black-box scenarios on each UDP implementation named explicitly
 * (`udpIo: "deno"` and `udpIo: "mmsg"`), whatever the rest of the suite
 * runs on: a fan-out to a room, refusals, an oversized datagram, a second
 * source address. The test machine is Linux, so mmsg runs here.
 */
import assert from "node:assert/strict";
import { EventType, MAX_DATAGRAM_BYTES } from "../protocol/datagram.ts";
import type { UdpIo } from "../server/datagram_socket.ts";
import {
  assertServing,
  closeAll,
  concatBytes,
  enterRoom,
  rawDatagram,
  u32,
  UdpMember,
} from "../testing/raw_client.ts";
import { errorLines, startTestServer } from "../testing/test_server.ts";

const IMPLEMENTATIONS: UdpIo[] = ["deno", "mmsg"];

for (const udpIo of IMPLEMENTATIONS) {
  Deno.test(`${udpIo}: a message to a room of 20 is ACKed once and reaches all 20`, async () => {
    const server = startTestServer({ udpIo });
    const members: UdpMember[] = [];
    try {
      assert.equal(server.udpIo, udpIo);
      const host = await enterRoom(server, "create", { room: "big", username: "m0" });
      members.push(host.member);
      for (let i = 1; i < 20; i++) {
        members.push((await enterRoom(server, "join", { room: "big", username: `m${i}` })).member);
      }
      const msgId = await host.member.say("to everyone");
      assert.equal((await host.member.next("ack")).msgId, msgId);
      for (const member of members) {
        const event = await member.next(
          "event",
          1000,
          (e) => e.type === EventType.MESSAGE && e.text === "to everyone",
        );
        assert.equal(event.name, "m0");
      }
      assert.deepEqual(errorLines(server), []);
    } finally {
      await closeAll(server, members);
    }
  });

  Deno.test(`${udpIo}: oversized datagrams get ERROR 413, a token from 127.0.0.2 gets 401`, async () => {
    const server = startTestServer({ udpIo });
    const members: UdpMember[] = [];
    try {
      const alice = await enterRoom(server, "create", { room: "one", username: "alice" });
      members.push(alice.member);
      const token = alice.member.token;
      const body = concatBytes(u32(80), new Uint8Array(9000).fill(0x61));
      for (const length of [MAX_DATAGRAM_BYTES + 1, 5000, 9000]) {
        await alice.member.sendRaw(rawDatagram("one", token, 0x02, body).subarray(0, length));
        assert.equal((await alice.member.next("error")).code, 413, `${length} bytes`);
      }

      const thief = new UdpMember(server.udpAddr, "one", token, "127.0.0.2");
      members.push(thief);
      await thief.say("I am alice");
      assert.equal((await thief.next("error")).code, 401);

      // The refusal reached 127.0.0.2's own port; alice's room is untouched.
      const msgId = await alice.member.say("still mine");
      assert.equal((await alice.member.next("ack")).msgId, msgId);
      assert.deepEqual(await thief.drain(50), []);
      await assertServing(server, "oversized datagrams");
      assert.deepEqual(errorLines(server), []);
    } finally {
      await closeAll(server, members);
    }
  });
}
